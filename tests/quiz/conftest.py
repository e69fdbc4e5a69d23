"""Shared fixtures of the quiz tests: the bank, settings, a fresh store, clients, a real server.

Modules that set ``BOTH_DATABASES = True`` run every test that uses a store twice: on SQLite and
on a real PostgreSQL server that the session starts from Debian's binaries (``pgserver``).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from grader.quiz import tokens
from grader.quiz.app import create_app
from grader.quiz.bank import Quiz, load_bank
from grader.quiz.config import Settings
from grader.quiz.store import Store
from tests.support.pgserver import PostgresServer, PostgresUnavailable, temporary_server
from tests.support.quiz import BANK_DIR, INSTRUCTOR, SECRET
from tests.support.serving import running


@pytest.fixture(scope="session")
def bank() -> dict[str, Quiz]:
    """The real quiz bank of the course."""
    return load_bank(BANK_DIR)


DATABASES = ("sqlite", "postgresql")
_fresh = itertools.count()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Run the tests of BOTH_DATABASES modules on SQLite and on PostgreSQL."""
    if "db_kind" in metafunc.fixturenames and getattr(metafunc.module, "BOTH_DATABASES", False):
        metafunc.parametrize("db_kind", DATABASES, indirect=True)


@pytest.fixture(autouse=True)
def _own_credentials_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Credentials made by a command under test go to the test's folder, never to $HOME."""
    monkeypatch.setenv("GRADER_QUIZ_STATE_FILE", str(tmp_path / "state" / "quiz-server.json"))


@pytest.fixture(scope="session")
def pg() -> Iterator[PostgresServer]:
    """A PostgreSQL server of this test session (skipped when the binaries are missing)."""
    try:
        with temporary_server() as server:
            yield server
    except PostgresUnavailable as exc:
        pytest.skip(str(exc))


@pytest.fixture
def db_kind(request: pytest.FixtureRequest) -> str:
    """Which database the test's store uses: sqlite unless the module asks for both."""
    return getattr(request, "param", "sqlite")


@pytest.fixture
def db_url(db_kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A URL of an empty quiz database: a new SQLite file, or a new PostgreSQL database."""
    if db_kind == "sqlite":
        return f"sqlite:///{tmp_path / 'quiz.db'}"
    server: PostgresServer = request.getfixturevalue("pg")
    return server.create_database(f"quiz_{next(_fresh)}")


@pytest.fixture
def settings(db_url: str) -> Settings:
    """Settings with a test secret, instructor token and an empty database."""
    return Settings(secret=SECRET, db_url=db_url, instructor_token=INSTRUCTOR)


@pytest.fixture
def store(settings: Settings) -> Iterator[Store]:
    """An empty attempts store."""
    with Store.open(settings.db_url) as s:
        yield s


@pytest.fixture
def client(settings: Settings, bank: dict[str, Quiz], store: Store) -> Iterator[TestClient]:
    """An in-process client of the app (API unit tests)."""
    with TestClient(create_app(settings, bank, store)) as c:
        yield c


@pytest.fixture
def token() -> Callable[..., str]:
    """Make a student's token: token(student, quiz, ttl_s=3600)."""

    def make(student: str, quiz: str = "frameworks-pre", ttl_s: int = 3600) -> str:
        return tokens.issue(SECRET, student, quiz, ttl_s)

    return make


@pytest.fixture
def served(settings: Settings, bank: dict[str, Quiz], store: Store) -> Iterator[str]:
    """The app on a real uvicorn server (in a thread) over the test's store; yields its URL."""
    with running(create_app(settings, bank, store)) as url:
        yield url


@pytest.fixture(scope="session")
def live(bank: dict[str, Quiz], tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """A real uvicorn server on a free loopback port, shared by the tests that need one."""
    folder = tmp_path_factory.mktemp("live")
    settings = Settings(
        secret=SECRET, db_url=f"sqlite:///{folder / 'quiz.db'}", instructor_token=INSTRUCTOR
    )
    with Store.open(settings.db_url) as store, running(create_app(settings, bank, store)) as url:
        yield {"url": url, "store": store, "folder": folder}
