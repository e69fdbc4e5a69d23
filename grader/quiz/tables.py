"""The quiz database's tables as SQLAlchemy Core objects (what the migrations build)."""

from __future__ import annotations

from sqlalchemy import (
    Column,
    DateTime,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

VERSION_TABLE = "quiz_alembic_version"  # apart from nbgrader's own alembic_version

metadata = MetaData()

attempts = Table(
    "quiz_attempt",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("quiz_id", String(64), nullable=False),
    Column("student", String(128), nullable=False),
    Column("number", Integer, nullable=False),
    Column("submitted_at", DateTime(timezone=True), nullable=False),
    Column("lang", String(16), nullable=False),
    Column("score", Float, nullable=False),
    Column("max_score", Float, nullable=False),
    Column("answers", Text, nullable=False),
    Column("scores", Text, nullable=False),
    Column("request_key", String(64), nullable=True),
    UniqueConstraint("quiz_id", "student", "number", name="uq_attempt_number"),
    Index("uq_attempt_request_key", "quiz_id", "student", "request_key", unique=True),
)
