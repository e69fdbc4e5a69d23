"""What the web app does for a student, independent of HTTP: show a quiz without its answers,
take a submission (check, score, store), and list the student's own attempts.

Both the JSON API and the HTML form call these functions, so they score and store alike.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from grader.quiz import policy
from grader.quiz.bank import Quiz
from grader.quiz.bidi import shown
from grader.quiz.i18n import direction
from grader.quiz.scoring import AttemptScore, QuestionScore, normalize_answers, option_order
from grader.quiz.scoring import question_feedback as _question_feedback
from grader.quiz.scoring import score_attempt as _score_attempt
from grader.quiz.store import Attempt, Store


class LanguageError(ValueError):
    """A language the quiz is not written in."""


def check_language(quiz: Quiz, lang: str | None) -> str:
    """The language to use: ``lang`` if the quiz has it, the quiz's first language if None."""
    if lang is None:
        return quiz.languages[0]
    if lang not in quiz.languages:
        raise LanguageError(
            f"unknown language '{lang[:16]}'; quiz {quiz.id} is in {', '.join(quiz.languages)}"
        )
    return lang


def public_quiz(quiz: Quiz, student: str, lang: str, attempts_used: int) -> dict[str, Any]:
    """The quiz as the student sees it: texts in ``lang``, options in the student's order, and
    nothing that says which option is right (no ``correct``, no feedback, no numeric answer)."""
    questions = []
    for q in quiz.questions:
        item: dict[str, Any] = {
            "id": q.id,
            "type": q.type,
            "text": shown(q.text, lang),
            "points": q.points,
        }
        if q.type != "numeric":
            by_id = {o.id: o for o in q.options}
            item["options"] = [
                {"id": oid, "text": shown(by_id[oid].text, lang)}
                for oid in option_order(quiz, q, student)
            ]
        questions.append(item)
    return {
        "quiz": {
            "id": quiz.id,
            "title": shown(quiz.title, lang),
            "description": shown(quiz.description, lang) if quiz.description else "",
            "lang": lang,
            "dir": direction(lang),
            "languages": list(quiz.languages),
            "max_score": quiz.max_score,
            "max_attempts": quiz.policy.max_attempts,
            "attempts_used": attempts_used,
            "attempts_left": policy.attempts_left(quiz, attempts_used),
            "feedback": quiz.policy.feedback,
            "multiple_choice_rule": quiz.policy.multiple_choice_rule,
        },
        "student": student,
        "questions": questions,
    }


def attempt_view(quiz: Quiz, attempt: Attempt, lang: str, attempts_used: int) -> dict[str, Any]:
    """One attempt as returned to its student: the score always, per-question results and
    per-option feedback only when the quiz's feedback policy allows it."""
    available = policy.feedback_available(quiz, attempts_used)
    view: dict[str, Any] = {
        "attempt": attempt.number,
        "submitted_at": attempt.submitted_at.isoformat(),
        "lang": attempt.lang,
        "score": attempt.score,
        "max_score": attempt.max_score,
        "feedback": quiz.policy.feedback,
        "feedback_available": available,
        "questions": [],
    }
    for q in quiz.questions:
        raw = attempt.answers.get(q.id)
        answer = tuple(raw) if isinstance(raw, list) else raw
        result = QuestionScore(q.id, float(attempt.scores.get(q.id, 0.0)), q.points, answer)
        if available:
            view["questions"].append(_question_feedback(q, result, lang))
        else:
            view["questions"].append({"id": q.id, "answered": raw is not None})
    return view


def submit(
    store: Store,
    quiz: Quiz,
    student: str,
    raw_answers: Any,
    lang: str,
    request_key: str | None = None,
) -> tuple[Attempt, AttemptScore]:
    """Check, score and store one submission; raise AnswerError or AttemptsExhausted.

    A ``request_key`` already stored for this student returns that attempt (a resend)."""
    answers = normalize_answers(quiz, raw_answers)
    result = _score_attempt(quiz, answers)
    stored_answers = {k: list(v) if isinstance(v, tuple) else v for k, v in answers.items()}
    attempt = store.add_attempt(
        quiz.id,
        student,
        quiz.policy.max_attempts,
        lang,
        result.score,
        result.max_score,
        stored_answers,
        {q.id: q.score for q in result.questions},
        request_key=request_key,
    )
    return attempt, result


def own_attempts(store: Store, quiz: Quiz, student: str, lang: str) -> list[dict[str, Any]]:
    """Every attempt of this student (and only this student) on this quiz."""
    rows = store.attempts(quiz.id, student)
    return [attempt_view(quiz, a, lang, len(rows)) for a in rows]


def form_answers(quiz: Quiz, form: Mapping[str, list[str]]) -> dict[str, Any]:
    """Answers from an HTML form (fields ``q_<question id>``) in the API's shape."""
    answers: dict[str, Any] = {}
    for key, values in form.items():
        if not key.startswith("q_"):
            continue
        qid = key[2:]
        q = quiz.question(qid)
        values = [v for v in values if v != ""]
        if not values:
            continue
        answers[qid] = values[0] if q is not None and q.type == "numeric" else values
    return answers
