"""CSV export of a quiz's attempts: one row per attempt, one column per question."""

from __future__ import annotations

import csv
import io

from grader.quiz.bank import Quiz
from grader.quiz.store import Store


def attempts_csv(quiz: Quiz, store: Store) -> str:
    """student, attempt, submitted_at, score, max_score, then each question's score."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(
        [
            "student",
            "attempt",
            "submitted_at",
            "score",
            "max_score",
            *(q.id for q in quiz.questions),
        ]
    )
    for a in store.attempts(quiz.id):
        writer.writerow(
            [
                a.student,
                a.number,
                a.submitted_at.isoformat(),
                _n(a.score),
                _n(a.max_score),
                *(_n(float(a.scores.get(q.id, 0.0))) for q in quiz.questions),
            ]
        )
    return out.getvalue()


def _n(x: float) -> str:
    return f"{x:g}"
