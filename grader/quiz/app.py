"""The quiz web app (FastAPI): personal quiz pages, the JSON API behind them, the instructor's
dashboard, and a trivial health endpoint.

Students authenticate with their signed token (``Authorization: Bearer TOKEN`` or
``?token=TOKEN``); the instructor signs in once with the instructor token and then carries a
session cookie (``grader.quiz.session``), or sends the token as a Bearer header from scripts.
A database that cannot be reached gives 503 with ``Retry-After``; a submission resent with the
same ``Idempotency-Key`` is stored once. ``create_app`` builds an app around a bank, a store and
settings given by the caller: no global state.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import (
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
)
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from grader.quiz import policy, service, session, tokens
from grader.quiz.bank import Quiz
from grader.quiz.config import Settings
from grader.quiz.dashboard import render as dashboard_render
from grader.quiz.dashboard import stats
from grader.quiz.export import attempts_csv
from grader.quiz.guard import BodyLimit, SecurityHeaders
from grader.quiz.i18n import UI, direction, points_label, ui
from grader.quiz.scoring import AnswerError
from grader.quiz.store import AttemptsExhausted, DatabaseUnavailable, Store

HERE = Path(__file__).resolve().parent
API_FIELDS = frozenset({"answers", "lang"})
REQUEST_KEY = re.compile(r"^[A-Za-z0-9_.:-]{8,64}$")
RETRY_AFTER_S = 2
log = logging.getLogger("grader.quiz")


def _templates() -> Environment:
    env = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["points_label"] = points_label  # "1 point", "2 points", "נקודה אחת"
    return env


def _token_from(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    return request.query_params.get("token")


def _same_origin(request: Request) -> bool:
    """False for a browser request sent from another site's page (``Origin`` of another host)."""
    origin = request.headers.get("origin")
    return not origin or origin == "null" or urlsplit(origin).netloc == request.url.netloc


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
    env = _templates()
    secret = settings.secret

    @app.exception_handler(DatabaseUnavailable)
    async def _database_down(request: Request, exc: DatabaseUnavailable) -> Response:
        log.warning("503 for %s %s: %s", request.method, request.url.path, exc)
        detail = (
            "the database is unavailable right now: try again in a few seconds "
            "(a submission resent with the same Idempotency-Key is never stored twice)"
        )
        headers = {"Retry-After": str(RETRY_AFTER_S)}
        if request.url.path.startswith("/api/"):
            return JSONResponse({"detail": detail}, status_code=503, headers=headers)
        page = env.get_template("error.html").render(
            status=503, detail=detail, lang="en", dir="ltr"
        )
        return HTMLResponse(page, status_code=503, headers=headers)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if request.url.path.startswith("/api/"):
            return JSONResponse({"detail": exc.detail}, status_code=exc.status_code)
        page = env.get_template("error.html").render(
            status=exc.status_code, detail=exc.detail, lang="en", dir="ltr"
        )
        return HTMLResponse(page, status_code=exc.status_code)

    def quiz_or_404(quiz_id: str) -> Quiz:
        quiz = quizzes.get(quiz_id)
        if quiz is None:
            raise HTTPException(404, f"unknown quiz '{quiz_id[:64]}'")
        return quiz

    def student_of(request: Request, quiz: Quiz, token: str | None = None) -> str:
        token = token if token is not None else _token_from(request)
        if not token:
            raise HTTPException(
                401, "missing token: send 'Authorization: Bearer TOKEN' or '?token=TOKEN'"
            )
        try:
            return tokens.verify(secret, token, quiz=quiz.id).student
        except tokens.TokenError as exc:
            status = 403 if "not '" in str(exc) else 401
            raise HTTPException(status, f"bad token: {exc}") from None

    def language(quiz: Quiz, lang: str | None) -> str:
        try:
            return service.check_language(quiz, lang)
        except service.LanguageError as exc:
            raise HTTPException(422, str(exc)) from None

    def instructor_status(request: Request) -> int:
        """200 for a valid session cookie or Bearer instructor token, else 401 or 403."""
        if not settings.instructor_token:
            return 403
        if session.valid(secret, settings.instructor_token, request.cookies.get(session.COOKIE)):
            return 200
        header = request.headers.get("authorization", "")
        if not header.lower().startswith("bearer "):
            return 401
        return 200 if tokens.same_secret(settings.instructor_token, header[7:].strip()) else 403

    def instructor(request: Request) -> None:
        status = instructor_status(request)
        if status == 403 and not settings.instructor_token:
            raise HTTPException(403, "instructor pages are disabled: no instructor token is set")
        if status == 401:
            raise HTTPException(401, "sign in at /instructor, or send the instructor token")
        if status == 403:
            raise HTTPException(403, "invalid instructor token")

    def signed_in(request: Request, target: str = "/instructor") -> Response:
        value = session.issue(secret, settings.instructor_token or "")
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

    def login_page(message: str = "", status: int = 401) -> HTMLResponse:
        page = env.get_template("login.html").render(message=message, lang="en", dir="ltr")
        return HTMLResponse(page, status_code=status)

    def request_key(value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if not REQUEST_KEY.match(value):
            raise HTTPException(422, "an Idempotency-Key has 8 to 64 letters, digits or _.:-")
        return value

    async def do_submit(
        quiz: Quiz, student: str, answers: Any, lang: str, key: str | None = None
    ) -> dict[str, Any]:
        try:
            attempt, _ = await run_in_threadpool(
                service.submit, store, quiz, student, answers, lang, key
            )
        except AnswerError as exc:
            raise HTTPException(422, str(exc)) from None
        except AttemptsExhausted as exc:
            raise HTTPException(409, str(exc)) from None
        view = service.attempt_view(quiz, attempt, lang, attempt.number)
        view["attempts_left"] = policy.attempts_left(quiz, attempt.number)
        return view

    # ---------------------------------------------------------------- health (bench baseline)
    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        """A trivial endpoint: the baseline of the load benchmark."""
        return {"status": "ok"}

    # ---------------------------------------------------------------- JSON API (students)
    @app.get("/api/quiz/{quiz_id}")
    def api_quiz(quiz_id: str, request: Request, lang: str | None = None) -> dict[str, Any]:
        """The quiz for the token's student, without anything that reveals the answers."""
        quiz = quiz_or_404(quiz_id)
        student = student_of(request, quiz)
        used = len(store.attempts(quiz.id, student))
        return service.public_quiz(quiz, student, language(quiz, lang), used)

    @app.post("/api/quiz/{quiz_id}/attempts", status_code=201)
    async def api_submit(quiz_id: str, request: Request) -> dict[str, Any]:
        """Score and store one attempt; the response carries score and allowed feedback."""
        quiz = quiz_or_404(quiz_id)
        student = student_of(request, quiz)
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
        return await do_submit(quiz, student, body["answers"], language(quiz, lang), key)

    @app.get("/api/quiz/{quiz_id}/attempts")
    def api_attempts(quiz_id: str, request: Request, lang: str | None = None) -> dict[str, Any]:
        """The token holder's own attempts on this quiz."""
        quiz = quiz_or_404(quiz_id)
        student = student_of(request, quiz)
        return {
            "student": student,
            "attempts": service.own_attempts(store, quiz, student, language(quiz, lang)),
        }

    # ---------------------------------------------------------------- HTML pages (students)
    @app.get("/quiz/{quiz_id}", response_class=HTMLResponse)
    def quiz_page(quiz_id: str, request: Request, lang: str | None = None) -> HTMLResponse:
        """The personal quiz page: a language picker first, then the quiz form."""
        quiz = quiz_or_404(quiz_id)
        token = request.query_params.get("token", "")
        student = student_of(request, quiz, token)
        if lang is None:
            page = env.get_template("choose.html").render(
                quiz=quiz, token=token, ui=UI, languages=quiz.languages, lang="en", dir="ltr"
            )
            return HTMLResponse(page)
        lang = language(quiz, lang)
        previous = service.own_attempts(store, quiz, student, lang)
        data = service.public_quiz(quiz, student, lang, len(previous))
        page = env.get_template("quiz.html").render(
            data=data,
            quiz=data["quiz"],
            questions=data["questions"],
            previous=previous,
            token=token,
            csrf=tokens.csrf_token(secret, token),
            submission=secrets.token_urlsafe(16),
            ui=ui(lang),
            lang=lang,
            dir=direction(lang),
        )
        return HTMLResponse(page)

    @app.post("/quiz/{quiz_id}/submit", response_class=HTMLResponse)
    async def form_submit(quiz_id: str, request: Request) -> HTMLResponse:
        """The form fallback (no JavaScript): CSRF-checked, then the same path as the API."""
        quiz = quiz_or_404(quiz_id)
        if not _same_origin(request):
            raise HTTPException(403, "cross-site form submission refused")
        try:
            form = await request.form(max_files=0, max_fields=200)
        except Exception:
            raise HTTPException(400, "the form could not be read") from None
        fields = {k: [str(v) for v in form.getlist(k)] for k in form}
        token = (fields.get("token") or [""])[0]
        student = student_of(request, quiz, token)
        if not tokens.check_csrf(secret, token, (fields.get("csrf") or [""])[0]):
            raise HTTPException(403, "missing or invalid CSRF token: reload the quiz page")
        lang = language(quiz, next(iter(fields.get("lang", [])), None))
        key = request_key(next(iter(fields.get("submission", [])), None))
        view = await do_submit(quiz, student, service.form_answers(quiz, fields), lang, key)
        page = env.get_template("result.html").render(
            quiz=quiz,
            view=view,
            token=token,
            ui=ui(lang),
            lang=lang,
            dir=direction(lang),
            title=data_title(quiz, lang),
        )
        return HTMLResponse(page, status_code=201)

    def data_title(quiz: Quiz, lang: str) -> str:
        return quiz.title.get(lang) or next(iter(quiz.title.values()))

    # ---------------------------------------------------------------- instructor
    @app.get("/api/instructor/stats")
    def api_stats(request: Request) -> dict[str, Any]:
        """Item statistics and learning gain (instructor token required)."""
        instructor(request)
        return stats.summary(quizzes, store)

    @app.get("/api/instructor/export/{quiz_id}", response_class=PlainTextResponse)
    def api_export(quiz_id: str, request: Request) -> PlainTextResponse:
        """The attempts of one quiz as a CSV download (instructor session or token)."""
        instructor(request)
        quiz = quiz_or_404(quiz_id)
        return PlainTextResponse(
            attempts_csv(quiz, store),
            media_type="text/csv",
            headers={"Content-Disposition": f'attachment; filename="{quiz.id}-attempts.csv"'},
        )

    @app.get("/instructor", response_class=HTMLResponse)
    def dashboard(request: Request) -> Response:
        """The dashboard for a signed-in instructor; ``?token=`` signs in and redirects to a
        URL without it; anyone else gets the sign-in form."""
        given = request.query_params.get("token")
        if given is not None:
            if settings.instructor_token and tokens.same_secret(settings.instructor_token, given):
                return signed_in(request)
            return login_page("That instructor token is not valid.", 403)
        status = instructor_status(request)
        if status != 200:
            if not settings.instructor_token:
                instructor(request)
            return login_page(status=status)
        value = request.cookies.get(session.COOKIE, "")
        csrf = session.csrf(secret, value) if value else ""
        return HTMLResponse(dashboard_render.page(env, stats.summary(quizzes, store), csrf))

    @app.post("/instructor/login")
    async def login(request: Request) -> Response:
        """Sign in with the instructor token from the sign-in form; sets the session cookie."""
        if not _same_origin(request):
            raise HTTPException(403, "cross-site sign-in refused")
        if not settings.instructor_token:
            instructor(request)
        form = await request.form(max_files=0, max_fields=5)
        given = str(form.get("token") or "")
        if not tokens.same_secret(settings.instructor_token, given):
            return login_page("That instructor token is not valid.", 403)
        return signed_in(request)

    @app.post("/instructor/logout")
    async def logout(request: Request) -> Response:
        """End the session (CSRF-checked form of the dashboard)."""
        form = await request.form(max_files=0, max_fields=5)
        value = request.cookies.get(session.COOKIE)
        if not _same_origin(request) or not session.check_csrf(
            secret, value, str(form.get("csrf") or "")
        ):
            raise HTTPException(403, "sign-out refused: reload the dashboard and try again")
        response = RedirectResponse("/instructor", status_code=303)
        response.delete_cookie(session.COOKIE, path="/", httponly=True, samesite="strict")
        return response

    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(SecurityHeaders)
    return app
