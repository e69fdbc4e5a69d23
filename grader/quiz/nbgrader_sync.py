"""Put quiz scores into nbgrader's gradebook (assignments ``quiz-pre`` and ``quiz-post``).

The assignment gets one notebook named like it and one autograded test cell per question
(``test_<question id>``, the same ids ``grader quiz notebook`` writes), so that a quiz taken on
the web and one autograded as a notebook look the same in nbgrader's exports. Each student's
counted attempt (the quiz's grading policy) becomes their submission; a re-sync overwrites the
auto scores with the current counted attempt and leaves manual scores alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from nbgrader.api import Grade, Gradebook, MissingEntry

from grader.quiz.bank import Quiz
from grader.quiz.notebook import assignment_name
from grader.quiz.policy import counted_attempts
from grader.quiz.store import Store


@dataclass(frozen=True)
class SyncReport:
    """What one sync wrote."""

    assignment: str
    students: int


def _ensure_assignment(gb: Gradebook, quiz: Quiz) -> str:
    name = assignment_name(quiz)
    gb.update_or_create_assignment(name)
    gb.update_or_create_notebook(name, name)
    for q in quiz.questions:
        gb.update_or_create_grade_cell(
            f"test_{q.id}", name, name, max_score=q.points, cell_type="code"
        )
    return name


def sync(
    quizzes: Mapping[str, Quiz], store: Store, gradebook_url: str, course_id: str = "frameworks"
) -> list[SyncReport]:
    """Write every quiz's counted attempts into the gradebook at ``gradebook_url``."""
    reports = []
    with Gradebook(gradebook_url, course_id=course_id) as gb:
        for quiz in quizzes.values():
            name = _ensure_assignment(gb, quiz)
            counted = counted_attempts(quiz, store.attempts(quiz.id))
            for student, attempt in sorted(counted.items()):
                gb.update_or_create_student(student)
                try:
                    gb.find_submission(name, student)
                except MissingEntry:
                    gb.add_submission(name, student)
                gb.update_or_create_submission(name, student, timestamp=attempt.submitted_at)
                for q in quiz.questions:
                    grade = _grade(gb, f"test_{q.id}", name, student)
                    grade.auto_score = float(attempt.scores.get(q.id, 0.0))
                gb.db.commit()
            reports.append(SyncReport(name, len(counted)))
    return reports


def _grade(gb: Gradebook, cell: str, name: str, student: str) -> Grade:
    """The student's grade of a question; created when the question joined the bank after
    the student's submission was recorded (nbgrader makes a submission's grades only when it
    is added)."""
    try:
        return gb.find_grade(cell, name, name, student)
    except MissingEntry:
        grade = Grade(
            cell_id=gb.find_grade_cell(cell, name, name).id,
            notebook=gb.find_submission_notebook(name, name, student),
        )
        gb.db.add(grade)
        return grade


def roster(gradebook_url: str, course_id: str = "frameworks") -> list[str]:
    """The student ids nbgrader knows, from its gradebook."""
    with Gradebook(gradebook_url, course_id=course_id) as gb:
        return sorted(s.id for s in gb.students)
