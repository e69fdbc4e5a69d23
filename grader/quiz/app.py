"""The quiz web app (FastAPI): personal quiz pages, the JSON API behind them, the instructor's
dashboard, and a trivial health endpoint.

Students authenticate with their signed token (``Authorization: Bearer TOKEN`` or
``?token=TOKEN``); the instructor with the configured instructor token. ``create_app`` builds an
app around a bank, a store and settings given by the caller: no global state.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from grader.quiz import policy, service, tokens
from grader.quiz.bank import Quiz
from grader.quiz.config import Settings
from grader.quiz.dashboard import render as dashboard_render
from grader.quiz.dashboard import stats
from grader.quiz.export import attempts_csv
from grader.quiz.guard import BodyLimit, SecurityHeaders
from grader.quiz.i18n import UI, direction, ui
from grader.quiz.scoring import AnswerError
from grader.quiz.store import AttemptsExhausted, Store

HERE = Path(__file__).resolve().parent
API_FIELDS = frozenset({"answers", "lang"})


def _templates() -> Environment:
    return Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _token_from(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    return request.query_params.get("token")


def create_app(settings: Settings, quizzes: Mapping[str, Quiz], store: Store) -> FastAPI:
    """The ASGI app serving ``quizzes`` and storing attempts in ``store``."""
    app = FastAPI(
        title="Quizzes: neural network frameworks",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    env = _templates()
    secret = settings.secret

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

    def instructor(request: Request) -> None:
        given = _token_from(request)
        if not settings.instructor_token:
            raise HTTPException(
                403, "instructor pages are disabled: set GRADER_QUIZ_INSTRUCTOR_TOKEN"
            )
        if not given:
            raise HTTPException(401, "missing instructor token")
        if not tokens.same_secret(settings.instructor_token, given):
            raise HTTPException(403, "invalid instructor token")

    async def do_submit(quiz: Quiz, student: str, answers: Any, lang: str) -> dict[str, Any]:
        try:
            attempt, _ = await run_in_threadpool(
                service.submit, store, quiz, student, answers, lang
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
        return await do_submit(quiz, student, body["answers"], language(quiz, lang))

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
            ui=ui(lang),
            lang=lang,
            dir=direction(lang),
        )
        return HTMLResponse(page)

    @app.post("/quiz/{quiz_id}/submit", response_class=HTMLResponse)
    async def form_submit(quiz_id: str, request: Request) -> HTMLResponse:
        """The form fallback (no JavaScript): CSRF-checked, then the same path as the API."""
        quiz = quiz_or_404(quiz_id)
        origin = request.headers.get("origin")
        if origin and origin != "null" and urlsplit(origin).netloc != request.url.netloc:
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
        lang = language(quiz, (fields.get("lang") or [None])[0])
        view = await do_submit(quiz, student, service.form_answers(quiz, fields), lang)
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
        """The attempts of one quiz as CSV (instructor token required)."""
        instructor(request)
        quiz = quiz_or_404(quiz_id)
        return PlainTextResponse(attempts_csv(quiz, store), media_type="text/csv")

    @app.get("/instructor", response_class=HTMLResponse)
    def dashboard(request: Request) -> HTMLResponse:
        """The instructor's dashboard with plots (instructor token required)."""
        instructor(request)
        return HTMLResponse(dashboard_render.page(env, stats.summary(quizzes, store)))

    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(SecurityHeaders)
    return app
