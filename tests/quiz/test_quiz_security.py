"""Security and bad input, one test per point of the issue's item 8."""

from __future__ import annotations

import json
import os
from urllib.parse import urlencode

import pytest
from fastapi.staticfiles import StaticFiles
from fastapi.testclient import TestClient
from starlette.applications import Starlette
from starlette.routing import Mount

from grader.quiz import app as quiz_app
from grader.quiz import tokens
from tests.support.quiz import INSTRUCTOR, SECRET, correct_answers

BOTH_DATABASES = True  # every test with a store runs on SQLite and on PostgreSQL


def _auth(t):
    return {"Authorization": f"Bearer {t}"}


def _feedback_texts(quiz, lang):
    for q in quiz.questions:
        for o in q.options:
            yield o.feedback[lang]
        for t in q.feedback.values():
            yield t[lang]
        for m in q.mistakes:
            yield m.feedback[lang]


@pytest.mark.parametrize("lang", ["en", "he"])
def test_correct_answers_never_reach_the_browser_before_submission(client, token, bank, lang):
    """Page HTML, API JSON and the script hold no correctness flag, feedback or numeric answer."""
    quiz = bank["frameworks-pre"]
    t = token("alice")
    page = client.get(f"/quiz/frameworks-pre?token={t}&lang={lang}").text
    api = client.get(f"/api/quiz/frameworks-pre?lang={lang}", headers=_auth(t)).text
    script = client.get("/static/quiz.js").text
    for blob in (page, api):
        assert (
            '"correct"' not in blob
            and "is-correct" not in blob
            and 'data-correct="true' not in blob
        )
        for text in _feedback_texts(quiz, lang):
            assert text not in blob, text
    data = json.loads(api)
    for q in data["questions"]:
        assert set(q) <= {"id", "type", "text", "points", "options"}
        assert all(set(o) == {"id", "text"} for o in q.get("options", []))
    for text in _feedback_texts(quiz, lang):
        assert text not in script


# An HTTP client removes a literal "/static/../" before sending, so the probes are
# percent-encoded: the server decodes them, and only the static files' guard stands between
# them and the files next to (and above) the static folder.
TRAVERSALS = [
    ("/static/%2e%2e/app.py", "def create_app"),
    ("/static/%2E%2E/%2e%2e/%2e%2e/quizzes/frameworks-pre.yaml", "id: frameworks-pre"),
    ("/static/..%2fapp.py", "def create_app"),
]


@pytest.mark.parametrize(("path", "secret"), TRAVERSALS)
def test_static_files_refuse_paths_that_climb_out(client, path, secret):
    r = client.get(path)
    assert r.request.url.raw_path == path.encode()  # sent as written, not normalised
    assert r.status_code == 404 and secret not in r.text


def test_the_traversal_probes_would_leak_without_the_guard():
    """The same requests against static files without the guard return the files: the probes
    above reach the guard, so the test fails if the guard goes."""

    class Unguarded(StaticFiles):
        def lookup_path(self, path):
            full = os.path.realpath(os.path.join(self.directory, path))
            return (full, os.stat(full)) if os.path.isfile(full) else ("", None)

    static = os.path.join(os.path.dirname(quiz_app.__file__), "static")
    unguarded = Starlette(routes=[Mount("/static", app=Unguarded(directory=static))])
    with TestClient(unguarded) as leaky:
        for path, secret in TRAVERSALS:
            r = leaky.get(path)
            assert r.status_code == 200 and secret in r.text, path


def test_posts_need_a_valid_token_and_the_form_needs_csrf(client, token, store, bank):
    answers = correct_answers(bank["frameworks-pre"])
    r = client.post("/api/quiz/frameworks-pre/attempts", json={"answers": answers})
    assert r.status_code == 401 and "missing token" in r.json()["detail"]
    t = token("mallory")
    form = {"token": t, "lang": "en", "q_q02": "b"}
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    r = client.post("/quiz/frameworks-pre/submit", content=urlencode(form), headers=headers)
    assert r.status_code == 403 and "CSRF" in r.text
    form["csrf"] = tokens.csrf_token(SECRET, token("someone-else"))  # a CSRF value of another
    r = client.post("/quiz/frameworks-pre/submit", content=urlencode(form), headers=headers)
    assert r.status_code == 403
    form["csrf"] = tokens.csrf_token(SECRET, t)
    r = client.post(
        "/quiz/frameworks-pre/submit",
        content=urlencode(form),
        headers={**headers, "Origin": "https://evil.example"},
    )
    assert r.status_code == 403 and "cross-site" in r.text
    assert store.count() == 0


@pytest.mark.parametrize(
    ("make", "status", "message"),
    [
        (lambda t: tokens.issue(SECRET, "alice", "frameworks-pre", -10), 401, "token expired"),
        (lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"), 401, "signature"),
        (
            lambda t: tokens.issue(
                b"another-secret-0123456789abcdef", "alice", "frameworks-pre", 60
            ),
            401,
            "signature",
        ),
        (lambda t: "garbage", 401, "malformed"),
        (
            lambda t: tokens.issue(SECRET, "alice", "frameworks-post", 60),
            403,
            "not 'frameworks-pre'",
        ),
    ],
    ids=["expired", "tampered", "other-secret", "garbage", "other-quiz"],
)
def test_bad_or_expired_tokens_are_refused_and_store_nothing(
    client, token, store, bank, make, status, message
):
    bad = make(token("alice"))
    body = {"answers": correct_answers(bank["frameworks-pre"])}
    r = client.post("/api/quiz/frameworks-pre/attempts", headers=_auth(bad), json=body)
    assert r.status_code == status and message in r.json()["detail"]
    assert client.get("/api/quiz/frameworks-pre", headers=_auth(bad)).status_code == status
    assert client.get(f"/quiz/frameworks-pre?token={bad}&lang=he").status_code == status
    assert store.count() == 0


@pytest.mark.parametrize(
    ("path", "answers", "status", "message"),
    [
        ("/api/quiz/no-such-quiz/attempts", {"q01": ["a"]}, 404, "unknown quiz 'no-such-quiz'"),
        (
            "/api/quiz/frameworks-pre/attempts",
            {"q99": ["a"]},
            422,
            "question q99: unknown question",
        ),
        ("/api/quiz/frameworks-pre/attempts", {"q02": ["z"]}, 422, "unknown option id 'z'"),
        ("/api/quiz/frameworks-pre/attempts", {"q02": ["a", "b"]}, 422, "exactly one option"),
        ("/api/quiz/frameworks-pre/attempts", {"q03": "minus six"}, 422, "expects a number"),
    ],
)
def test_unknown_quiz_question_or_option_ids_are_refused(
    client, token, store, path, answers, status, message
):
    r = client.post(path, headers=_auth(token("alice")), json={"answers": answers})
    assert r.status_code == status and message in r.json()["detail"]
    assert store.count() == 0


@pytest.mark.parametrize(
    ("content", "ctype", "status", "message"),
    [
        (b"{not json", "application/json", 400, "not valid JSON"),
        (b'["answers"]', "application/json", 422, "'answers' object"),
        (b'{"answers": {}, "extra": 1}', "application/json", 422, "unknown field 'extra'"),
        (b'{"answers": {}, "lang": "fr"}', "application/json", 422, "unknown language 'fr'"),
        (b"answers=1", "text/plain", 415, "JSON"),
        (b'{"answers": {"q01": ["' + b"a" * 70000 + b'"]}}', "application/json", 413, "larger"),
    ],
    ids=["broken-json", "not-object", "extra-field", "bad-language", "wrong-type", "oversized"],
)
def test_malformed_or_oversized_bodies_are_refused(
    client, token, store, content, ctype, status, message
):
    r = client.post(
        "/api/quiz/frameworks-pre/attempts",
        content=content,
        headers={**_auth(token("alice")), "Content-Type": ctype},
    )
    assert r.status_code == status and message in r.json()["detail"]
    assert store.count() == 0


def test_a_student_never_reads_another_students_results(client, token, bank):
    quiz = bank["frameworks-pre"]
    r = client.post(
        "/api/quiz/frameworks-pre/attempts",
        headers=_auth(token("alice")),
        json={"answers": correct_answers(quiz)},
    )
    assert r.status_code == 201
    bob = client.get("/api/quiz/frameworks-pre/attempts", headers=_auth(token("bob")))
    assert bob.status_code == 200 and bob.json() == {"student": "bob", "attempts": []}
    # the student is taken from the signed token only: parameters cannot pick another one
    r = client.get("/api/quiz/frameworks-pre/attempts?student=alice", headers=_auth(token("bob")))
    assert r.json()["attempts"] == []
    page = client.get(f"/quiz/frameworks-pre?token={token('bob')}&lang=en").text
    assert "result-1" not in page
    for path in ("/api/instructor/stats", "/api/instructor/export/frameworks-pre", "/instructor"):
        assert client.get(path, headers=_auth(token("bob"))).status_code == 403


def test_instructor_pages_need_the_instructor_token(client):
    for path in ("/api/instructor/stats", "/api/instructor/export/frameworks-pre", "/instructor"):
        assert client.get(path).status_code == 401
        assert client.get(path, headers=_auth("wrong-token")).status_code == 403
        assert client.get(path, headers=_auth(INSTRUCTOR)).status_code == 200
    assert client.get(f"/instructor?token={INSTRUCTOR}").status_code == 200


def test_responses_carry_protective_headers(client, token):
    r = client.get(f"/quiz/frameworks-pre?token={token('alice')}&lang=he")
    assert r.headers["referrer-policy"] == "no-referrer"  # the token in the URL stays here
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
    assert r.headers["cache-control"] == "no-store"
