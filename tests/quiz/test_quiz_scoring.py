"""Scoring rules, answer checking and the per-student option order."""

from __future__ import annotations

import pytest

from grader.quiz.bank import Option, Policy, Question, Quiz
from grader.quiz.scoring import (
    AnswerError,
    normalize_answers,
    option_order,
    score_attempt,
    score_question,
)


def _opt(oid, correct):
    return Option(oid, correct, {"en": oid}, {"en": "fb"})


MULTI = Question(
    "m", "multiple", "c", 3.0, {"en": "?"}, tuple(_opt(i, i in "abc") for i in "abcde")
)
SINGLE = Question("s", "single", "c", 1.0, {"en": "?"}, (_opt("a", False), _opt("b", True)))
NUM = Question("n", "numeric", "c", 2.0, {"en": "?"}, answer=-6.0, tolerance=0.01)
QUIZ = Quiz("t", ("en",), {"en": "t"}, Policy(), (MULTI, SINGLE, NUM))


@pytest.mark.parametrize(
    ("chosen", "expected"),
    [
        (("a", "b", "c"), 3.0),
        (("a", "b"), 2.0),
        (("a",), 1.0),
        (("a", "b", "c", "d"), 2.0),
        (("a", "d", "e"), 0.0),
        (("d",), 0.0),
        (("a", "b", "c", "d", "e"), 1.0),
    ],
)
def test_multiple_choice_right_minus_wrong(chosen, expected):
    assert score_question(MULTI, tuple(sorted(chosen))) == pytest.approx(expected)


def test_multiple_choice_all_or_nothing():
    assert score_question(MULTI, ("a", "b"), "all-or-nothing") == 0.0
    assert score_question(MULTI, ("a", "b", "c"), "all-or-nothing") == 3.0


def test_single_and_numeric_with_tolerance():
    assert score_question(SINGLE, ("b",)) == 1.0
    assert score_question(SINGLE, ("a",)) == 0.0
    assert score_question(SINGLE, None) == 0.0
    assert score_question(NUM, -6.0) == 2.0
    assert score_question(NUM, -6.01) == 2.0  # the tolerance is inclusive
    assert score_question(NUM, -6.02) == 0.0
    assert score_question(NUM, 6.0) == 0.0


def test_attempt_total_and_per_question():
    answers = normalize_answers(QUIZ, {"m": ["a", "b"], "s": "b", "n": "-6,0"})
    result = score_attempt(QUIZ, answers)
    assert result.max_score == 6.0
    assert result.score == pytest.approx(5.0)
    assert result.by_id()["m"].score == pytest.approx(2.0)
    assert result.by_id()["n"].answer == -6.0


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"zz": ["a"]}, "question zz: unknown question id"),
        ({"s": ["q"]}, "question s: unknown option id 'q'"),
        ({"s": ["a", "b"]}, "question s: accepts exactly one option"),
        ({"n": "six"}, "question n: expects a number"),
        ({"n": "nan"}, "question n: expects a finite number"),
        ({"n": True}, "question n: expects a number"),
        ({"m": {"a": 1}}, "question m: expects a list of option ids"),
        (["m"], "'answers' must be an object"),
    ],
)
def test_bad_answers_are_refused_with_the_question_named(raw, message):
    with pytest.raises(AnswerError, match=message):
        normalize_answers(QUIZ, raw)


def test_option_order_is_shuffled_per_student_reproducibly(bank):
    quiz = bank["frameworks-pre"]
    q = quiz.question("q01")
    first = option_order(quiz, q, "alice")
    assert option_order(quiz, q, "alice") == first
    assert sorted(first) == sorted(o.id for o in q.options)
    orders = {tuple(option_order(quiz, q, f"s{i}")) for i in range(20)}
    assert len(orders) > 5
    tf = next(x for x in quiz.questions if x.type == "true_false")
    assert option_order(quiz, tf, "alice") == ["true", "false"]


def test_bank_policies(bank):
    pre, post = bank["frameworks-pre"].policy, bank["frameworks-post"].policy
    assert (pre.max_attempts, pre.feedback) == (1, "immediate")
    assert (post.max_attempts, post.feedback) == (2, "deferred")


@pytest.mark.parametrize(
    "typed", ["-6", " -6 ", "\u22126", "\u200f\u22126", "\u2066-6\u2069", "-6,0"]
)
def test_a_number_is_read_as_students_type_it(typed):
    """The quiz texts write minus as U+2212, a Hebrew keyboard adds direction marks, and a
    decimal comma is common: each reads as the number."""
    assert normalize_answers(QUIZ, {"n": typed})["n"] == -6.0
