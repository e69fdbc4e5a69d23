"""The quiz tests' constants and answers: the real bank, a signing secret, the instructor's
token, and answers that earn everything or nothing."""

from __future__ import annotations

from grader.quiz.bank import Quiz
from tests.support import ROOT

BANK_DIR = ROOT / "quizzes"
SECRET = b"test-secret-of-the-quiz-suite-0123456789"
INSTRUCTOR = "instructor-token-for-tests-0123456789"


def correct_answers(quiz: Quiz) -> dict[str, object]:
    """Answers that earn full points on every question."""
    return {q.id: q.answer if q.type == "numeric" else list(q.correct_ids) for q in quiz.questions}


def wrong_answers(quiz: Quiz) -> dict[str, object]:
    """Answers that earn nothing: a wrong option, or a number far from the answer."""
    out: dict[str, object] = {}
    for q in quiz.questions:
        if q.type == "numeric":
            out[q.id] = (q.answer or 0.0) + 1000.0
        else:
            out[q.id] = [next(o.id for o in q.options if not o.correct)]
    return out


def right(quiz: Quiz, question_id: str) -> list[str]:
    """The correct option ids of one choice question (the bank may reorder options)."""
    question = quiz.question(question_id)
    assert question is not None, question_id
    return list(question.correct_ids)


def wrong(quiz: Quiz, question_id: str) -> list[str]:
    """One wrong option of a choice question."""
    question = quiz.question(question_id)
    assert question is not None, question_id
    return [next(o.id for o in question.options if not o.correct)]
