"""The course helpers: discovery of assignments and the demo's score table."""

from __future__ import annotations

from pathlib import Path

from grader import course

ROOT = Path(__file__).resolve().parents[1]


def test_course_assignments_come_first_in_teaching_order() -> None:
    found = course.assignments_in(ROOT)
    assert found[:3] == ["frameworks", "overfitting", "lab"]
    assert {"quiz-pre", "quiz-post"} <= set(found[3:])


def test_score_table_keeps_hand_graded_points_apart() -> None:
    table = course.score_table(
        [
            course.TestScore("Lab", "test-a", 2.0, 2.0),
            course.TestScore("Lab", "test-b", 0.0, 3.0),
            course.TestScore("Lab", "essay", None, 2.0, manual=True),
        ]
    ).splitlines()
    assert table[1].split() == ["Lab", "2.0", "5.0", "1/2", "2", "pts"]
