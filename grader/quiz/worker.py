"""The app of one ``grader quiz serve`` worker process, built from what the command hands over.

uvicorn starts its worker processes itself (``--workers N``) and each imports
``app_from_environment``; the command passes the settings in one environment variable of its
own child processes (readable by the same user only, like the credentials file). Each worker
opens its own connection pool and checks that the database is already migrated: the command
migrates once, before any worker starts.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import MutableMapping
from pathlib import Path

from fastapi import FastAPI

from grader.quiz.app import create_app
from grader.quiz.bank import load_bank
from grader.quiz.config import Settings
from grader.quiz.store import Store, make_engine

ENV = "GRADER_QUIZ_WORKER_SETTINGS"


def hand_over(settings: Settings, bank_dir: Path, env: MutableMapping[str, str]) -> None:
    """Put ``settings`` and the bank folder into ``env`` for the worker processes."""
    env[ENV] = json.dumps(
        {
            "secret": base64.b64encode(settings.secret).decode("ascii"),
            "db_url": settings.db_url,
            "instructor_token": settings.instructor_token,
            "token_ttl_s": settings.token_ttl_s,
            "max_body_bytes": settings.max_body_bytes,
            "bank_dir": str(bank_dir),
        }
    )


def app_from_environment() -> FastAPI:
    """The quiz app of this worker process (uvicorn factory)."""
    data = json.loads(os.environ[ENV])
    settings = Settings(
        secret=base64.b64decode(data["secret"]),
        db_url=data["db_url"],
        instructor_token=data["instructor_token"],
        token_ttl_s=int(data["token_ttl_s"]),
        max_body_bytes=int(data["max_body_bytes"]),
    )
    bank = load_bank(Path(data["bank_dir"]))
    engine = make_engine(settings.db_url)
    store = Store(engine)
    store.check_schema()
    return create_app(settings, bank, store, on_close=engine.dispose)
