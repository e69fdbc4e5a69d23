"""The instructor's browser session: a signed cookie, so that the dashboard and every link on it
(the CSV export included) work by clicking, after signing in once with the instructor token.

The cookie value is ``s1.<expiry>.<signature>``: an HMAC-SHA256 with the server's secret over the
expiry and a digest of the instructor token, so changing either ends every session. It holds no
token, works in every server process alike (no server-side state), and is sent ``HttpOnly`` and
``SameSite=Strict``: scripts cannot read it and other sites' pages cannot make the browser send it.
"""

from __future__ import annotations

import hashlib
import hmac
import time

COOKIE = "grader_quiz_session"
LIFETIME_S = 12 * 60 * 60
VERSION = "s1"


def _signature(secret: bytes, instructor_token: str, expires: int) -> str:
    digest = hashlib.sha256(instructor_token.encode("utf-8")).hexdigest()
    message = f"{VERSION}.{expires}.{digest}".encode("ascii")
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def issue(secret: bytes, instructor_token: str, now: float | None = None) -> str:
    """A session value valid for LIFETIME_S seconds from ``now``."""
    expires = int((time.time() if now is None else now) + LIFETIME_S)
    return f"{VERSION}.{expires}.{_signature(secret, instructor_token, expires)}"


def valid(
    secret: bytes, instructor_token: str | None, value: str | None, now: float | None = None
) -> bool:
    """Whether ``value`` is an unexpired session for this secret and instructor token."""
    if not instructor_token or not value or len(value) > 200:
        return False
    parts = value.split(".")
    if len(parts) != 3 or parts[0] != VERSION or not parts[1].isdigit():
        return False
    expires = int(parts[1])
    good = hmac.compare_digest(_signature(secret, instructor_token, expires), parts[2])
    return good and expires >= (time.time() if now is None else now)


def csrf(secret: bytes, value: str) -> str:
    """The CSRF value of the session's forms (sign-out), bound to the session."""
    return hmac.new(secret, f"csrf.{value}".encode(), hashlib.sha256).hexdigest()[:32]


def check_csrf(secret: bytes, value: str | None, given: str | None) -> bool:
    """Whether a form's CSRF value belongs to the session ``value``."""
    if not value or not given:
        return False
    return hmac.compare_digest(csrf(secret, value), given)
