"""The instructor's browser session: sign in once, a cookie that scripts and other sites cannot
use, every dashboard link (CSV export included) by plain GET, sign-out; tokens kept out of logs."""

from __future__ import annotations

import logging
from urllib.parse import urlencode

from grader.quiz import session
from grader.quiz.logs import REDACTED, RedactTokens, redact
from grader.quiz.service import submit
from tests.support.quiz import INSTRUCTOR, SECRET, right

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def _sign_in(client) -> object:
    return client.post(
        "/instructor/login",
        content=urlencode({"token": INSTRUCTOR}),
        headers=FORM,
        follow_redirects=False,
    )


def test_sign_in_sets_a_strict_http_only_cookie_and_every_link_works(client, bank, store):
    pre = bank["frameworks-pre"]
    submit(store, pre, "ada", {"q02": right(pre, "q02")}, "he")
    page = client.get("/instructor")
    assert page.status_code == 401 and 'id="login-form"' in page.text
    r = _sign_in(client)
    assert r.status_code == 303 and r.headers["location"] == "/instructor"
    cookie = r.headers["set-cookie"]
    assert cookie.startswith(f"{session.COOKIE}=s1.")
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/" in cookie
    assert INSTRUCTOR not in cookie
    dashboard = client.get("/instructor")  # the cookie alone, no header
    assert dashboard.status_code == 200 and 'id="logout-form"' in dashboard.text
    links = ["/api/instructor/stats", *(f"/api/instructor/export/{q}" for q in bank)]
    for link in links:
        assert f'href="{link}"' in dashboard.text
    csv = client.get("/api/instructor/export/frameworks-pre")
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    assert (
        'attachment; filename="frameworks-pre-attempts.csv"' in csv.headers["content-disposition"]
    )
    assert csv.text.splitlines()[1].startswith("ada,1,")
    assert client.get("/api/instructor/stats").json()["quizzes"]["frameworks-pre"]["students"] == 1


def test_a_token_link_signs_in_and_leaves_the_token_out_of_the_address(client):
    r = client.get(f"/instructor?token={INSTRUCTOR}", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/instructor"
    assert client.get("/instructor").status_code == 200
    client.cookies.clear()
    bad = client.get("/instructor?token=not-the-token", follow_redirects=False)
    assert bad.status_code == 403 and "set-cookie" not in bad.headers


def test_forged_expired_or_other_server_sessions_are_refused(client):
    forged = [
        "s1.9999999999.0000",
        session.issue(b"another-secret-0123456789abcdef", INSTRUCTOR),
        session.issue(SECRET, "an-old-instructor-token"),
        session.issue(SECRET, INSTRUCTOR, now=0),  # expired long ago
    ]
    for value in forged:
        client.cookies.set(session.COOKIE, value)
        assert client.get("/api/instructor/export/frameworks-pre").status_code == 401
        assert client.get("/instructor").status_code == 401
    client.cookies.set(session.COOKIE, session.issue(SECRET, INSTRUCTOR))
    assert client.get("/api/instructor/export/frameworks-pre").status_code == 200


def test_cross_site_sign_in_and_sign_out_without_csrf_are_refused(client):
    r = client.post(
        "/instructor/login",
        content=urlencode({"token": INSTRUCTOR}),
        headers={**FORM, "Origin": "https://evil.example"},
        follow_redirects=False,
    )
    assert r.status_code == 403 and "set-cookie" not in r.headers
    assert _sign_in(client).status_code == 303
    value = client.cookies[session.COOKIE]
    for form in ({}, {"csrf": "0" * 32}, {"csrf": session.csrf(SECRET, "s1.1.x")}):
        r = client.post("/instructor/logout", content=urlencode(form), headers=FORM)
        assert r.status_code == 403
    assert client.get("/instructor").status_code == 200  # still signed in
    r = client.post(
        "/instructor/logout",
        content=urlencode({"csrf": session.csrf(SECRET, value)}),
        headers=FORM,
        follow_redirects=False,
    )
    assert r.status_code == 303 and "Max-Age=0" in r.headers["set-cookie"]
    client.cookies.clear()
    assert client.get("/instructor").status_code == 401


def test_student_tokens_and_csrf_values_never_reach_a_log_line():
    line = '127.0.0.1:5 - "GET /quiz/frameworks-pre?token=v1.abc.def&lang=he HTTP/1.1" 200'
    assert redact(line).count(REDACTED) == 1 and "v1.abc.def" not in redact(line)
    assert redact("Authorization: Bearer secret-value") == f"Authorization: Bearer {REDACTED}"
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5", "GET", "/instructor?token=sekrit&x=1", "1.1", 303),
        None,
    )
    assert RedactTokens().filter(record)
    assert record.getMessage() == (
        f'127.0.0.1:5 - "GET /instructor?token={REDACTED}&x=1 HTTP/1.1" 303'
    )
