"""The quiz web app (FastAPI): personal quiz pages, the JSON API behind them, the instructor's
dashboard, and a trivial health endpoint.

Students authenticate with their signed token (``Authorization: Bearer TOKEN`` or
``?token=TOKEN``); the instructor signs in once with the instructor token and then carries a
session cookie (``grader.quiz.session``), or sends the token as a Bearer header from scripts.
A database that cannot be reached gives 503 with ``Retry-After``; a submission resent with the
same ``Idempotency-Key`` is stored once. ``create_app`` builds an app around a bank, a store and
settings given by the caller (on ``app.state``, read by the dependencies of
:mod:`grader.quiz.web`): no global state. The routes are four routers: health, the students' JSON
API, the students' pages, the instructor's.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request
from fastapi.responses import (
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
)
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from grader.quiz import service, session, tokens
from grader.quiz.bank import Quiz
from grader.quiz.config import Settings
from grader.quiz.dashboard import render as dashboard_render
from grader.quiz.dashboard import stats
from grader.quiz.export import attempts_csv
from grader.quiz.guard import BodyLimit, SecurityHeaders
from grader.quiz.i18n import UI, direction, ui
from grader.quiz.store import DatabaseUnavailable, Store
from grader.quiz.web import (
    HERE,
    Context,
    PathQuiz,
    QuizContext,
    Student,
    check_instructor,
    context,
    instructor,
    instructor_status,
    language,
    login_page,
    request_key,
    same_origin,
    signed_in,
    student_of,
    submit,
    templates,
)

API_FIELDS = frozenset({"answers", "lang"})
RETRY_AFTER_S = 2
log = logging.getLogger("grader.quiz")

# ------------------------------------------------------------------- health (bench baseline)
health = APIRouter()


@health.get("/healthz")
async def healthz() -> dict[str, str]:
    """A trivial endpoint: the baseline of the load benchmark."""
    return {"status": "ok"}


# ------------------------------------------------------------------- JSON API (students)
student_api = APIRouter(prefix="/api/quiz")


@student_api.get("/{quiz_id}")
def api_quiz(
    quiz: PathQuiz,
    student: Student,
    ctx: Context,
    lang: str | None = None,
) -> dict[str, Any]:
    """The quiz for the token's student, without anything that reveals the answers."""
    used = len(ctx.store.attempts(quiz.id, student))
    return service.public_quiz(quiz, student, language(quiz, lang), used)


@student_api.post("/{quiz_id}/attempts", status_code=201)
async def api_submit(
    request: Request,
    quiz: PathQuiz,
    student: Student,
    ctx: Context,
) -> dict[str, Any]:
    """Score and store one attempt; the response carries score and allowed feedback."""
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype != "application/json":
        raise HTTPException(415, "send the answers as JSON (Content-Type: application/json)")
    try:
        body = json.loads(await request.body())
    except (ValueError, UnicodeDecodeError) as exc:
        raise HTTPException(400, f"body is not valid JSON: {exc}") from None
    if not isinstance(body, dict) or "answers" not in body:
        raise HTTPException(422, "body must be a JSON object with an 'answers' object")
    unknown = sorted(set(body) - API_FIELDS)
    if unknown:
        raise HTTPException(422, f"unknown field '{str(unknown[0])[:64]}' in body")
    lang = body.get("lang")
    if lang is not None and not isinstance(lang, str):
        raise HTTPException(422, "'lang' must be a string")
    key = request_key(request.headers.get("idempotency-key"))
    return await submit(ctx, quiz, student, body["answers"], language(quiz, lang), key)


@student_api.get("/{quiz_id}/attempts")
def api_attempts(
    quiz: PathQuiz,
    student: Student,
    ctx: Context,
    lang: str | None = None,
) -> dict[str, Any]:
    """The token holder's own attempts on this quiz."""
    return {
        "student": student,
        "attempts": service.own_attempts(ctx.store, quiz, student, language(quiz, lang)),
    }


# ------------------------------------------------------------------- HTML pages (students)
student_pages = APIRouter(prefix="/quiz")


@student_pages.get("/{quiz_id}", response_class=HTMLResponse)
def quiz_page(
    request: Request,
    quiz: PathQuiz,
    ctx: Context,
    lang: str | None = None,
) -> HTMLResponse:
    """The personal quiz page: a language picker first, then the quiz form."""
    token = request.query_params.get("token", "")
    student = student_of(ctx, quiz, token)
    if lang is None:
        page = ctx.env.get_template("choose.html").render(
            quiz=quiz, token=token, ui=UI, languages=quiz.languages, lang="en", dir="ltr"
        )
        return HTMLResponse(page)
    lang = language(quiz, lang)
    previous = service.own_attempts(ctx.store, quiz, student, lang)
    data = service.public_quiz(quiz, student, lang, len(previous))
    page = ctx.env.get_template("quiz.html").render(
        data=data,
        quiz=data["quiz"],
        questions=data["questions"],
        previous=previous,
        token=token,
        csrf=tokens.csrf_token(ctx.secret, token),
        submission=secrets.token_urlsafe(16),
        ui=ui(lang),
        lang=lang,
        dir=direction(lang),
    )
    return HTMLResponse(page)


@student_pages.post("/{quiz_id}/submit", response_class=HTMLResponse)
async def form_submit(request: Request, quiz: PathQuiz, ctx: Context) -> HTMLResponse:
    """The form fallback (no JavaScript): CSRF-checked, then the same path as the API."""
    if not same_origin(request):
        raise HTTPException(403, "cross-site form submission refused")
    try:
        form = await request.form(max_files=0, max_fields=200)
    except Exception:
        raise HTTPException(400, "the form could not be read") from None
    fields = {k: [str(v) for v in form.getlist(k)] for k in form}
    token = (fields.get("token") or [""])[0]
    student = student_of(ctx, quiz, token)
    if not tokens.check_csrf(ctx.secret, token, (fields.get("csrf") or [""])[0]):
        raise HTTPException(403, "missing or invalid CSRF token: reload the quiz page")
    lang = language(quiz, next(iter(fields.get("lang", [])), None))
    key = request_key(next(iter(fields.get("submission", [])), None))
    view = await submit(ctx, quiz, student, service.form_answers(quiz, fields), lang, key)
    page = ctx.env.get_template("result.html").render(
        quiz=quiz,
        view=view,
        token=token,
        ui=ui(lang),
        lang=lang,
        dir=direction(lang),
        title=quiz.title.get(lang) or next(iter(quiz.title.values())),
    )
    return HTMLResponse(page, status_code=201)


# ------------------------------------------------------------------- instructor
instructor_routes = APIRouter()


@instructor_routes.get("/api/instructor/stats", dependencies=[Depends(instructor)])
def api_stats(ctx: Context) -> dict[str, Any]:
    """Item statistics and learning gain (instructor token required)."""
    return stats.summary(ctx.quizzes, ctx.store)


@instructor_routes.get(
    "/api/instructor/export/{quiz_id}",
    response_class=PlainTextResponse,
    dependencies=[Depends(instructor)],  # before the quiz: a stranger learns no quiz ids
)
def api_export(quiz: PathQuiz, ctx: Context) -> PlainTextResponse:
    """The attempts of one quiz as a CSV download (instructor session or token)."""
    return PlainTextResponse(
        attempts_csv(quiz, ctx.store),
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{quiz.id}-attempts.csv"'},
    )


@instructor_routes.get("/instructor", response_class=HTMLResponse)
def dashboard(request: Request, ctx: Context) -> Response:
    """The dashboard for a signed-in instructor; ``?token=`` signs in and redirects to a
    URL without it; anyone else gets the sign-in form."""
    token = ctx.settings.instructor_token
    given = request.query_params.get("token")
    if given is not None:
        if token and tokens.same_secret(token, given):
            return signed_in(ctx, request)
        return login_page(ctx, "That instructor token is not valid.", 403)
    status = instructor_status(ctx, request)
    if status != 200:
        if not token:
            check_instructor(ctx, request)
        return login_page(ctx, status=status)
    value = request.cookies.get(session.COOKIE, "")
    csrf = session.csrf(ctx.secret, value) if value else ""
    summary = stats.summary(ctx.quizzes, ctx.store)
    return HTMLResponse(dashboard_render.page(ctx.env, summary, csrf))


@instructor_routes.post("/instructor/login")
async def login(request: Request, ctx: Context) -> Response:
    """Sign in with the instructor token from the sign-in form; sets the session cookie."""
    if not same_origin(request):
        raise HTTPException(403, "cross-site sign-in refused")
    if not ctx.settings.instructor_token:
        check_instructor(ctx, request)
    form = await request.form(max_files=0, max_fields=5)
    given = str(form.get("token") or "")
    if not tokens.same_secret(ctx.settings.instructor_token, given):
        return login_page(ctx, "That instructor token is not valid.", 403)
    return signed_in(ctx, request)


@instructor_routes.post("/instructor/logout")
async def logout(request: Request, ctx: Context) -> Response:
    """End the session (CSRF-checked form of the dashboard)."""
    form = await request.form(max_files=0, max_fields=5)
    value = request.cookies.get(session.COOKIE)
    if not same_origin(request) or not session.check_csrf(
        ctx.secret, value, str(form.get("csrf") or "")
    ):
        raise HTTPException(403, "sign-out refused: reload the dashboard and try again")
    response = RedirectResponse("/instructor", status_code=303)
    response.delete_cookie(session.COOKIE, path="/", httponly=True, samesite="strict")
    return response


# ------------------------------------------------------------------- errors
async def database_down(request: Request, exc: DatabaseUnavailable) -> Response:
    """503 with ``Retry-After``: JSON under ``/api/``, else the error page."""
    log.warning("503 for %s %s: %s", request.method, request.url.path, exc)
    detail = (
        "the database is unavailable right now: try again in a few seconds "
        "(a submission resent with the same Idempotency-Key is never stored twice)"
    )
    headers = {"Retry-After": str(RETRY_AFTER_S)}
    if request.url.path.startswith("/api/"):
        return JSONResponse({"detail": detail}, status_code=503, headers=headers)
    env = (await context(request)).env
    page = env.get_template("error.html").render(status=503, detail=detail, lang="en", dir="ltr")
    return HTMLResponse(page, status_code=503, headers=headers)


async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
    """An HTTP error: JSON ``{"detail": ...}`` under ``/api/``, else the error page."""
    if request.url.path.startswith("/api/"):
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code)
    env = (await context(request)).env
    page = env.get_template("error.html").render(
        status=exc.status_code, detail=exc.detail, lang="en", dir="ltr"
    )
    return HTMLResponse(page, status_code=exc.status_code)


def create_app(
    settings: Settings,
    quizzes: Mapping[str, Quiz],
    store: Store,
    on_close: Callable[[], None] | None = None,
) -> FastAPI:
    """The ASGI app serving ``quizzes`` and storing attempts in ``store``; ``on_close`` runs
    when the server shuts the app down (a worker process releasing its database pool)."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        if on_close is not None:
            on_close()

    app = FastAPI(
        title="Quizzes: neural network frameworks",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        lifespan=lifespan,
    )
    app.state.quiz = QuizContext(settings, quizzes, store, templates())
    app.exception_handler(DatabaseUnavailable)(database_down)
    app.exception_handler(StarletteHTTPException)(http_error)
    for router in (health, student_api, student_pages, instructor_routes):
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(SecurityHeaders)
    return app
