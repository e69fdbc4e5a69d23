"""Storage of quiz attempts: SQLAlchemy Core, SQLite by default, PostgreSQL
(``postgresql+psycopg://``) for several server processes.

Every submission is a new row ``(quiz, student, number)``; the number is the next free one for
that student and quiz, checked against the attempt limit in the same transaction, and the unique
constraint on ``(quiz, student, number)`` turns a race between two submissions of one student
(in any process) into a retry that sees the other's row. A submission may carry a key chosen by
its sender: resent with the same key it returns the stored attempt instead of storing another.
On SQLite the write transaction is ``BEGIN IMMEDIATE`` (one writer at a time, waiting up to
``busy_timeout``) in WAL mode, so that readers never block the writer.

A database that cannot be reached raises ``DatabaseUnavailable``. On PostgreSQL a pooled
connection the server has closed (it restarted) is found when it is taken from the pool, by a
look at its socket without a round trip, and replaced with the pool's other old connections,
so the first request after a restart is served. A connection that dies while a statement is on
its way invalidates the pool: a read, or a write that had not yet sent its row or carries a key,
is tried once more; a write without a key is not (it may have been stored).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import psycopg
from sqlalchemy import (
    Connection,
    Engine,
    Integer,
    bindparam,
    cast,
    create_engine,
    event,
    func,
    insert,
    make_url,
    select,
)
from sqlalchemy.exc import (
    DBAPIError,
    IntegrityError,
    InterfaceError,
    InvalidatePoolError,
    OperationalError,
)
from sqlalchemy.pool import StaticPool

from grader.quiz import migrate
from grader.quiz.tables import attempts

MAX_KEY_LENGTH = 64
T = TypeVar("T")

# Built once: SQLAlchemy then reuses their compiled form instead of rebuilding them per request.
_STUDENT_ROWS = (
    select(attempts)
    .where(attempts.c.quiz_id == bindparam("quiz_id"), attempts.c.student == bindparam("student"))
    .order_by(attempts.c.number)
)
_QUIZ_ROWS = (
    select(attempts)
    .where(attempts.c.quiz_id == bindparam("quiz_id"))
    .order_by(attempts.c.student, attempts.c.number)
)
_INSERT = insert(attempts)


def _insert_next_statement() -> Any:
    """INSERT ... SELECT: the row numbered one past the student's count, only while the count
    is under the limit and no row of the student has the key; RETURNING id and number."""
    c = attempts.c
    same = (c.quiz_id == bindparam("quiz_id"), c.student == bindparam("student"))
    used = select(func.count()).select_from(attempts).where(*same).scalar_subquery()
    keyed = select(c.id).where(*same, c.request_key == bindparam("request_key")).exists()
    columns = ["quiz_id", "student", "submitted_at", "lang", "score", "max_score", "answers"]
    columns += ["scores", "request_key"]
    source = select(
        *(cast(bindparam(name), c[name].type).label(name) for name in columns),
        (used + 1).label("number"),
    ).where(used < bindparam("max_attempts", type_=Integer), ~keyed)
    return insert(attempts).from_select([*columns, "number"], source).returning(c.id, c.number)


_INSERT_NEXT = _insert_next_statement()


class AttemptsExhausted(RuntimeError):
    """The student has used every attempt the quiz allows."""


class DatabaseUnavailable(RuntimeError):
    """The database could not be reached or dropped the connection; nothing was committed by
    the failed call (a resent submission with the same key is never stored twice)."""


@contextmanager
def _available(what: str) -> Iterator[None]:
    """Turn a lost or refused database connection into DatabaseUnavailable."""
    try:
        yield
    except IntegrityError:
        raise
    except DBAPIError as exc:
        if not exc.connection_invalidated and not _is_operational(exc):
            raise
        message = f"the database is unavailable ({what}): {_first_line(exc)}"
        raise DatabaseUnavailable(message) from exc


def _is_operational(exc: DBAPIError) -> bool:
    return isinstance(exc, OperationalError | InterfaceError)


def _first_line(exc: DBAPIError) -> str:
    text = str(exc.orig) if exc.orig is not None else str(exc)
    return (text.strip().splitlines() or ["no message"])[0][:200]


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
    request_key: str | None = None


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
        row.request_key,
    )


def _closed_by_server(dbapi_connection: Any) -> bool:
    """Whether the server has closed this idle psycopg connection: reads what waits on its
    socket without blocking, no round trip to the server. After a restart that is the server's
    goodbye (read as a notice by the first read) and the end of the stream (the second)."""
    pgconn = dbapi_connection.pgconn
    try:
        pgconn.consume_input()
        pgconn.consume_input()
    except psycopg.OperationalError:
        return True
    return bool(pgconn.status != psycopg.pq.ConnStatus.OK)


def _exists(url: str) -> None:
    """Raise SchemaError for an SQLite file that does not exist: opening it would create an
    empty one (a mistyped path would look like a quiz with no attempts)."""
    parsed = make_url(url)
    path = parsed.database if parsed.get_backend_name() == "sqlite" else None
    if path not in (None, "", ":memory:") and not Path(str(path)).exists():
        raise migrate.SchemaError(
            f"no quiz database at {path}: check the database URL (--db); "
            "`grader quiz migrate` creates one there"
        )


def make_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite gets WAL, a busy timeout and immediate write transactions."""
    if not url.startswith("sqlite"):
        # psycopg lets the pool look at a connection's socket; other drivers ping (a round trip)
        cheap_check = make_url(url).get_driver_name() == "psycopg"
        engine = create_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=not cheap_check)
        if not cheap_check:
            return engine

        @event.listens_for(engine, "checkout")
        def _checkout(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
            # A connection the server closed (it restarted) is replaced before a statement is
            # sent on it: a submission without a key is never retried once its INSERT went out.
            if _closed_by_server(dbapi_connection):
                raise InvalidatePoolError("the database server closed the pooled connection")

        return engine
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
        self._sqlite = engine.dialect.name == "sqlite"
        self._write_lock: AbstractContextManager[object] = (
            threading.Lock() if self._sqlite else nullcontext()
        )
        # Elsewhere a read is one statement without BEGIN/ROLLBACK, and a write one statement
        # that checks and inserts at once (a round trip each, instead of four).
        self._single = {} if self._sqlite else {"isolation_level": "AUTOCOMMIT"}

    @classmethod
    @contextmanager
    def open(cls, url: str, migrate_schema: bool = True) -> Iterator[Store]:
        """Open the database at ``url`` and dispose of its connections at exit.

        With ``migrate_schema`` the schema is created or upgraded first (Alembic); without, it
        must already be current (SchemaError otherwise): several server processes leave the
        migration to the one command that starts them."""
        if not migrate_schema:
            _exists(url)
        engine = make_engine(url)
        try:
            with _available("opening"):
                if migrate_schema:
                    migrate.migrate(engine)
                else:
                    migrate.check(engine)
            yield cls(engine)
        finally:
            engine.dispose()

    def check_schema(self) -> None:
        """Raise SchemaError unless the database is migrated to this version's revision."""
        with _available("checking the schema"):
            migrate.check(self.engine)

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
        request_key: str | None = None,
    ) -> Attempt:
        """Store a new attempt with the next number; raise AttemptsExhausted past the limit.

        With ``request_key``, a submission already stored under that key for this student and
        quiz is returned as it is instead (a resend after a lost answer is not a new attempt).
        Raises DatabaseUnavailable when the database cannot be reached."""
        if request_key is not None and not 0 < len(request_key) <= MAX_KEY_LENGTH:
            raise ValueError(f"a request key has 1 to {MAX_KEY_LENGTH} characters")
        values = {
            "quiz_id": quiz_id,
            "student": student,
            "lang": lang,
            "score": score,
            "max_score": max_score,
            "answers": json.dumps(dict(answers), separators=(",", ":")),
            "scores": json.dumps(dict(scores), separators=(",", ":")),
            "request_key": request_key,
        }
        for attempt_no in range(retries):
            at = now or datetime.now(UTC)
            sent = [False]  # whether the INSERT went out (then a retry could store it twice)
            try:
                insert_next = self._insert_next if self._sqlite else self._insert_at_once
                with _available("storing an attempt"), self._write_lock:
                    try:
                        return insert_next(values, max_attempts, at, sent)
                    except DBAPIError as exc:
                        # a connection left from before a restart: once more, when that cannot
                        # store the row twice (nothing sent yet, or the key finds a stored row)
                        if not exc.connection_invalidated or (sent[0] and request_key is None):
                            raise
                        sent[0] = False
                        return insert_next(values, max_attempts, at, sent)
            except IntegrityError:
                if attempt_no == retries - 1:
                    raise
        raise AssertionError("unreachable")

    def _insert_next(
        self, values: dict[str, Any], max_attempts: int, at: datetime, sent: list[bool]
    ) -> Attempt:
        """One write transaction: the keyed row if it exists, else a new row numbered next."""
        quiz_id, student, key = values["quiz_id"], values["student"], values["request_key"]
        with self.engine.connect() as conn:
            conn.execution_options(quiz_write=True)
            with conn.begin():
                rows = conn.execute(_STUDENT_ROWS, {"quiz_id": quiz_id, "student": student})
                mine = rows.all()
                found = next((r for r in mine if key is not None and r.request_key == key), None)
                if found is not None:
                    return _row(found)
                number = len(mine) + 1
                if number > max_attempts:
                    raise AttemptsExhausted(
                        f"all {max_attempts} attempt(s) of quiz {quiz_id} are used"
                    )
                sent[0] = True
                row = {**values, "number": number, "submitted_at": at}
                new_id = conn.execute(_INSERT, row).inserted_primary_key
                assert new_id is not None  # an INSERT always reports its key
        return Attempt(
            new_id[0],
            quiz_id,
            student,
            number,
            at,
            values["lang"],
            values["score"],
            values["max_score"],
            json.loads(values["answers"]),
            json.loads(values["scores"]),
            key,
        )

    def _insert_at_once(
        self, values: dict[str, Any], max_attempts: int, at: datetime, sent: list[bool]
    ) -> Attempt:
        """One statement, its own transaction: insert the next number unless the limit is
        reached or the key is stored; when nothing was inserted, say which of the two."""
        params = {**values, "submitted_at": at, "max_attempts": max_attempts}
        with self.engine.connect().execution_options(**self._single) as conn:
            sent[0] = True
            row = conn.execute(_INSERT_NEXT, params).first()
            if row is None:
                mine = conn.execute(_STUDENT_ROWS, params).all()
        if row is not None:
            return Attempt(
                row.id,
                values["quiz_id"],
                values["student"],
                row.number,
                at,
                values["lang"],
                values["score"],
                values["max_score"],
                json.loads(values["answers"]),
                json.loads(values["scores"]),
                values["request_key"],
            )
        key = values["request_key"]
        found = next((r for r in mine if key is not None and r.request_key == key), None)
        if found is not None:
            return _row(found)
        quiz_id = values["quiz_id"]
        raise AttemptsExhausted(f"all {max_attempts} attempt(s) of quiz {quiz_id} are used")

    def _read(self, what: str, read: Callable[[Connection], T]) -> T:
        """Run ``read`` on a connection; once more if the first was left from before a restart."""
        with _available(what):
            try:
                with self.engine.connect().execution_options(**self._single) as conn:
                    return read(conn)
            except DBAPIError as exc:
                if not exc.connection_invalidated:
                    raise
                with self.engine.connect().execution_options(**self._single) as conn:
                    return read(conn)

    def attempts(self, quiz_id: str, student: str | None = None) -> list[Attempt]:
        """Attempts of a quiz, of one student or of everyone, by student then number."""
        if student is None:
            query, params = _QUIZ_ROWS, {"quiz_id": quiz_id}
        else:
            query, params = _STUDENT_ROWS, {"quiz_id": quiz_id, "student": student}
        return self._read(
            "reading attempts", lambda conn: [_row(r) for r in conn.execute(query, params)]
        )

    def count(self, quiz_id: str | None = None) -> int:
        """How many attempts are stored (of one quiz, or in all)."""
        query = select(func.count()).select_from(attempts)
        if quiz_id is not None:
            query = query.where(attempts.c.quiz_id == quiz_id)
        return self._read("counting attempts", lambda conn: int(conn.execute(query).scalar_one()))
