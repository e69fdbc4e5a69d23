"""Scoring: check a student's answers, score each question and the whole attempt.

Rules (also stated in each quiz file's policy):
- single choice and true/false: full points for the correct option, else 0;
- multiple choice, ``right-minus-wrong``: points * max(0, (right chosen - wrong chosen) / right
  options); ``all-or-nothing``: full points only for exactly the right set;
- numeric: full points when |answer - expected| <= tolerance.
Option order is shuffled per student and question, reproducibly (a hash of quiz, student and
question seeds the shuffle), so a student sees the same order on every visit.
"""

from __future__ import annotations

import hashlib
import math
import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from grader.quiz.bank import Question, Quiz
from grader.quiz.bidi import shown

Answer = tuple[str, ...] | float | None


class AnswerError(ValueError):
    """An answer that cannot be scored (unknown question or option, wrong type)."""

    def __init__(self, question: str | None, message: str) -> None:
        self.question = question
        super().__init__(f"question {question}: {message}" if question else message)


@dataclass(frozen=True)
class QuestionScore:
    """Score of one question."""

    id: str
    score: float
    max_score: float
    answer: Answer


@dataclass(frozen=True)
class AttemptScore:
    """Score of one attempt: per question and in total."""

    score: float
    max_score: float
    questions: tuple[QuestionScore, ...]

    def by_id(self) -> dict[str, QuestionScore]:
        """Per-question scores keyed by question id."""
        return {q.id: q for q in self.questions}


MAX_ANSWER_LENGTH = 64


def normalize_answers(quiz: Quiz, raw: Any) -> dict[str, Answer]:
    """Check raw answers (from JSON or a form) against the quiz and return them normalized.

    Choice answers become a sorted tuple of option ids, numeric answers a float. Unknown
    questions or options, several options for a single choice, and non-numbers for numeric
    questions raise AnswerError naming the question. Unanswered questions map to None.
    """
    if not isinstance(raw, Mapping):
        raise AnswerError(None, "'answers' must be an object mapping question ids to answers")
    out: dict[str, Answer] = {q.id: None for q in quiz.questions}
    for qid, value in raw.items():
        q = quiz.question(str(qid))
        if q is None:
            raise AnswerError(
                str(qid)[:MAX_ANSWER_LENGTH], f"unknown question id in quiz {quiz.id}"
            )
        if value is None or value == []:
            continue
        if q.type == "numeric":
            out[q.id] = _number(q, value)
            continue
        values = [value] if isinstance(value, str) else value
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise AnswerError(q.id, "expects a list of option ids")
        chosen = sorted(set(values))
        for option_id in chosen:
            if q.option(option_id) is None:
                raise AnswerError(q.id, f"unknown option id '{option_id[:MAX_ANSWER_LENGTH]}'")
        if q.type != "multiple" and len(chosen) > 1:
            raise AnswerError(q.id, "accepts exactly one option")
        out[q.id] = tuple(chosen)
    return out


#: What a typed number may hold that ``float`` does not read: a decimal comma, the minus sign
#: (U+2212, as the quiz texts write it) and the direction marks a right-to-left keyboard adds.
_TYPED = {ord(","): ".", ord("\u2212"): "-"} | dict.fromkeys(
    map(ord, "\u200e\u200f\u2066\u2067\u2068\u2069")
)


def _number(q: Question, value: Any) -> float:
    if isinstance(value, bool):
        raise AnswerError(q.id, "expects a number")
    if isinstance(value, str):  # as typed: a decimal comma, a typographic minus, bidi marks
        value = value.translate(_TYPED).strip()
        if len(value) > MAX_ANSWER_LENGTH:
            raise AnswerError(q.id, "number too long")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise AnswerError(q.id, "expects a number") from None
    if not math.isfinite(number):
        raise AnswerError(q.id, "expects a finite number")
    return number


def score_question(q: Question, answer: Answer, rule: str = "right-minus-wrong") -> float:
    """Points earned on one question for a normalized answer (None = unanswered)."""
    if answer is None:
        return 0.0
    if q.type == "numeric":
        assert isinstance(answer, float) and q.answer is not None
        return q.points if abs(answer - q.answer) <= q.tolerance + 1e-12 else 0.0
    assert isinstance(answer, tuple)
    correct = set(q.correct_ids)
    chosen = set(answer)
    if q.type != "multiple" or rule == "all-or-nothing":
        return q.points if chosen == correct else 0.0
    right = len(chosen & correct)
    wrong = len(chosen - correct)
    return round(q.points * max(0.0, (right - wrong) / len(correct)), 6)


def score_attempt(quiz: Quiz, answers: Mapping[str, Answer]) -> AttemptScore:
    """Score normalized answers: every question of the quiz, in bank order."""
    rule = quiz.policy.multiple_choice_rule
    questions = tuple(
        QuestionScore(q.id, score_question(q, answers.get(q.id), rule), q.points, answers.get(q.id))
        for q in quiz.questions
    )
    return AttemptScore(round(sum(s.score for s in questions), 6), quiz.max_score, questions)


def option_order(quiz: Quiz, q: Question, student: str) -> list[str]:
    """Option ids in the order this student sees them: shuffled per student, reproducibly.

    True/false questions keep their natural order (true, false)."""
    ids = [o.id for o in q.options]
    if not quiz.policy.shuffle_options or q.type == "true_false":
        return ids
    seed = hashlib.sha256(f"{quiz.id}\x00{student}\x00{q.id}".encode()).digest()
    random.Random(int.from_bytes(seed[:8], "big")).shuffle(ids)
    return ids


def question_feedback(q: Question, result: QuestionScore, lang: str) -> dict[str, Any]:
    """The result of one question as shown after submission: score, the correct options and
    per-option feedback for choice questions, the matching feedback for numeric ones."""
    out: dict[str, Any] = {
        "id": q.id,
        "score": result.score,
        "max_score": result.max_score,
        "correct": result.score >= result.max_score,
        "answer": list(result.answer) if isinstance(result.answer, tuple) else result.answer,
    }
    if q.type == "numeric":
        out["expected"] = q.answer
        out["tolerance"] = q.tolerance
        if result.answer is None:
            text = q.feedback["incorrect"]
        elif out["correct"]:
            text = q.feedback["correct"]
        else:
            assert isinstance(result.answer, float)
            mistake = next(
                (m for m in q.mistakes if abs(result.answer - m.value) <= m.tolerance + 1e-12), None
            )
            text = mistake.feedback if mistake else q.feedback["incorrect"]
        out["feedback"] = shown(text, lang)
        return out
    assert not isinstance(result.answer, float)
    chosen = set(result.answer or ())
    out["options"] = [
        {
            "id": o.id,
            "text": shown(o.text, lang),
            "chosen": o.id in chosen,
            "correct": o.correct,
            "feedback": shown(o.feedback, lang),
        }
        for o in q.options
    ]
    return out
