"""The checks' messages to the student, in the notebook's language.

A translated notebook's first code cell calls :func:`set_language` (the translation build adds
the call; a kernel cannot see the notebook's metadata). A check then words its failure with
:func:`say`, which picks the template of the current language and falls back to English.
The language is the one setting of the checks that lives for the whole kernel session.
"""

from __future__ import annotations

from typing import Any

#: Languages the messages come in.
SUPPORTED = ("en", "he")

#: Templates by message id and language; fields are filled with :meth:`str.format`.
MESSAGES: dict[str, dict[str, str]] = {
    "failed": {
        "en": "{check}: {detail}",
        "he": "{check}: {detail}",
    },
}

_session = {"language": "en"}


def set_language(language: str) -> None:
    """Word every later message of the checks in ``language`` ("en" or "he")."""
    if language not in SUPPORTED:
        raise ValueError(f"unsupported language {language!r}; choose one of {SUPPORTED}")
    _session["language"] = language


def current_language() -> str:
    """The language the checks speak now ("en" unless :func:`set_language` said otherwise)."""
    return _session["language"]


def say(message_id: str, /, **fields: Any) -> str:
    """The message ``message_id`` in the current language, its fields filled in."""
    templates = MESSAGES[message_id]
    return templates.get(current_language(), templates["en"]).format(**fields)
