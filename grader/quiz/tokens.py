"""Signed personal tokens: who a request comes from, for which quiz, until when.

A token is ``v1.<payload>.<signature>``: the payload is base64url JSON ``{"s": student,
"q": quiz, "e": expiry}`` and the signature an HMAC-SHA256 of ``v1.<payload>`` with the
server's secret. Nothing secret is in the payload; whoever holds the token is that student for
that quiz until the expiry. The secret comes from the caller (configuration), never from here.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import time
from dataclasses import dataclass

VERSION = "v1"
STUDENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@+-]{0,127}$")
MAX_TOKEN_LENGTH = 1024
MIN_SECRET_BYTES = 16


class TokenError(ValueError):
    """A token that is malformed, forged, expired or for another quiz."""


@dataclass(frozen=True)
class Claims:
    """What a valid token says."""

    student: str
    quiz: str
    expires: int


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _sign(secret: bytes, message: str) -> str:
    return _b64(hmac.new(secret, message.encode("ascii"), hashlib.sha256).digest())


def check_secret(secret: bytes) -> bytes:
    """Return the secret if it is long enough to sign tokens, else raise ValueError."""
    if len(secret) < MIN_SECRET_BYTES:
        raise ValueError(f"the quiz secret must be at least {MIN_SECRET_BYTES} bytes long")
    return secret


def issue(secret: bytes, student: str, quiz: str, ttl_s: int, now: float | None = None) -> str:
    """A token for ``student`` on ``quiz`` valid for ``ttl_s`` seconds from ``now``."""
    if not STUDENT_ID.match(student):
        raise ValueError(f"invalid student id {student!r}")
    expires = int((time.time() if now is None else now) + ttl_s)
    payload = _b64(
        json.dumps({"s": student, "q": quiz, "e": expires}, separators=(",", ":")).encode()
    )
    message = f"{VERSION}.{payload}"
    return f"{message}.{_sign(check_secret(secret), message)}"


def verify(secret: bytes, token: str, quiz: str | None = None, now: float | None = None) -> Claims:
    """The claims of a valid token; raise TokenError saying what is wrong otherwise.

    With ``quiz`` given, a token for another quiz is refused."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        raise TokenError("missing or oversized token")
    parts = token.split(".")
    if len(parts) != 3 or parts[0] != VERSION:
        raise TokenError("malformed token")
    message = f"{parts[0]}.{parts[1]}"
    try:
        good = hmac.compare_digest(_sign(secret, message), parts[2])
    except (UnicodeEncodeError, TypeError):
        good = False
    if not good:
        raise TokenError("invalid token signature")
    try:
        data = json.loads(_unb64(parts[1]))
        claims = Claims(str(data["s"]), str(data["q"]), int(data["e"]))
    except (binascii.Error, ValueError, KeyError, TypeError) as exc:
        raise TokenError("malformed token payload") from exc
    if claims.expires < (time.time() if now is None else now):
        raise TokenError("token expired")
    if quiz is not None and claims.quiz != quiz:
        raise TokenError(f"token is for quiz '{claims.quiz}', not '{quiz}'")
    return claims


def csrf_token(secret: bytes, token: str) -> str:
    """The CSRF value bound to a personal token, embedded in the quiz form."""
    return _sign(secret, f"csrf.{token}")[:32]


def check_csrf(secret: bytes, token: str, value: str) -> bool:
    """Whether a form's CSRF value matches its personal token."""
    return hmac.compare_digest(csrf_token(secret, token), value or "")


def same_secret(expected: str | None, given: str | None) -> bool:
    """Constant-time check of an instructor token; False when none is configured."""
    if not expected or not given:
        return False
    return hmac.compare_digest(expected.encode(), given.encode())
