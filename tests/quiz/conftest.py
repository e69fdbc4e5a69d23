"""Shared fixtures of the quiz tests: the bank, settings, a fresh store, clients, a real server."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from grader.quiz import tokens
from grader.quiz.app import create_app
from grader.quiz.bank import Quiz, load_bank
from grader.quiz.config import Settings
from grader.quiz.store import Store
from tests.quiz.serving import running

ROOT = Path(__file__).resolve().parents[2]
BANK_DIR = ROOT / "quizzes"
SECRET = b"test-secret-of-the-quiz-suite-0123456789"
INSTRUCTOR = "instructor-token-for-tests-0123456789"


@pytest.fixture(scope="session")
def bank() -> dict[str, Quiz]:
    """The real quiz bank of the course."""
    return load_bank(BANK_DIR)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings with a test secret, instructor token and a fresh SQLite file."""
    return Settings(
        secret=SECRET, db_url=f"sqlite:///{tmp_path / 'quiz.db'}", instructor_token=INSTRUCTOR
    )


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


@pytest.fixture(scope="session")
def live(bank: dict[str, Quiz], tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """A real uvicorn server on a free loopback port, shared by the tests that need one."""
    folder = tmp_path_factory.mktemp("live")
    settings = Settings(
        secret=SECRET, db_url=f"sqlite:///{folder / 'quiz.db'}", instructor_token=INSTRUCTOR
    )
    with Store.open(settings.db_url) as store, running(create_app(settings, bank, store)) as url:
        yield {"url": url, "store": store, "folder": folder}


def correct_answers(quiz: Quiz) -> dict[str, object]:
    """Answers that earn full points on every question."""
    return {q.id: q.answer if q.type == "numeric" else list(q.correct_ids) for q in quiz.questions}


def wrong_answers(quiz: Quiz) -> dict[str, object]:
    """Answers that earn nothing: a wrong option, or a number far from the answer."""
    out: dict[str, object] = {}
    for q in quiz.questions:
        if q.type == "numeric":
            out[q.id] = (q.answer or 0.0) + 1000.0
        else:
            out[q.id] = [next(o.id for o in q.options if not o.correct)]
    return out
