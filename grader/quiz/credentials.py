"""The server's own signing secret and instructor token, made on first start and kept in a file
only its owner can read (as Jupyter keeps its cookie secret).

The file is JSON ``{"secret": ..., "instructor_token": ...}``; it is created atomically (a
concurrent start of another process finds the same file, never a half-written one) with mode
0600 in a folder of mode 0700. A file that others can read is refused rather than used.
"""

from __future__ import annotations

import json
import os
import secrets
import stat
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

FILE_NAME = "quiz-server.json"


class CredentialsError(ValueError):
    """The credentials file is unreadable, malformed or readable by others."""


@dataclass(frozen=True)
class Credentials:
    """What the file holds, and whether this call created it."""

    secret: str
    instructor_token: str
    path: Path
    created: bool = False


def default_path(env: Mapping[str, str]) -> Path:
    """``$GRADER_QUIZ_STATE_FILE``, else ``quiz-server.json`` in the user's data folder
    (``$XDG_DATA_HOME/grader``, by default ``~/.local/share/grader``)."""
    if env.get("GRADER_QUIZ_STATE_FILE"):
        return Path(env["GRADER_QUIZ_STATE_FILE"])
    base = env.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "grader" / FILE_NAME


def _read(path: Path) -> Credentials:
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise CredentialsError(
            f"{path} is readable by other users (mode {stat.filemode(mode)}): "
            f"run `chmod 600 {path}` or delete it to make new credentials"
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return Credentials(str(data["secret"]), str(data["instructor_token"]), path)
    except (ValueError, KeyError, TypeError) as exc:
        raise CredentialsError(f"{path} is not a quiz credentials file: {exc}") from exc


def _create(path: Path) -> bool:
    """Write new credentials to ``path`` unless it exists; True if this call wrote them."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    data = {"secret": secrets.token_urlsafe(32), "instructor_token": secrets.token_urlsafe(24)}
    fd, tmp = tempfile.mkstemp(prefix=".quiz-server-", dir=path.parent)  # mode 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(data, out)
            out.flush()
            os.fsync(out.fileno())
        os.link(tmp, path)  # atomic, and fails if another process made it first
        return True
    except FileExistsError:
        return False
    finally:
        os.unlink(tmp)


def load_or_create(path: Path) -> Credentials:
    """The credentials in ``path``, made first if the file does not exist."""
    try:
        created = False if path.exists() else _create(path)
        found = _read(path)
    except OSError as exc:
        raise CredentialsError(f"cannot use {path}: {exc.strerror or exc}") from exc
    return Credentials(found.secret, found.instructor_token, path, created)
