"""Logging of the quiz server: uvicorn's configuration with every token kept out of the logs.

Students' links carry their token in the query string (``?token=...``), which uvicorn's access
log would print; the ``RedactTokens`` filter replaces the value of every ``token`` parameter and
every ``Bearer`` credential in a record before any handler formats it.
"""

from __future__ import annotations

import copy
import logging
import re
from typing import Any

from uvicorn.config import LOGGING_CONFIG

REDACTED = "[redacted]"
_QUERY_TOKEN = re.compile(r"(?i)([?&](?:token|csrf)=)[^&\s\"']*")
_BEARER = re.compile(r"(?i)(bearer\s+)[^\s\"',]+")


def redact(text: str) -> str:
    """``text`` with the values of ``token=``/``csrf=`` parameters and Bearer credentials hidden."""
    return _BEARER.sub(rf"\1{REDACTED}", _QUERY_TOKEN.sub(rf"\1{REDACTED}", text))


class RedactTokens(logging.Filter):
    """Hide tokens in a record's message and arguments (the access log's path among them)."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record in place; never drop it."""
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        elif isinstance(record.args, dict):
            record.args = {
                k: redact(v) if isinstance(v, str) else v for k, v in record.args.items()
            }
        return True


def log_config() -> dict[str, Any]:
    """uvicorn's default logging configuration with RedactTokens on every handler."""
    config = copy.deepcopy(LOGGING_CONFIG)
    config.setdefault("filters", {})["redact_tokens"] = {"()": f"{__name__}.RedactTokens"}
    for handler in config["handlers"].values():
        handler.setdefault("filters", []).append("redact_tokens")
    config["loggers"]["grader.quiz"] = {"handlers": ["default"], "level": "INFO"}
    return config
