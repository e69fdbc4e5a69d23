"""What the quiz app's routes share: the app's context (settings, bank, store, templates) and
the FastAPI dependencies that read it, find the quiz, the student and the instructor.

:func:`grader.quiz.app.create_app` puts one :class:`QuizContext` on ``app.state``; routes reach
it through :func:`context`, so nothing here is global and two apps never share state.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.concurrency import run_in_threadpool

from grader.quiz import policy, service, session, tokens
from grader.quiz.bank import Quiz
from grader.quiz.config import Settings
from grader.quiz.i18n import points_label
from grader.quiz.scoring import AnswerError
from grader.quiz.store import AttemptsExhausted, Store

HERE = Path(__file__).resolve().parent
REQUEST_KEY = re.compile(r"^[A-Za-z0-9_.:-]{8,64}$")


def templates() -> Environment:
    """The Jinja environment of the quiz pages (autoescaped HTML)."""
    env = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["points_label"] = points_label  # "1 point", "2 points", "נקודה אחת"
    return env


@dataclass(frozen=True)
class QuizContext:
    """What one app serves: its settings, the quizzes, the attempts store, the templates."""

    settings: Settings
    quizzes: Mapping[str, Quiz]
    store: Store
    env: Environment

    @property
    def secret(self) -> bytes:
        """The key that signs students' tokens, CSRF tokens and the instructor's session."""
        return self.settings.secret


async def context(request: Request) -> QuizContext:
    """The serving app's context (a dependency)."""
    found: QuizContext = request.app.state.quiz
    return found


#: A route's parameter that receives the app's context.
Context = Annotated[QuizContext, Depends(context)]


async def quiz_of(quiz_id: str, ctx: Context) -> Quiz:
    """The quiz named in the path; 404 when the bank has none of that id."""
    quiz = ctx.quizzes.get(quiz_id)
    if quiz is None:
        raise HTTPException(404, f"unknown quiz '{quiz_id[:64]}'")
    return quiz


def token_from(request: Request) -> str | None:
    """The student's token: ``Authorization: Bearer TOKEN``, else ``?token=``."""
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    return request.query_params.get("token")


def student_of(ctx: QuizContext, quiz: Quiz, token: str | None) -> str:
    """The student a token was issued to for ``quiz``; 401 without a valid token, 403 for a
    token of another quiz."""
    if not token:
        raise HTTPException(
            401, "missing token: send 'Authorization: Bearer TOKEN' or '?token=TOKEN'"
        )
    try:
        return tokens.verify(ctx.secret, token, quiz=quiz.id).student
    except tokens.TokenError as exc:
        status = 403 if "not '" in str(exc) else 401
        raise HTTPException(status, f"bad token: {exc}") from None


#: A route's parameter that receives the quiz of the path's ``quiz_id``.
PathQuiz = Annotated[Quiz, Depends(quiz_of)]


async def api_student(request: Request, quiz: PathQuiz, ctx: Context) -> str:
    """The student of the request's token (header or query) for the path's quiz."""
    return student_of(ctx, quiz, token_from(request))


#: A route's parameter that receives the student of the request's token.
Student = Annotated[str, Depends(api_student)]


def language(quiz: Quiz, lang: str | None) -> str:
    """The language asked for, checked against the quiz's; 422 for one it does not have."""
    try:
        return service.check_language(quiz, lang)
    except service.LanguageError as exc:
        raise HTTPException(422, str(exc)) from None


def same_origin(request: Request) -> bool:
    """False for a browser request sent from another site's page (``Origin`` of another host)."""
    origin = request.headers.get("origin")
    return not origin or origin == "null" or urlsplit(origin).netloc == request.url.netloc


def request_key(value: str | None) -> str | None:
    """A submission's ``Idempotency-Key`` (None when absent); 422 for a malformed one."""
    if value is None or value == "":
        return None
    if not REQUEST_KEY.match(value):
        raise HTTPException(422, "an Idempotency-Key has 8 to 64 letters, digits or _.:-")
    return value


def instructor_status(ctx: QuizContext, request: Request) -> int:
    """200 for a valid session cookie or Bearer instructor token, else 401 or 403."""
    token = ctx.settings.instructor_token
    if not token:
        return 403
    if session.valid(ctx.secret, token, request.cookies.get(session.COOKIE)):
        return 200
    header = request.headers.get("authorization", "")
    if not header.lower().startswith("bearer "):
        return 401
    return 200 if tokens.same_secret(token, header[7:].strip()) else 403


def check_instructor(ctx: QuizContext, request: Request) -> None:
    """Raise 401 or 403 unless the request is the signed-in instructor's."""
    status = instructor_status(ctx, request)
    if status == 403 and not ctx.settings.instructor_token:
        raise HTTPException(403, "instructor pages are disabled: no instructor token is set")
    if status == 401:
        raise HTTPException(401, "sign in at /instructor, or send the instructor token")
    if status == 403:
        raise HTTPException(403, "invalid instructor token")


async def instructor(request: Request, ctx: Context) -> None:
    """Only the instructor passes (a dependency; see :func:`check_instructor`)."""
    check_instructor(ctx, request)


def signed_in(ctx: QuizContext, request: Request, target: str = "/instructor") -> Response:
    """A redirect to ``target`` that sets the instructor's session cookie."""
    value = session.issue(ctx.secret, ctx.settings.instructor_token or "")
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        session.COOKIE,
        value,
        max_age=session.LIFETIME_S,
        path="/",
        secure=request.url.scheme == "https",
        httponly=True,
        samesite="strict",
    )
    return response


def login_page(ctx: QuizContext, message: str = "", status: int = 401) -> HTMLResponse:
    """The instructor's sign-in form, with ``message`` and ``status``."""
    page = ctx.env.get_template("login.html").render(message=message, lang="en", dir="ltr")
    return HTMLResponse(page, status_code=status)


async def submit(
    ctx: QuizContext, quiz: Quiz, student: str, answers: Any, lang: str, key: str | None = None
) -> dict[str, Any]:
    """Score and store one attempt (in a worker thread); its view for the response. 422 for
    answers that cannot be read, 409 when no attempt is left."""
    try:
        attempt, _ = await run_in_threadpool(
            service.submit, ctx.store, quiz, student, answers, lang, key
        )
    except AnswerError as exc:
        raise HTTPException(422, str(exc)) from None
    except AttemptsExhausted as exc:
        raise HTTPException(409, str(exc)) from None
    view = service.attempt_view(quiz, attempt, lang, attempt.number)
    view["attempts_left"] = policy.attempts_left(quiz, attempt.number)
    return view
