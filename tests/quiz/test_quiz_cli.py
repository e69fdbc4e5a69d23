"""`grader quiz links` and `grader quiz export`."""

from __future__ import annotations

import csv
import io

from grader.cli import main
from grader.quiz import tokens
from grader.quiz.service import submit
from tests.quiz.conftest import SECRET


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


def test_links_refuse_to_run_without_a_secret(monkeypatch, capsys):
    monkeypatch.delenv("GRADER_QUIZ_SECRET", raising=False)
    monkeypatch.delenv("GRADER_QUIZ_SECRET_FILE", raising=False)
    assert main(["quiz", "links", "frameworks-pre", "--students", "ada"]) == 2
    assert "GRADER_QUIZ_SECRET" in capsys.readouterr().err


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
