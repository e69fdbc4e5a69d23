"""The attempt-counting policy of a quiz, in one place: how many attempts a student may make,
when per-question feedback is shown, and which attempt counts (``first``, ``last`` or ``best``).

The store enforces the limit in its transaction (``Store.add_attempt``); the web app, the
dashboard and the gradebook sync ask this module which attempt counts and what is left.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol, TypeVar

from grader.quiz.bank import Quiz

GRADING_RULES = ("first", "last", "best")


class Scored(Protocol):
    """What the policy needs of a stored attempt."""

    @property
    def student(self) -> str: ...

    @property
    def number(self) -> int: ...

    @property
    def score(self) -> float: ...


A = TypeVar("A", bound=Scored)


def attempts_left(quiz: Quiz, used: int) -> int:
    """How many more attempts a student who has used ``used`` may make."""
    return max(0, quiz.policy.max_attempts - used)


def feedback_available(quiz: Quiz, used: int) -> bool:
    """Immediate feedback always; deferred feedback once the last allowed attempt is used."""
    return quiz.policy.feedback == "immediate" or used >= quiz.policy.max_attempts


def counted(quiz: Quiz, rows: Iterable[A]) -> A:
    """The attempt that counts among one student's attempts, by the quiz's grading rule.

    ``best`` takes the highest score, the earlier attempt on a tie; ``first`` and ``last`` go
    by attempt number. Raises ValueError for no attempts or an unknown rule."""
    ordered = sorted(rows, key=lambda a: a.number)
    if not ordered:
        raise ValueError("no attempts to count")
    rule = quiz.policy.grading
    if rule == "first":
        return ordered[0]
    if rule == "last":
        return ordered[-1]
    if rule == "best":
        return max(ordered, key=lambda a: (a.score, -a.number))
    raise ValueError(f"unknown grading rule '{rule}' (one of {', '.join(GRADING_RULES)})")


def counted_attempts(quiz: Quiz, attempts: Iterable[A]) -> dict[str, A]:
    """The attempt that counts for each student, by the quiz's grading rule."""
    by_student: dict[str, list[A]] = {}
    for a in attempts:
        by_student.setdefault(a.student, []).append(a)
    return {student: counted(quiz, rows) for student, rows in by_student.items()}
