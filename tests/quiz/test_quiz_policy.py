"""Which attempt counts (first, last, best) and what is left: one policy module for all."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest

from grader.quiz import policy
from grader.quiz.store import Attempt


def _attempt(student: str, number: int, score: float) -> Attempt:
    at = datetime(2025, 3, 2, 9, number, tzinfo=UTC)
    return Attempt(number, "frameworks-post", student, number, at, "en", score, 26.0, {}, {})


@pytest.mark.parametrize(
    ("rule", "expected"), [("first", (1, 3.0)), ("last", (3, 5.0)), ("best", (2, 7.0))]
)
def test_the_counted_attempt_follows_the_grading_rule(bank, rule, expected):
    quiz = bank["frameworks-post"]
    quiz = dataclasses.replace(quiz, policy=dataclasses.replace(quiz.policy, grading=rule))
    rows = [_attempt("ada", 3, 5.0), _attempt("ada", 1, 3.0), _attempt("ada", 2, 7.0)]
    rows += [_attempt("bo", 1, 1.0)]
    counted = policy.counted_attempts(quiz, rows)
    assert (counted["ada"].number, counted["ada"].score) == expected
    assert counted["bo"].number == 1


def test_best_takes_the_earlier_of_equal_scores_and_unknown_rules_fail(bank):
    quiz = bank["frameworks-post"]
    best = dataclasses.replace(quiz, policy=dataclasses.replace(quiz.policy, grading="best"))
    assert policy.counted(best, [_attempt("a", 2, 4.0), _attempt("a", 1, 4.0)]).number == 1
    odd = dataclasses.replace(quiz, policy=dataclasses.replace(quiz.policy, grading="median"))
    with pytest.raises(ValueError, match="unknown grading rule 'median'"):
        policy.counted(odd, [_attempt("a", 1, 1.0)])


def test_attempts_left_and_deferred_feedback(bank):
    post = bank["frameworks-post"]  # two attempts, deferred feedback
    assert [policy.attempts_left(post, used) for used in (0, 1, 2, 3)] == [2, 1, 0, 0]
    assert [policy.feedback_available(post, used) for used in (1, 2)] == [False, True]
    assert policy.feedback_available(bank["frameworks-pre"], 1)  # immediate
