"""The course helpers: discovery of assignments."""

from __future__ import annotations

from pathlib import Path

from grader import course

ROOT = Path(__file__).resolve().parents[1]


def test_course_assignments_come_first_in_teaching_order() -> None:
    found = course.assignments_in(ROOT)
    assert found[:3] == ["frameworks", "overfitting", "lab"]
    assert {"quiz-pre", "quiz-post"} <= set(found[3:])
