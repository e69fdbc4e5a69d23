"""The attempts store on SQLite and PostgreSQL: the schema the migrations build, the upgrade of a
database made by the first release, resent submissions, and the attempt limit under races."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import (
    Column,
    DateTime,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    insert,
)

from grader.quiz import migrate
from grader.quiz.store import AttemptsExhausted, Store, make_engine
from grader.quiz.tables import VERSION_TABLE, metadata

BOTH_DATABASES = True  # every test with a store runs on SQLite and on PostgreSQL


def _first_release_table() -> Table:
    """The table exactly as the first release created it (``metadata.create_all``)."""
    return Table(
        "quiz_attempt",
        MetaData(),
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


def _add(store: Store, student: str, key: str | None = None, limit: int = 2):
    return store.add_attempt(
        "frameworks-post", student, limit, "en", 1.0, 26.0, {"q03": 0.3}, {"q03": 1.0},
        request_key=key,
    )  # fmt: skip


def test_migrations_build_exactly_the_tables_the_store_uses(db_url):
    with Store.open(db_url) as store, store.engine.connect() as conn:
        assert migrate.current(conn) == migrate.head()
        opts = {"compare_type": True, "version_table": VERSION_TABLE}
        context = MigrationContext.configure(conn, opts=opts)
        differences = [d for d in compare_metadata(context, metadata)]
        assert differences == []
    with Store.open(db_url) as store:  # a second start finds it current and changes nothing
        store.check_schema()


def test_a_first_release_database_is_upgraded_and_keeps_its_attempts(db_url):
    engine = make_engine(db_url)
    try:
        old = _first_release_table()
        old.metadata.create_all(engine)
        with engine.begin() as conn:
            conn.execute(
                insert(old).values(
                    quiz_id="frameworks-post",
                    student="ada",
                    number=1,
                    submitted_at=datetime(2025, 3, 2, 9, 14, tzinfo=UTC),
                    lang="he",
                    score=2.0,
                    max_score=26.0,
                    answers="{}",
                    scores='{"q03": 1.0}',
                )
            )
        with pytest.raises(migrate.SchemaError, match="revision none"):
            migrate.check(engine)  # a worker refuses an old schema instead of failing later
    finally:
        engine.dispose()
    with Store.open(db_url) as store:
        (old,) = store.attempts("frameworks-post")
        assert (old.student, old.number, old.lang, old.scores) == ("ada", 1, "he", {"q03": 1.0})
        assert _add(store, "ada", "key-after-upgrade").number == 2
        with pytest.raises(AttemptsExhausted):
            _add(store, "ada")


def test_a_resent_submission_is_stored_once_even_after_the_last_attempt(store):
    first = _add(store, "ada", "0123456789abcdef")
    again = _add(store, "ada", "0123456789abcdef")
    assert (again.id, again.number, again.request_key) == (first.id, 1, "0123456789abcdef")
    last = _add(store, "ada", "fedcba9876543210")
    assert last.number == 2
    assert _add(store, "ada", "fedcba9876543210").id == last.id  # a resend, not a third attempt
    with pytest.raises(AttemptsExhausted):
        _add(store, "ada", "another-key-000000")
    assert _add(store, "bo", "0123456789abcdef").number == 1  # keys are per student
    assert store.count("frameworks-post") == 3


def test_racing_writers_never_exceed_the_limit_or_duplicate_a_key(store):
    """Twelve threads, each with its own connection: four students race three submissions
    each against a limit of two; another student resends one key from six threads at once."""
    outcomes: list[str] = []
    lock = threading.Lock()
    barrier = threading.Barrier(18)

    def run(student: str, key: str | None) -> None:
        barrier.wait()
        try:
            attempt = _add(store, student, key)
            result = f"stored {attempt.number}"
        except AttemptsExhausted:
            result = "exhausted"
        with lock:
            outcomes.append(result)

    jobs = [(f"s{i}", None) for i in range(4) for _ in range(3)]
    jobs += [("resender", "same-key-every-time")] * 6
    threads = [threading.Thread(target=run, args=job) for job in jobs]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert outcomes.count("exhausted") == 4
    for i in range(4):
        assert [a.number for a in store.attempts("frameworks-post", f"s{i}")] == [1, 2]
    (resent,) = store.attempts("frameworks-post", "resender")
    assert resent.number == 1 and outcomes.count("stored 1") == 4 + 6
