"""Storage of quiz attempts: SQLAlchemy Core, SQLite by default, any SQLAlchemy URL.

Every submission is a new row ``(quiz, student, number)``; the number is the next free one for
that student and quiz, checked against the attempt limit in the same transaction. On SQLite the
write transaction is ``BEGIN IMMEDIATE`` (one writer at a time, waiting up to ``busy_timeout``)
and the database runs in WAL mode so that readers never block the writer; on other databases a
unique constraint turns a race between two submissions of one student into a retry.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Column,
    DateTime,
    Engine,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    create_engine,
    event,
    func,
    insert,
    select,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.pool import StaticPool

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
    UniqueConstraint("quiz_id", "student", "number", name="uq_attempt_number"),
)


class AttemptsExhausted(RuntimeError):
    """The student has used every attempt the quiz allows."""


@dataclass(frozen=True)
class Attempt:
    """One stored attempt."""

    id: int
    quiz_id: str
    student: str
    number: int
    submitted_at: datetime
    lang: str
    score: float
    max_score: float
    answers: dict[str, Any]
    scores: dict[str, float]


def _row(row: Any) -> Attempt:
    at = row.submitted_at
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return Attempt(
        row.id,
        row.quiz_id,
        row.student,
        row.number,
        at,
        row.lang,
        row.score,
        row.max_score,
        json.loads(row.answers),
        json.loads(row.scores),
    )


def make_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite gets WAL, a busy timeout and immediate write transactions."""
    if not url.startswith("sqlite"):
        return create_engine(url, pool_pre_ping=True)
    memory = url in ("sqlite://", "sqlite:///:memory:")
    engine = create_engine(
        url,
        connect_args={"check_same_thread": False, "timeout": 30},
        **({"poolclass": StaticPool} if memory else {"pool_size": 8, "max_overflow": 8}),
    )

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # let SQLAlchemy's BEGIN below decide
        cursor = dbapi_connection.cursor()
        if not memory:
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        write = conn.get_execution_options().get("quiz_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine


class Store:
    """Attempts of every quiz in one database. Use ``Store.open(url)`` as a context manager."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        # SQLite has one writer at a time: writers of this process queue on a lock instead of
        # meeting SQLite's busy handler, whose back-off sleeps make the latency tail long.
        # Other processes are still serialized by BEGIN IMMEDIATE and the busy timeout.
        self._write_lock: AbstractContextManager[object] = (
            threading.Lock() if engine.dialect.name == "sqlite" else nullcontext()
        )

    @classmethod
    @contextmanager
    def open(cls, url: str) -> Iterator[Store]:
        """Open the database at ``url``, create the table if needed, dispose of it at exit."""
        engine = make_engine(url)
        try:
            metadata.create_all(engine)
            yield cls(engine)
        finally:
            engine.dispose()

    def add_attempt(
        self,
        quiz_id: str,
        student: str,
        max_attempts: int,
        lang: str,
        score: float,
        max_score: float,
        answers: Mapping[str, Any],
        scores: Mapping[str, float],
        now: datetime | None = None,
        retries: int = 5,
    ) -> Attempt:
        """Store a new attempt with the next number; raise AttemptsExhausted past the limit."""
        values = {
            "quiz_id": quiz_id,
            "student": student,
            "lang": lang,
            "score": score,
            "max_score": max_score,
            "answers": json.dumps(dict(answers), separators=(",", ":")),
            "scores": json.dumps(dict(scores), separators=(",", ":")),
        }
        for attempt_no in range(retries):
            at = now or datetime.now(UTC)
            try:
                with self._write_lock, self.engine.connect() as conn:
                    conn.execution_options(quiz_write=True)
                    with conn.begin():
                        used = conn.execute(
                            select(func.count())
                            .select_from(attempts)
                            .where(attempts.c.quiz_id == quiz_id, attempts.c.student == student)
                        ).scalar_one()
                        if used >= max_attempts:
                            raise AttemptsExhausted(
                                f"all {max_attempts} attempt(s) of quiz {quiz_id} are used"
                            )
                        row = {**values, "number": used + 1, "submitted_at": at}
                        new_id = conn.execute(insert(attempts).values(**row)).inserted_primary_key
                return Attempt(
                    new_id[0],
                    quiz_id,
                    student,
                    used + 1,
                    at,
                    lang,
                    score,
                    max_score,
                    dict(answers),
                    dict(scores),
                )
            except IntegrityError:
                if attempt_no == retries - 1:
                    raise
        raise AssertionError("unreachable")

    def attempts(self, quiz_id: str, student: str | None = None) -> list[Attempt]:
        """Attempts of a quiz, of one student or of everyone, by student then number."""
        query = select(attempts).where(attempts.c.quiz_id == quiz_id)
        if student is not None:
            query = query.where(attempts.c.student == student)
        query = query.order_by(attempts.c.student, attempts.c.number)
        with self.engine.connect() as conn:
            return [_row(r) for r in conn.execute(query)]

    def count(self, quiz_id: str | None = None) -> int:
        """How many attempts are stored (of one quiz, or in all)."""
        query = select(func.count()).select_from(attempts)
        if quiz_id is not None:
            query = query.where(attempts.c.quiz_id == quiz_id)
        with self.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())
