"""A small graded class for the report and export tests, built without running any kernel.

The engine's tiny fixture course (assignment ``demo``, one notebook) is generated with real
nbgrader once per test run; then six students are given what grading would leave behind:
``results.json`` written with the engine's own :class:`SubmissionResults`, grades recorded
with :func:`grader.engine.gradebook.record_submission`, submitted folders with nbgrader's
``timestamp.txt``, and an executed notebook to link to.
"""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook

from grader.course import Course, load_course
from grader.engine.gradebook import CellGrade, NotebookGrades, record_submission
from grader.engine.results import (
    RESULTS_NAME,
    NotebookSummary,
    SubmissionResults,
    TestResult,
    write_json_atomic,
)
from tests.support.engine import FIXTURES, generate, shared_once
from tests.support.report import FLAG, UNREADABLE

DUE = datetime(2026, 1, 15, 12, 0)
#: grade id -> points of the demo notebook's autograded tests (``explain`` is graded by hand)
TESTS = {
    "test_double": 2.0,
    "test_plain": 1.0,
    "test_warning": 1.0,
    "test_predictions": 1.0,
    "test_iris": 1.0,
    "test_device": 1.0,
}
ROSTER = {
    "ada": ("Ada", "Lovelace, Jr.", "ada@example.edu", "1001"),
    "ben": ("בן", "לוי", "ben@example.edu", ""),
    "cat": ("Cat", "Stevens", "", ""),
    "dan": ("Dan", "", "dan@example.edu", ""),
    "eve": ("Eve", "Adams", "eve@example.edu", ""),
    "fay": ("", "", "", ""),
}
#: student -> (failed tests with their messages, notebook state, submission time)
CLASS = {
    "ada": ({}, "graded", datetime(2026, 1, 14, 9, 30)),
    "ben": (
        {
            "test_double": "double: values differ at 7 of 7 points\nexpected 2x",
            "test_iris": "iris-accuracy: accuracy 0.61 below the threshold 0.8",
        },
        "graded",
        datetime(2026, 1, 16, 15, 0),  # late by 27 hours
    ),
    "cat": ({}, "not gradable", datetime(2026, 1, 15, 8, 0)),
    "dan": (
        {"test_double": "double: values differ at 7 of 7 points\nexpected 2x"},
        "flagged",
        datetime(2026, 1, 15, 11, 0),
    ),
    "fay": ({name: "not submitted" for name in TESTS}, "missing", datetime(2026, 1, 15, 10, 0)),
}


def _results(student: str, failed: dict[str, str], state: str) -> SubmissionResults:
    results = SubmissionResults("demo", student, execution_time=12.5)
    for name, points in TESTS.items():
        ok = name not in failed and state != "not gradable"
        message = failed.get(name, UNREADABLE if state == "not gradable" else "")
        results.tests.append(
            TestResult(
                f"demo/{name}", points if ok else 0.0, points, "passed" if ok else "failed", message
            )
        )
    score = sum(t.score for t in results.tests)
    if state == "not gradable":
        summary = NotebookSummary("demo", False, 0.0, 0.0, 0.0, reasons=[UNREADABLE])
    elif state == "missing":
        summary = NotebookSummary("demo", True, 0.0, 7.0, 0.0, reasons=["not submitted"])
    else:
        flags = [FLAG] if state == "flagged" else []
        summary = NotebookSummary("demo", True, score, 7.0, 12.5, flags=flags)
    results.notebooks.append(summary)
    return results


def _grades(results: SubmissionResults, state: str) -> NotebookGrades:
    grades = NotebookGrades("demo", flagged=state == "flagged")
    for test in results.tests:
        grade_id = test.name.split("/", 1)[1]
        if state == "not gradable":
            grades.grades[grade_id] = CellGrade(None, True)
        else:
            grades.grades[grade_id] = CellGrade(test.score, False)
    return grades


def _build(folder: Path) -> None:
    root = folder / "course"
    shutil.copytree(FIXTURES / "course", root)
    generate(root, "demo")
    course = load_course(root)
    with Gradebook(course.db_url, course_id=course.course_id) as gb:
        gb.update_or_create_assignment("demo", duedate=DUE)
        for student, (first, last, email, lms) in ROSTER.items():
            gb.update_or_create_student(
                student, first_name=first, last_name=last, email=email, lms_user_id=lms or None
            )
    source = nbformat.read(root / "source" / "demo" / "demo.ipynb", as_version=4)
    for student, (failed, state, when) in CLASS.items():
        submitted = course.submitted_dir(student, "demo")
        submitted.mkdir(parents=True)
        (submitted / "timestamp.txt").write_text(when.strftime("%Y-%m-%d %H:%M:%S.%f"))
        name = "demo (1).ipynb" if state == "missing" else "demo.ipynb"
        nbformat.write(source, submitted / name)
        results = _results(student, failed, state)
        autograded = course.autograded_dir(student, "demo")
        if state != "not gradable" and state != "missing":
            autograded.mkdir(parents=True)
            nbformat.write(source, autograded / "demo.ipynb")
        write_json_atomic(autograded / RESULTS_NAME, results.to_json())
        record_submission(
            course.db_url,
            "demo",
            student,
            {"demo": _grades(results, state)},
            timestamp=course.timestamp(student, "demo"),
        )


@pytest.fixture(scope="session")
def graded_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The graded demo class (read-only: tests write their outputs elsewhere)."""
    return shared_once(tmp_path_factory, "report-class", _build) / "course"


@pytest.fixture
def graded(graded_root: Path) -> Course:
    """The graded demo class as the engine's course model."""
    return load_course(graded_root)
