"""Render a quiz as an nbgrader source assignment: one answer cell per question, hidden tests.

Each question becomes a locked markdown cell (English and Hebrew, with the option letters), an
autograded answer cell (``answer_<id> = ...``, the instructor's solution between nbgrader's
solution markers) and a locked test cell. The test cell's visible part reads the answer with the
helper of the notebook's first code cell and says what it understood, or which forms it accepts,
without saying whether the answer is right; its hidden part computes the points with the same
rule as the web (the cell's last value is the score, which nbgrader takes as partial credit).

Option order. The web shuffles the options per student (``scoring.option_order``). A released
notebook is one file for every student, and nbgrader does not know who will open it, so the
notebook is shuffled once per assignment, with the web's own function and the pseudo-student
``notebook:<assignment>``; the options are then lettered a, b, c... in the order shown, so a
letter says nothing about the bank's order. Every student of a course sees the same order and
letters (as on paper), and re-rendering an unchanged bank gives the same notebook.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from pprint import pformat

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from grader.quiz.bank import Option, Question, Quiz
from grader.quiz.bidi import shown
from grader.quiz.i18n import direction, points_label, ui
from grader.quiz.scoring import option_order

LETTERS = "abcdefghijklmnopqrstuvwxyz"
HELPER_ID = "quiz_helpers"

#: How an answer may be written, per question type and language (shown in the notebook and in
#: every message about an answer that could not be read).
FORMS: dict[str, dict[str, str]] = {
    "en": {
        "single": "one option letter as a string, e.g. 'b' (case and spaces do not matter)",
        "multiple": "the letters of every option you choose, as a list such as ['a', 'c'] or a "
        "string such as 'a, c' or 'A C'",
        "true_false": "True or False (or the strings 'true' and 'false', in any case)",
        "numeric": "a number, e.g. 0.5 (an int, a float, or a string such as '0.5' or '0,5')",
    },
    "he": {
        "single": "אות של אפשרות אחת כמחרוזת, למשל 'b' (אותיות גדולות או קטנות ורווחים לא משנים)",
        "multiple": "האותיות של כל האפשרויות שבחרתם, כרשימה כמו ['a', 'c'] או כמחרוזת כמו "
        "'a, c' או 'A C'",
        "true_false": "True או False (או המחרוזות 'true' ו-'false', באותיות גדולות או קטנות)",
        "numeric": "מספר, למשל 0.5 (מספר שלם, מספר עשרוני, או מחרוזת כמו '0.5' או '0,5')",
    },
}

#: What the answer check says, per language; {name} is the variable, {value} what it holds.
MESSAGES: dict[str, dict[str, str]] = {
    "en": {
        "read": "{name}: read as {value}.",
        "problem": "{name}: {reason}. Write {form}.",
        "missing": "not answered yet",
        "unknown": "{value} is not an option here (the options are {labels})",
        "several": "this question takes exactly one option, not {value}",
        "type": "a value of type {value} cannot be read as an answer",
        "number": "{value} is not a number",
        "truth": "{value} is neither true nor false",
    },
    "he": {
        "read": "{name}: התשובה נקראה כך: {value}.",
        "problem": "{name}: {reason}. התשובה צריכה להיות {form}.",
        "missing": "עדיין אין תשובה",
        "unknown": "{value} אינה אחת האפשרויות כאן (האפשרויות הן {labels})",
        "several": "בשאלה הזאת בוחרים אפשרות אחת בדיוק, לא {value}",
        "type": "אי אפשר לקרוא ערך מסוג {value} כתשובה",
        "number": "{value} אינו מספר",
        "truth": "{value} אינו true וגם לא false",
    },
}

#: The notebook's answer reader. It runs in the student's kernel (no import of this package),
#: never raises, and returns a frozenset of option letters, a float, or None (no usable answer,
#: after printing why and which forms are accepted).
HELPER_SOURCE = '''\
import math as _math
import re as _re
import warnings as _warnings

_QUIZ_MESSAGES = {messages}
_QUIZ_FORMS = {forms}
_QUIZ_TRUTH = {{"true": "true", "false": "false", "נכון": "true", "לא נכון": "false"}}


def _quiz_say(key, name, kind, **values):
    for lang, text in _QUIZ_MESSAGES.items():
        if key == "read":
            print(text["read"].format(name=name, **values))
        else:
            reason = text[key].format(**values)
            print(text["problem"].format(name=name, reason=reason, form=_QUIZ_FORMS[lang][kind]))


def _quiz_parse(kind, labels, value):
    """(answer, None) when the value is readable, else (None, (message key, values))."""
    shown = repr(value)[:60]
    if value is None or (isinstance(value, (list, tuple, set, frozenset)) and not value):
        return None, ("missing", {{}})
    if kind == "numeric":
        if isinstance(value, bool):
            return None, ("number", {{"value": shown}})
        try:
            number = float(value.strip().replace(",", ".") if isinstance(value, str) else value)
        except (TypeError, ValueError):
            return None, ("number", {{"value": shown}})
        return (number, None) if _math.isfinite(number) else (None, ("number", {{"value": shown}}))
    if kind == "true_false" and isinstance(value, (list, tuple)) and len(value) == 1:
        value = value[0]
    if kind == "true_false" and isinstance(value, bool):
        return frozenset([str(value).lower()]), None
    if isinstance(value, str):
        items = [t for t in _re.split(r"[\\s,;]+", value.strip()) if t]
        if kind == "true_false":
            items = [" ".join(items).lower()] if items else []
    elif isinstance(value, (list, tuple, set, frozenset)):
        items = list(value)
    else:
        return None, ("type", {{"value": type(value).__name__}})
    chosen = set()
    for item in items:
        if not isinstance(item, str):
            return None, ("type", {{"value": type(item).__name__}})
        key = item.strip().lower()
        key = _QUIZ_TRUTH.get(key, key) if kind == "true_false" else key
        if kind == "true_false" and key not in labels:
            return None, ("truth", {{"value": repr(item)[:60]}})
        if key not in labels:
            return None, ("unknown", {{"value": repr(item)[:60], "labels": ", ".join(labels)}})
        chosen.add(key)
    if not chosen:
        return None, ("missing", {{}})
    if kind != "multiple" and len(chosen) > 1:
        return None, ("several", {{"value": shown}})
    return frozenset(chosen), None


def _quiz_read(question, kind, labels=()):
    """Read answer_<question>; print what was understood, or why nothing could be."""
    name = "answer_" + question
    try:
        with _warnings.catch_warnings():  # a warning on stderr would cost the points
            _warnings.simplefilter("ignore")
            answer, problem = _quiz_parse(kind, tuple(labels), globals().get(name))
        if problem is None:
            shown = answer if kind == "numeric" else ", ".join(repr(x) for x in sorted(answer))
            _quiz_say("read", name, kind, value=shown)
            return answer
        _quiz_say(problem[0], name, kind, **problem[1])
    except Exception as error:  # an answer object that breaks even repr(): say so, score 0
        print(f"{{name}}: {{type(error).__name__}}: {{error}}")
    return None
'''


def assignment_name(quiz: Quiz) -> str:
    """The nbgrader assignment id of a quiz (``quiz-pre`` for ``frameworks-pre``)."""
    return quiz.nbgrader_assignment or f"quiz-{quiz.id}"


def display_options(quiz: Quiz, q: Question) -> list[tuple[str, Option]]:
    """The options of ``q`` in the notebook's order, each with the letter it is shown with.

    True/false questions keep ``true`` and ``false``; choice questions are shuffled once per
    assignment with the web's function and lettered a, b, c... in the order shown."""
    if q.type == "true_false":
        return [(o.id, o) for o in q.options]
    by_id = {o.id: o for o in q.options}
    order = option_order(quiz, q, f"notebook:{assignment_name(quiz)}")
    return [(LETTERS[i], by_id[option_id]) for i, option_id in enumerate(order)]


def notebook_answer(quiz: Quiz, q: Question, option_ids: list[str]) -> list[str]:
    """The notebook letters of the given bank option ids (how a student would type them)."""
    letter = {o.id: label for label, o in display_options(quiz, q)}
    return [letter[i] for i in option_ids]


def _meta(
    grade_id: str,
    *,
    solution: bool = False,
    grade: bool = False,
    locked: bool = False,
    points: float | None = None,
) -> dict:
    meta: dict = {
        "grade": grade,
        "grade_id": grade_id,
        "locked": locked,
        "schema_version": 3,
        "solution": solution,
    }
    if points is not None:
        meta["points"] = points
    return {"nbgrader": meta}


def _rtl(block: str, lang: str) -> str:
    return (
        f'<div dir="rtl" lang="{lang}">\n\n{block}\n\n</div>' if direction(lang) == "rtl" else block
    )


def _question_markdown(quiz: Quiz, q: Question, number: int) -> str:
    parts = []
    hint = {"multiple": "select_many", "true_false": "true_false", "numeric": "numeric"}.get(
        q.type, "select_one"
    )
    for lang in quiz.languages:
        lines = [
            f"**{number}.** {shown(q.text, lang)} ({points_label(q.points, lang)})",
            "",
            f"*{ui(lang)[hint]}*",
            "",
        ]
        for label, o in display_options(quiz, q):
            lines.append(f"- `{label!r}`: {shown(o.text, lang)}")
        parts.append(_rtl("\n".join(lines).rstrip(), lang))
    return "\n\n---\n\n".join(parts)


def _languages(quiz: Quiz) -> list[str]:
    return [lang for lang in quiz.languages if lang in MESSAGES] or ["en"]


def _example(q: Question) -> str:
    return FORMS["en"][q.type]


def _solution(quiz: Quiz, q: Question) -> str:
    if q.type == "numeric":
        return repr(q.answer)
    if q.type == "true_false":
        return repr(q.correct_ids[0] == "true")
    letters = sorted(notebook_answer(quiz, q, list(q.correct_ids)))
    return repr(letters) if q.type == "multiple" else repr(letters[0])


def helper_source(quiz: Quiz) -> str:
    """Source of the notebook's first code cell: the answer reader, in the quiz's languages."""
    langs = _languages(quiz)
    return HELPER_SOURCE.format(
        messages=pformat({lang: MESSAGES[lang] for lang in langs}, width=96, sort_dicts=False),
        forms=pformat({lang: FORMS[lang] for lang in langs}, width=96, sort_dicts=False),
    )


def check_source(quiz: Quiz, q: Question) -> str:
    """The visible part of a test cell: read the answer and say what was understood."""
    labels = tuple(label for label, _ in display_options(quiz, q))
    return f"_chosen = _quiz_read({q.id!r}, {q.type!r}, {labels!r})"


def scoring_source(quiz: Quiz, q: Question) -> str:
    """The hidden part of a test cell: evaluates to the points earned on ``q``.

    ``_chosen`` is what the visible part read (None when nothing usable). Mirrors
    grader.quiz.scoring: full points for the right option, the right set (all-or-nothing), or
    right-minus-wrong shares of the points; a number within the tolerance."""
    if q.type == "numeric":
        return (
            "_points = 0.0\n"
            "if type(_chosen) is float:\n"
            f"    _points = {q.points!r} if abs(_chosen - ({q.answer!r})) <= "
            f"{q.tolerance!r} + 1e-12 else 0.0\n"
            "_points"
        )
    correct = sorted(notebook_answer(quiz, q, list(q.correct_ids)))
    rule = quiz.policy.multiple_choice_rule if q.type == "multiple" else "all-or-nothing"
    lines = [
        "_points = 0.0",
        "if type(_chosen) is frozenset and all(type(x) is str for x in _chosen):",
        f"    _correct = frozenset({correct!r})",
    ]
    if rule == "right-minus-wrong":
        lines.append(
            f"    _points = round({q.points!r} * max(0.0, (len(_chosen & _correct) - "
            "len(_chosen - _correct)) / len(_correct)), 6)"
        )
    else:
        lines.append(f"    _points = {q.points!r} if _chosen == _correct else 0.0")
    lines.append("_points")
    return "\n".join(lines)


def _howto(quiz: Quiz) -> str:
    kinds = list(dict.fromkeys(q.type for q in quiz.questions))
    blocks = []
    for lang in _languages(quiz):
        forms = "\n".join(f"- {FORMS[lang][k]}" for k in kinds)
        if lang == "he":
            text = (
                "ענו על כל שאלה בתא הקוד שמתחתיה, בהשמה למשתנה `answer_<מזהה השאלה>` "
                "(למשל `answer_q06`). הצורות המקובלות:\n\n"
                f"{forms}\n\n"
                "הריצו קודם את תא הקוד הראשון; תא הבדיקה שאחרי כל תשובה אומר איך התשובה נקראה, "
                "אבל לא אם היא נכונה. הציון מחושב כשהמחברת נבדקת. סדר האפשרויות והאותיות שלהן "
                "במחברת אינם אלה שבאתר השאלונים."
            )
        else:
            text = (
                "Answer each question in the code cell below it by assigning the variable "
                "`answer_<question id>` (for example `answer_q06`). Accepted forms:\n\n"
                f"{forms}\n\n"
                "Run the first code cell first; the check cell after each answer says how your "
                "answer was read, not whether it is right. The grade is computed when the "
                "notebook is autograded. The order and letters of the options here are not "
                "those of the quiz web site."
            )
        blocks.append(_rtl(text, lang))
    return "\n\n---\n\n".join(blocks)


def render(quiz: Quiz) -> nbformat.NotebookNode:
    """The source notebook of a quiz (solutions and hidden tests included)."""
    intro = [
        _rtl(f"# {shown(quiz.title, lang)}\n\n{shown(quiz.description, lang)}".rstrip(), lang)
        for lang in quiz.languages
    ]
    cells = [
        new_markdown_cell(
            "\n\n---\n\n".join(intro) + "\n\n---\n\n" + _howto(quiz),
            metadata=_meta("intro", locked=True),
        ),
        new_code_cell(
            "# Reads your answers and says how it understood them. Run this cell first.\n"
            + helper_source(quiz),
            metadata=_meta(HELPER_ID, locked=True),
        ),
    ]
    for number, q in enumerate(quiz.questions, 1):
        cells.append(
            new_markdown_cell(
                _question_markdown(quiz, q, number), metadata=_meta(f"text_{q.id}", locked=True)
            )
        )
        cells.append(
            new_code_cell(
                f"# {q.id}: {_example(q)}\n### BEGIN SOLUTION\n"
                f"answer_{q.id} = {_solution(quiz, q)}\n### END SOLUTION",
                metadata=_meta(f"answer_{q.id}", solution=True),
            )
        )
        cells.append(
            new_code_cell(
                f"# Says how answer_{q.id} was read; the points are computed at grading.\n"
                + check_source(quiz, q)
                + "\n### BEGIN HIDDEN TESTS\n"
                + scoring_source(quiz, q)
                + "\n### END HIDDEN TESTS",
                metadata=_meta(f"test_{q.id}", grade=True, locked=True, points=q.points),
            )
        )
    for cell in cells:  # stable ids, so that re-rendering an unchanged bank changes nothing
        cell["id"] = cell.metadata["nbgrader"]["grade_id"].replace("_", "-")
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {
        "display_name": "Python 3",
        "language": "python",
        "name": "python3",
    }
    nb.metadata["language_info"] = {"name": "python"}
    nb.metadata["quiz"] = {"id": quiz.id, "languages": list(quiz.languages)}
    return nb


def write_assignment(quiz: Quiz, source_dir: Path) -> Path:
    """Write ``<source_dir>/<assignment>/<assignment>.ipynb``; return its path."""
    name = assignment_name(quiz)
    folder = source_dir / name
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.ipynb"
    nb = render(quiz)
    nbformat.validate(nb)
    text = json.dumps(nb, indent=1, ensure_ascii=False, sort_keys=True) + "\n"
    path.write_text(text, encoding="utf-8")
    return path


def fill_answers(nb: nbformat.NotebookNode, answers: Mapping[str, object]) -> nbformat.NotebookNode:
    """Put answers into the answer cells of a (released) quiz notebook, as a student would type
    them (``repr`` of each value, or the text itself for a ``Typed`` value); questions without
    an answer keep their cell unchanged. Used by tests and demos."""
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution") and meta.get("grade_id", "").startswith("answer_"):
            qid = meta["grade_id"][len("answer_") :]
            if qid in answers:
                value = answers[qid]
                source = value.source if isinstance(value, Typed) else repr(value)
                cell.source = f"answer_{qid} = {source}"
    return nb


class Typed:
    """An answer given as the Python source a student types (``Typed("('a', 'c')")``)."""

    def __init__(self, source: str) -> None:
        self.source = source

    def __repr__(self) -> str:
        return f"Typed({self.source!r})"
