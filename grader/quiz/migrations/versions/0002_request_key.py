"""A submission's idempotency key: a resent submission is recognised, never stored twice.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add ``request_key`` (optional), unique per quiz and student."""
    op.add_column("quiz_attempt", sa.Column("request_key", sa.String(64), nullable=True))
    op.create_index(
        "uq_attempt_request_key",
        "quiz_attempt",
        ["quiz_id", "student", "request_key"],
        unique=True,
    )


def downgrade() -> None:
    """Remove the idempotency key."""
    op.drop_index("uq_attempt_request_key", table_name="quiz_attempt")
    with op.batch_alter_table("quiz_attempt") as batch:
        batch.drop_column("request_key")
