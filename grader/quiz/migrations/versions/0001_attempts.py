"""The attempts table as the first release of the quiz server created it.

Revision ID: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create ``quiz_attempt``: one row per attempt, numbered per quiz and student."""
    op.create_table(
        "quiz_attempt",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("quiz_id", sa.String(64), nullable=False),
        sa.Column("student", sa.String(128), nullable=False),
        sa.Column("number", sa.Integer, nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lang", sa.String(16), nullable=False),
        sa.Column("score", sa.Float, nullable=False),
        sa.Column("max_score", sa.Float, nullable=False),
        sa.Column("answers", sa.Text, nullable=False),
        sa.Column("scores", sa.Text, nullable=False),
        sa.UniqueConstraint("quiz_id", "student", "number", name="uq_attempt_number"),
    )


def downgrade() -> None:
    """Drop the attempts table."""
    op.drop_table("quiz_attempt")
