"""Settings of the quiz server, from the environment and command-line overrides.

The signing secret is never built in. It comes from ``GRADER_QUIZ_SECRET`` or a file named by
``GRADER_QUIZ_SECRET_FILE`` (or ``--secret-file``); without either, from the server's own
credentials file (``grader.quiz.credentials``), made with a random secret on first use. The
instructor token likewise comes from ``GRADER_QUIZ_INSTRUCTOR_TOKEN`` or
``GRADER_QUIZ_INSTRUCTOR_TOKEN_FILE``, else from the same credentials file. The variables win.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from grader.quiz import credentials
from grader.quiz.tokens import MIN_SECRET_BYTES

DEFAULT_DB = "sqlite:///quiz.db"
DEFAULT_TTL_S = 60 * 60 * 24 * 60  # two months: a semester's quizzes
DEFAULT_MAX_BODY = 64 * 1024


class ConfigError(ValueError):
    """A missing or unusable setting; the message says how to provide it."""


@dataclass(frozen=True)
class Settings:
    """Everything the quiz server and the link/export commands need."""

    secret: bytes
    db_url: str = DEFAULT_DB
    instructor_token: str | None = None
    bank_dir: Path | None = None
    token_ttl_s: int = DEFAULT_TTL_S
    max_body_bytes: int = DEFAULT_MAX_BODY
    credentials_file: Path | None = None  # where secret or token came from, if from the file
    credentials_created: bool = False


def _from_file_or_env(env: Mapping[str, str], name: str, file: str | None) -> str | None:
    path = file or env.get(f"{name}_FILE")
    if path:
        try:
            return Path(path).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(f"cannot read {name} from {path}: {exc.strerror}") from exc
    return env.get(name) or None


def _checked(secret: bytes) -> bytes:
    if len(secret) < MIN_SECRET_BYTES:
        raise ConfigError(f"the quiz secret must be at least {MIN_SECRET_BYTES} bytes long")
    return secret


def _credentials(env: Mapping[str, str]) -> credentials.Credentials:
    try:
        return credentials.load_or_create(credentials.default_path(env))
    except credentials.CredentialsError as exc:
        raise ConfigError(str(exc)) from exc


def load_settings(
    env: Mapping[str, str] | None = None,
    *,
    db_url: str | None = None,
    secret_file: str | None = None,
    instructor_token_file: str | None = None,
    bank_dir: Path | None = None,
    token_ttl_s: int | None = None,
) -> Settings:
    """Settings from the environment, with explicit arguments taking precedence; what is not
    set comes from the credentials file, made with random values on first use."""
    env = os.environ if env is None else env
    ttl = token_ttl_s or int(env.get("GRADER_QUIZ_TOKEN_TTL", DEFAULT_TTL_S))
    secret_text = _from_file_or_env(env, "GRADER_QUIZ_SECRET", secret_file)
    token = _from_file_or_env(env, "GRADER_QUIZ_INSTRUCTOR_TOKEN", instructor_token_file)
    stored = None
    if not secret_text or not token:
        stored = _credentials(env)
        secret_text = secret_text or stored.secret
        token = token or stored.instructor_token
    return Settings(
        secret=_checked(secret_text.encode("utf-8")),
        db_url=db_url or env.get("GRADER_QUIZ_DB") or DEFAULT_DB,
        instructor_token=token,
        bank_dir=bank_dir,
        token_ttl_s=ttl,
        credentials_file=stored.path if stored else None,
        credentials_created=stored.created if stored else False,
    )


def db_url_from(env: Mapping[str, str] | None = None, db_url: str | None = None) -> str:
    """The database URL for commands that need no secret (export, sync)."""
    env = os.environ if env is None else env
    return db_url or env.get("GRADER_QUIZ_DB") or DEFAULT_DB
