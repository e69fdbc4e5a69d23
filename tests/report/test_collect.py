"""What the report collects from results.json, the gradebook and the submitted folders."""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.course import load_course
from grader.report import ReportError
from grader.report.collect import (
    FLAGGED,
    GRADED,
    MISSING_NOTEBOOK,
    NO_SUBMISSION,
    NOT_GRADABLE,
    collect_assignment,
    collect_quizzes,
    summarize_tests,
)
from tests.support.report import FLAG, UNREADABLE


def test_every_student_appears_with_what_happened(graded):
    data = collect_assignment(graded, "demo")
    rows = {r.student: r for r in data.students}
    assert sorted(rows) == ["ada", "ben", "cat", "dan", "eve", "fay"]
    assert rows["ada"].status == GRADED and rows["ada"].score == 7.0
    assert rows["ben"].status == GRADED and rows["ben"].score == 4.0
    assert rows["cat"].status == NOT_GRADABLE and rows["cat"].reasons == (f"demo: {UNREADABLE}",)
    assert rows["dan"].status == FLAGGED and rows["dan"].flags == (f"demo: {FLAG}",)
    assert rows["eve"].status == NO_SUBMISSION and rows["eve"].score is None
    assert rows["fay"].status == MISSING_NOTEBOOK and rows["fay"].stray_files == ("demo (1).ipynb",)
    assert [s for s, r in sorted(rows.items()) if r.scored] == ["ada", "ben", "dan", "fay"]
    assert data.max_score == 8.0  # 7 autograded points + 1 graded by hand


def test_lateness_comes_from_the_gradebook(graded):
    rows = {r.student: r for r in collect_assignment(graded, "demo").students}
    assert rows["ben"].late and rows["ben"].seconds_late == pytest.approx(27 * 3600)
    assert not rows["ada"].late
    assert {s for s, r in rows.items() if r.needs_attention} == {"ben", "cat", "dan", "fay"}


def test_tests_count_only_gradable_submissions(graded):
    tests = {t.name: t for t in collect_assignment(graded, "demo").tests}
    double = tests["demo/test_double"]
    # ada, ben and dan ran; cat's unreadable notebook and fay's missing one say nothing
    assert (double.passed, double.graded) == (1, 3)
    assert double.points_lost == 4.0
    assert double.failures == (("double: values differ at 7 of 7 points", 2),)
    assert tests["demo/test_plain"].pass_rate == 1.0
    assert tests["demo/test_iris"].pass_rate == pytest.approx(2 / 3)


def test_links_and_times_only_for_executed_notebooks(graded):
    data = collect_assignment(graded, "demo")
    rows = {r.student: r for r in data.students}
    assert rows["ada"].notebooks[0].executed == graded.autograded_dir("ada", "demo") / "demo.ipynb"
    assert rows["cat"].notebooks[0].executed is None
    assert sorted(data.grading_times()["demo"]) == [12.5, 12.5, 12.5]
    assert data.notebook_fractions()["demo"] == pytest.approx((7 + 4 + 5) / 21)  # not fay's


def test_most_common_messages_are_counted_and_cut():
    documents = [
        {
            "gradable": True,
            "tests": [
                {
                    "name": "a/t",
                    "score": 0,
                    "max_score": 1,
                    "status": "failed",
                    "output": f"{'x' * 300}\nmore",
                }
            ],
        },
        {
            "gradable": True,
            "tests": [
                {"name": "a/t", "score": 0, "max_score": 1, "status": "failed", "output": ""}
            ],
        },
        {
            "gradable": False,
            "tests": [
                {"name": "a/t", "score": 0, "max_score": 1, "status": "failed", "output": "ignored"}
            ],
        },
    ]
    (row,) = summarize_tests(documents)
    assert row.graded == 2 and row.points_lost == 2
    messages = dict(row.failures)
    assert "ignored" not in messages and messages["(no message)"] == 1
    assert max(len(m) for m in messages) == 200


def test_unknown_assignment_and_missing_gradebook_are_clear(graded, tmp_path: Path):
    with pytest.raises(ReportError, match=r"'nope' is not in the gradebook \(known: demo"):
        collect_assignment(graded, "nope")
    empty = load_course(tmp_path)
    with pytest.raises(ReportError, match="no gradebook at"):
        collect_assignment(empty, "demo")
    assert not (tmp_path / "gradebook.db").exists()  # asking created nothing


def test_no_quiz_database_is_said_not_created(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'quiz.db'}"
    quizzes = collect_quizzes(url, {})
    assert quizzes.concepts == () and quizzes.note == "no_quiz_db"
    assert quizzes.where == url
    assert not (tmp_path / "quiz.db").exists()


def test_an_unreachable_quiz_database_is_one_clear_error():
    url = "postgresql+psycopg://grader:secret@127.0.0.1:9/quiz"  # nothing listens on port 9
    with pytest.raises(ReportError, match="cannot read the quiz attempts from") as caught:
        collect_quizzes(url, {})
    assert "secret" not in str(caught.value) and "--no-quizzes" in str(caught.value)
