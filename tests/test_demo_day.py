"""The instructor's day end to end, through nbgrader's own exchange, with a small class.

One run of :func:`grader.demo.day.run_day` (four students: strong, weak, late, unreadable; the
``overfitting`` assignment) is shared by the tests below, which check what each party ends up
with: the students' fetched feedback, the gradebook, ``autograded/``, the report, the exports.
"""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from nbgrader.api import Gradebook

from grader.course import load_course
from grader.demo.class_sim import ROSTER
from grader.demo.day import (
    MARKER,
    Day,
    DayFailed,
    FeedbackCheck,
    Steps,
    deadline_passes,
    failure_message,
    prepare_folder,
    run_day,
)
from grader.quiz.store import Store
from tests.support import cores_per_worker

ROOT = Path(__file__).resolve().parents[1]
CLASS = {"s01": "strong", "s06": "weak", "s08": "late", "s09": "unreadable"}
ASSIGNMENT = "overfitting"


@pytest.fixture(scope="module")
def day(tmp_path_factory: pytest.TempPathFactory) -> tuple[Day, FeedbackCheck, str]:
    roster = [s for s in ROSTER if s.id in CLASS]
    assert [s.profile for s in roster] == list(CLASS.values())
    out = io.StringIO()
    # a generous cell budget: a busy test machine must not turn a reference cell into a timeout
    ran, check = run_day(
        ROOT,
        tmp_path_factory.mktemp("day"),
        [ASSIGNMENT],
        roster,
        out=out,
        # this test's share of the cores: a grading worker for each, one kernel thread on each
        grade_options=(
            "--timeout-cell",
            "600",
            "--workers",
            str(cores_per_worker()),
            "--threads",
            "1",
        ),
    )
    return ran, check, out.getvalue()


@pytest.mark.slow
def test_every_student_fetched_its_feedback(day: tuple[Day, FeedbackCheck, str]) -> None:
    ran, check, _ = day
    assert check.missing == []
    for student in CLASS:
        pages = sorted((ran.home(student) / ASSIGNMENT / "feedback").glob("*/*.html"))
        assert [p.name for p in pages] == ["Overfitting.html"], student
        assert "Score:" in pages[0].read_text(encoding="utf-8")
        # fetched through the exchange: the student's own cache holds what it submitted
        assert list((ran.home(student) / ".nbgrader_cache").glob(f"*/{student}+{ASSIGNMENT}+*"))


@pytest.mark.slow
def test_no_instructor_file_reaches_a_student(day: tuple[Day, FeedbackCheck, str]) -> None:
    ran, check, _ = day
    course = load_course(ran.course)
    # the instructor has results.json (hidden test outputs) ...
    assert (course.autograded_dir("s01", ASSIGNMENT) / "results.json").is_file()
    # ... and nothing the students fetched holds it, nor the released feedback
    students = ran.folder / "students"
    assert list(students.rglob("results.json")) == []
    assert list(ran.exchange.rglob("results.json")) == []
    assert check.leaked == []


@pytest.mark.slow
def test_the_late_student_is_late_in_the_gradebook(day: tuple[Day, FeedbackCheck, str]) -> None:
    ran, _, _ = day
    with Gradebook(load_course(ran.course).db_url) as gradebook:
        late = {s: gradebook.find_submission(ASSIGNMENT, s).total_seconds_late for s in CLASS}
    assert late["s08"] > 0
    assert all(late[s] == 0 for s in CLASS if s != "s08")


@pytest.mark.slow
def test_grades_follow_the_profiles(day: tuple[Day, FeedbackCheck, str]) -> None:
    ran, _, _ = day
    course = load_course(ran.course)
    results = {
        s: json.loads((course.autograded_dir(s, ASSIGNMENT) / "results.json").read_text())
        for s in CLASS
    }
    assert results["s09"]["gradable"] is False  # the unreadable notebook
    assert all(results[s]["gradable"] for s in ("s01", "s06", "s08"))
    assert results["s01"]["score"] == results["s01"]["max_score"]
    assert results["s06"]["score"] < results["s01"]["score"]


@pytest.mark.slow
def test_report_quizzes_and_exports_are_written(day: tuple[Day, FeedbackCheck, str]) -> None:
    ran, _, out = day
    page = ran.report.read_text(encoding="utf-8")
    assert "<svg" in page and "s09" in page
    exports = sorted(p.name for p in ran.exports.glob("*.csv"))
    assert "nbgrader-grades.csv" in exports and len(exports) >= 3
    with Store.open(ran.quiz_db) as store:
        assert store.attempts("frameworks-pre", "s01")
    # the closing lines say what to open
    assert str(ran.report) in out and "quiz serve --db" in out and str(ran.exports) in out
    assert "[11/11]" in out


def test_a_folder_the_day_did_not_make_is_left_alone(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(DayFailed, match="not a folder made by `grader demo`"):
        prepare_folder(tmp_path)
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_a_folder_the_day_made_is_emptied(tmp_path: Path) -> None:
    prepare_folder(tmp_path)
    (tmp_path / "old.txt").write_text("yesterday")
    prepare_folder(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [MARKER]


def test_an_unknown_assignment_is_named_before_anything_runs(tmp_path: Path) -> None:
    out = io.StringIO()
    with pytest.raises(DayFailed, match=r"no assignment overfiting in .*choose among frameworks"):
        run_day(ROOT, tmp_path / "day", ["overfiting"], out=out)
    assert not (tmp_path / "day").exists() and out.getvalue() == ""


def test_a_failed_nbgrader_step_says_which_step_and_where(tmp_path: Path) -> None:
    steps = Steps(11, io.StringIO())
    with steps.step("collect the submissions (nbgrader collect)"):
        pass
    day = Day(tmp_path, ROOT, (ASSIGNMENT,), ())
    output = "nbgrader collect overfitting failed:\n" + "\n".join(f"line {i}" for i in range(20))
    message = failure_message(steps, day, output)
    assert message.startswith("step 1/11 (collect the submissions (nbgrader collect)): nbgrader")
    assert "line 19" in message and "line 11" not in message
    assert str(tmp_path) in message.splitlines()[-1]


def test_the_deadline_falls_after_every_submission_made_before_it(tmp_path: Path) -> None:
    """The due date has whole seconds; rounded down, a submission made earlier in the same
    second would count as late. It is rounded up, and the call returns once it has passed."""
    day = Day(folder=tmp_path, repo=ROOT, assignments=(ASSIGNMENT,), roster=())
    day.course.mkdir()
    (day.course / "nbgrader_config.py").write_text("c = get_config()\n", encoding="utf-8")
    before = datetime.now(UTC)
    due = deadline_passes(day)
    assert before < due < datetime.now(UTC)
    with Gradebook(f"sqlite:///{day.course / 'gradebook.db'}") as gradebook:
        stored = gradebook.find_assignment(ASSIGNMENT).duedate
    assert stored.replace(tzinfo=UTC) == due
