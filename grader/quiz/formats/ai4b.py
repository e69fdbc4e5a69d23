"""Import the AI-For-Beginners quiz-app JSON format.

A file ``<locale>/lesson-<N>.json`` holds ``[{title, complete, error, quizzes: [{id, title,
quiz: [{questionText, answerOptions: [{answerText, isCorrect}]}]}]}]``. Quizzes with the same
id from several locales merge into one quiz: questions and options are matched by position,
correctness comes from the reference locale (English when present), and only locales that
translate every text become the quiz's declared languages (partial ones are kept as extra texts
and reported). The format has no feedback: the file's own ``complete``/``error`` messages become
the feedback of right and wrong options.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grader.quiz.formats import imported_policy

LOCALE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]+)?$")


class Ai4bError(ValueError):
    """A file that is not in the quiz-app format; the message names the file and the place."""


@dataclass
class ImportResult:
    """Quizzes (as bank data, ready for validation) and the notes on quirks found."""

    quizzes: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _locale(path: Path) -> str:
    name = path.parent.name
    return name if LOCALE.match(name) else "en"


def _read(path: Path) -> list[dict[str, Any]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise Ai4bError(f"{path}: cannot read JSON: {exc}") from exc
    if not isinstance(data, list):
        raise Ai4bError(f"{path}: expected a list of quiz collections")
    for i, block in enumerate(data):
        if not isinstance(block, dict) or not isinstance(block.get("quizzes"), list):
            raise Ai4bError(f"{path}: item {i} has no 'quizzes' list")
        for quiz in block["quizzes"]:
            if (
                not isinstance(quiz, dict)
                or "id" not in quiz
                or not isinstance(quiz.get("quiz"), list)
            ):
                raise Ai4bError(f"{path}: a quiz lacks 'id' or its 'quiz' list")
            for n, q in enumerate(quiz["quiz"], 1):
                opts = q.get("answerOptions") if isinstance(q, dict) else None
                if (
                    not isinstance(q, dict)
                    or not isinstance(q.get("questionText"), str)
                    or not (
                        isinstance(opts, list)
                        and all(
                            isinstance(o, dict) and isinstance(o.get("answerText"), str)
                            for o in opts
                        )
                    )
                ):
                    raise Ai4bError(f"{path}: quiz {quiz['id']} question {n} is malformed")
                for m, option in enumerate(opts, 1):
                    truth = _TRUTH.get(str(option.get("isCorrect", False)).lower())
                    if truth is None:
                        raise Ai4bError(
                            f"{path}: quiz {quiz['id']} question {n} option {m}: isCorrect "
                            "is neither true nor false"
                        )
                    option["isCorrect"] = truth
    return data


#: ``isCorrect`` as the locales write it: a JSON boolean, or (some translations) a string.
_TRUTH = {"true": True, "false": False}


def import_files(paths: Iterable[Path]) -> ImportResult:
    """Read quiz-app files (any locales, any lessons) and merge them into bank quiz data."""
    # quiz id -> locale -> (quiz dict, complete message, error message)
    found: dict[int, dict[str, tuple[dict[str, Any], str, str]]] = {}
    for path in paths:
        locale = _locale(path)
        for block in _read(path):
            for quiz in block["quizzes"]:
                found.setdefault(int(quiz["id"]), {})[locale] = (
                    quiz,
                    str(block.get("complete") or "✓"),
                    str(block.get("error") or "✗"),
                )
    result = ImportResult()
    for quiz_id in sorted(found):
        result.quizzes.append(_merge(quiz_id, found[quiz_id], set(found), result.notes))
    return result


def _merge(
    quiz_id: int,
    locales: dict[str, tuple[dict[str, Any], str, str]],
    all_ids: set[int],
    notes: list[str],
) -> dict[str, Any]:
    ref_lang = "en" if "en" in locales else sorted(locales)[0]
    ref = locales[ref_lang][0]
    complete_langs = set(locales)
    questions = []
    for n, ref_q in enumerate(ref["quiz"]):
        text: dict[str, str] = {}
        options: list[dict[str, Any]] = [
            {
                "id": chr(ord("a") + i),
                "correct": bool(o.get("isCorrect")),
                "text": {},
                "feedback": {},
            }
            for i, o in enumerate(ref_q["answerOptions"])
        ]
        if sum(o["correct"] for o in options) != 1:
            notes.append(
                f"quiz {quiz_id} question {n + 1}: "
                f"{sum(o['correct'] for o in options)} correct options; kept as multiple"
            )
        for lang, (quiz, complete, error) in sorted(locales.items()):
            qs = quiz["quiz"]
            if n >= len(qs):
                complete_langs.discard(lang)
                notes.append(f"quiz {quiz_id}: locale {lang} lacks question {n + 1}")
                continue
            q = qs[n]
            if len(q["answerOptions"]) != len(options) or any(
                bool(o.get("isCorrect")) != opt["correct"]
                for o, opt in zip(q["answerOptions"], options, strict=False)
            ):
                complete_langs.discard(lang)
                notes.append(
                    f"quiz {quiz_id} question {n + 1}: locale {lang} disagrees with "
                    f"{ref_lang} on the options; its texts are skipped"
                )
                continue
            text[lang] = q["questionText"].strip()
            for o, opt in zip(q["answerOptions"], options, strict=True):
                opt["text"][lang] = o["answerText"].strip()
                opt["feedback"][lang] = complete if opt["correct"] else error
        multiple = sum(o["correct"] for o in options) != 1
        questions.append(
            {
                "id": f"q{n + 1:02d}",
                "type": "multiple" if multiple else "single",
                "concept": f"lesson-{quiz_id % 100}",
                "points": 1,
                "text": text,
                "options": options,
            }
        )
    for lang in sorted(locales):
        if lang != ref_lang and locales[lang][0].get("title") and lang in complete_langs:
            notes.append(
                f"quiz {quiz_id}: title in {lang} is {locales[lang][0]['title']!r} "
                f"({ref_lang}: {ref.get('title')!r})"
            )
    kind = {1: "pre", 2: "post"}.get(quiz_id // 100, "other")
    data: dict[str, Any] = {
        "id": f"ai4b-{quiz_id}",
        "kind": kind,
        "languages": [ref_lang, *sorted(complete_langs - {ref_lang})],
        "title": {
            lang: str(q.get("title") or f"Quiz {quiz_id}") for lang, (q, _, _) in locales.items()
        },
        "policy": imported_policy(),
        "questions": questions,
    }
    partner = quiz_id + 100 if kind == "pre" else quiz_id - 100
    if kind in ("pre", "post") and partner in all_ids:
        data["pair"] = f"ai4b-{partner}"
    return data
