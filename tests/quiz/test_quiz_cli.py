"""`grader quiz links` and `grader quiz export`."""

from __future__ import annotations

import csv
import io
import json
import os
import sqlite3
import stat
from pathlib import Path

from grader.cli import main
from grader.quiz import migrate, tokens
from grader.quiz.config import load_settings
from grader.quiz.service import submit
from tests.support.net import free_port
from tests.support.quiz import SECRET


def test_links_are_signed_personal_urls(monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("GRADER_QUIZ_SECRET", SECRET.decode())
    assert (
        main(
            [
                "quiz",
                "links",
                "frameworks-pre",
                "--students",
                "ada,bo",
                "--base-url",
                "https://quiz.example/",
            ]
        )
        == 0
    )
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [r["student"] for r in rows] == ["ada", "bo"]
    for row in rows:
        prefix = "https://quiz.example/quiz/frameworks-pre?token="
        assert row["url"].startswith(prefix)
        claims = tokens.verify(SECRET, row["url"][len(prefix) :], quiz="frameworks-pre")
        assert claims.student == row["student"]
    roster = tmp_path / "roster.csv"
    roster.write_text("id,name\ncy,Cy\ndee,Dee\n", encoding="utf-8")
    assert main(["quiz", "links", "frameworks-post", "--roster", str(roster)]) == 0
    assert [r["student"] for r in csv.DictReader(io.StringIO(capsys.readouterr().out))] == [
        "cy",
        "dee",
    ]


def _links(capsys, *students: str) -> dict[str, str]:
    assert main(["quiz", "links", "frameworks-pre", "--students", ",".join(students)]) == 0
    rows = csv.DictReader(io.StringIO(capsys.readouterr().out))
    return {r["student"]: r["url"].rsplit("token=", 1)[1] for r in rows}


def test_without_a_secret_links_and_server_share_a_credentials_file(monkeypatch, capsys, tmp_path):
    """No GRADER_QUIZ_SECRET: the first command makes an owner-only credentials file, and
    `links` and the server's settings sign with the same secret; the variables still win."""
    for name in ("GRADER_QUIZ_SECRET", "GRADER_QUIZ_SECRET_FILE", "GRADER_QUIZ_INSTRUCTOR_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    state = Path(os.environ["GRADER_QUIZ_STATE_FILE"])
    assert not state.exists()
    token = _links(capsys, "ada")["ada"]
    assert stat.S_IMODE(state.stat().st_mode) == 0o600
    assert stat.S_IMODE(state.parent.stat().st_mode) == 0o700
    stored = json.loads(state.read_text(encoding="utf-8"))
    assert tokens.verify(stored["secret"].encode(), token).student == "ada"
    served = load_settings()  # what `grader quiz serve` uses
    assert served.secret == stored["secret"].encode()
    assert served.instructor_token == stored["instructor_token"]
    assert not served.credentials_created and served.credentials_file == state
    again = _links(capsys, "bo")["bo"]  # reused, not remade
    assert tokens.verify(served.secret, again).student == "bo"
    monkeypatch.setenv("GRADER_QUIZ_SECRET", SECRET.decode())
    monkeypatch.setenv("GRADER_QUIZ_INSTRUCTOR_TOKEN", "from-the-environment-0123456789")
    assert tokens.verify(SECRET, _links(capsys, "cy")["cy"]).student == "cy"
    assert load_settings().instructor_token == "from-the-environment-0123456789"


def test_a_credentials_file_others_can_read_is_refused(monkeypatch, capsys):
    monkeypatch.delenv("GRADER_QUIZ_SECRET", raising=False)
    monkeypatch.delenv("GRADER_QUIZ_SECRET_FILE", raising=False)
    state = Path(os.environ["GRADER_QUIZ_STATE_FILE"])
    _links(capsys, "ada")
    state.chmod(0o644)
    assert main(["quiz", "links", "frameworks-pre", "--students", "ada"]) == 2
    err = capsys.readouterr().err
    assert "readable by other users" in err and "chmod 600" in err


def test_export_has_one_row_per_attempt(bank, store, settings, capsys):
    post = bank["frameworks-post"]
    submit(store, post, "ada", {"q03": 0.3}, "en")
    submit(store, post, "ada", {"q03": 0.3, "q04": 1.464}, "he")
    submit(store, post, "bo", {}, "en")
    assert main(["quiz", "export", "frameworks-post", "--db", settings.db_url]) == 0
    rows = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert rows[0][:5] == ["student", "attempt", "submitted_at", "score", "max_score"]
    assert rows[0][5:] == [q.id for q in post.questions]
    assert [(r[0], r[1], r[3], r[4]) for r in rows[1:]] == [
        ("ada", "1", "1", "26"),
        ("ada", "2", "3", "26"),
        ("bo", "1", "0", "26"),
    ]
    assert rows[2][5 + 3] == "2"  # q04 is worth 2 points


def test_migrate_reports_the_revision_and_an_unreachable_database_clearly(tmp_path, capsys):
    db = f"sqlite:///{tmp_path / 'quiz.db'}"
    assert main(["quiz", "migrate", "--db", db]) == 0
    assert capsys.readouterr().out.strip() == f"{db}: at revision {migrate.head()}"
    closed = f"postgresql+psycopg://quiz:hunter2@127.0.0.1:{free_port()}/quiz"
    assert main(["quiz", "migrate", "--db", closed]) == 2
    err = capsys.readouterr().err
    assert "the database is unavailable" in err and "hunter2" not in err


def test_reading_commands_refuse_a_database_that_is_not_there(tmp_path, capsys):
    """A mistyped --db must not look like a quiz nobody took: export and sync say there is no
    quiz database there (and create no empty file), as does an empty database."""
    missing = tmp_path / "typo.db"
    for command in (["export", "frameworks-post"], ["sync"]):
        assert main(["quiz", *command, "--db", f"sqlite:///{missing}"]) == 2
        assert "no quiz database at" in capsys.readouterr().err
    assert not missing.exists()
    empty = tmp_path / "empty.db"
    sqlite3.connect(empty).close()
    assert main(["quiz", "export", "frameworks-post", "--db", f"sqlite:///{empty}"]) == 2
    assert "holds no quiz database" in capsys.readouterr().err
