"""`grader quiz sync`: quiz scores land in nbgrader's gradebook as quiz-pre and quiz-post."""

from __future__ import annotations

import dataclasses
import os
import sys
from pathlib import Path

import pytest
from nbgrader.api import Gradebook

from grader.cli import main
from grader.quiz.nbgrader_sync import roster, sync
from grader.quiz.service import submit
from tests.support.quiz import correct_answers, right


@pytest.fixture
def venv_path(monkeypatch):
    """nbgrader creates a gradebook with the `alembic` command: the venv's bin on PATH."""
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")


def test_sync_writes_counted_attempts_and_resyncs(
    bank, store, settings, tmp_path, venv_path, capsys
):
    pre, post = bank["frameworks-pre"], bank["frameworks-post"]
    submit(store, pre, "ada", {"q01": ["a", "c", "d"], "q03": -6}, "en")  # 3 points
    submit(store, pre, "bo", correct_answers(pre), "he")
    submit(store, post, "ada", {"q03": 0.3}, "en")  # 1 point, then a better second attempt
    submit(store, post, "ada", {"q03": 0.3, "q04": 1.464}, "en")  # 3 points: best counts
    url = f"sqlite:///{tmp_path / 'gradebook.db'}"
    reports = sync(bank, store, url, "frameworks")
    assert {(r.assignment, r.students) for r in reports} == {("quiz-pre", 2), ("quiz-post", 1)}
    with Gradebook(url, course_id="frameworks") as gb:
        assert gb.find_submission("quiz-pre", "ada").score == pytest.approx(3.0)
        assert gb.find_submission("quiz-pre", "bo").score == pytest.approx(pre.max_score)
        assert gb.find_submission("quiz-post", "ada").score == pytest.approx(3.0)
        assert gb.find_grade("test_q01", "quiz-pre", "quiz-pre", "ada").score == 2.0
        assert gb.find_assignment("quiz-post").max_score == post.max_score
    submit(store, pre, "cy", {"q02": right(pre, "q02")}, "en")
    assert main(["quiz", "sync", "--db", settings.db_url, "--gradebook", url]) == 0
    assert "quiz-pre: 3 student(s) synced" in capsys.readouterr().out
    assert roster(url) == ["ada", "bo", "cy"]
    with Gradebook(url, course_id="frameworks") as gb:
        assert gb.find_submission("quiz-pre", "cy").score == 1.0
        assert len(gb.find_assignment("quiz-pre").submissions) == 3  # no duplicates


def test_a_question_added_to_the_bank_syncs_for_earlier_students(bank, store, tmp_path, venv_path):
    """nbgrader makes a submission's grades only when the submission is added: a question that
    joined the bank after a student was synced gets its grade made, and the sync goes on."""
    pre = bank["frameworks-pre"]
    submit(store, pre, "ada", correct_answers(pre), "en")
    url = f"sqlite:///{tmp_path / 'gradebook.db'}"
    shorter = dataclasses.replace(pre, questions=pre.questions[:-1])
    sync({pre.id: shorter}, store, url, "frameworks")
    sync({pre.id: pre}, store, url, "frameworks")
    last = pre.questions[-1]
    with Gradebook(url, course_id="frameworks") as gb:
        assert gb.find_grade(f"test_{last.id}", "quiz-pre", "quiz-pre", "ada").score == last.points
        assert gb.find_submission("quiz-pre", "ada").score == pytest.approx(pre.max_score)
