"""Render a quiz as an nbgrader source assignment: one answer cell per question, hidden tests.

Each question becomes a locked markdown cell (English and Hebrew, with the option ids), an
autograded answer cell (``answer_<id> = ...``, the instructor's solution between nbgrader's
solution markers) and a locked test cell whose hidden part computes the points with the same
rule as the web (the cell's last value is the score, which nbgrader takes as partial credit).
Options are listed in bank order: a notebook is the same for every student.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from grader.quiz.bank import Question, Quiz, text_in
from grader.quiz.i18n import direction, ui

ENGLISH = "en"


def assignment_name(quiz: Quiz) -> str:
    """The nbgrader assignment id of a quiz (``quiz-pre`` for ``frameworks-pre``)."""
    return quiz.nbgrader_assignment or f"quiz-{quiz.id}"


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


def _question_markdown(quiz: Quiz, q: Question, number: int) -> str:
    parts = []
    for lang in quiz.languages:
        hint = {"multiple": "select_many", "true_false": "true_false", "numeric": "numeric"}.get(
            q.type, "select_one"
        )
        lines = [
            f"**{number}.** {text_in(q.text, lang)} ({q.points:g} {ui(lang)['points']})",
            "",
            f"*{ui(lang)[hint]}*",
            "",
        ]
        for o in q.options:
            lines.append(f"- `{o.id!r}`: {text_in(o.text, lang)}")
        block = "\n".join(lines).rstrip()
        if direction(lang) == "rtl":
            block = f'<div dir="rtl" lang="{lang}">\n\n{block}\n\n</div>'
        parts.append(block)
    return "\n\n---\n\n".join(parts)


def _example(q: Question) -> str:
    if q.type == "numeric":
        return "a number, e.g. 0.5"
    if q.type == "multiple":
        return "a list of option ids, e.g. ['a', 'c']"
    return "one option id as a string, e.g. 'a'" if q.type == "single" else "'true' or 'false'"


def _solution(q: Question) -> str:
    if q.type == "numeric":
        return repr(q.answer)
    if q.type == "multiple":
        return repr(list(q.correct_ids))
    return repr(q.correct_ids[0])


def scoring_source(quiz: Quiz, q: Question) -> str:
    """Python source of a hidden test: evaluates to the points earned on ``q``.

    Mirrors grader.quiz.scoring: a single option id or a one-element list both count for single
    and true/false questions; a wrong type or an unknown option scores 0."""
    var = f"answer_{q.id}"
    if q.type == "numeric":
        return (
            f"_a = globals().get({var!r})\n"
            "try:\n"
            "    _a = float(str(_a).replace(',', '.')) if _a is not None else None\n"
            "except ValueError:\n"
            "    _a = None\n"
            f"_points = {q.points!r} if _a is not None and abs(_a - ({q.answer!r})) <= "
            f"{q.tolerance!r} + 1e-12 else 0.0\n"
            "_points"
        )
    correct = sorted(q.correct_ids)
    options = sorted(o.id for o in q.options)
    rule = quiz.policy.multiple_choice_rule if q.type == "multiple" else "all-or-nothing"
    lines = [
        f"_a = globals().get({var!r})",
        "_a = [_a] if isinstance(_a, str) else _a",
        "_ok = isinstance(_a, (list, tuple, set)) and all(isinstance(x, str) for x in _a)",
        "_chosen = set(_a) if _ok else set()",
        f"_correct, _options = set({correct!r}), set({options!r})",
        "_valid = _ok and _chosen <= _options"
        + (" and len(_chosen) <= 1" if q.type != "multiple" else ""),
    ]
    if rule == "right-minus-wrong":
        lines.append(
            f"_points = round({q.points!r} * max(0.0, (len(_chosen & _correct) - "
            "len(_chosen - _correct)) / len(_correct)), 6) if _valid else 0.0"
        )
    else:
        lines.append(f"_points = {q.points!r} if _valid and _chosen == _correct else 0.0")
    lines.append("_points")
    return "\n".join(lines)


def render(quiz: Quiz) -> nbformat.NotebookNode:
    """The source notebook of a quiz (solutions and hidden tests included)."""
    intro = []
    for lang in quiz.languages:
        block = f"# {text_in(quiz.title, lang)}\n\n{text_in(quiz.description, lang)}".rstrip()
        if direction(lang) == "rtl":
            block = f'<div dir="rtl" lang="{lang}">\n\n{block}\n\n</div>'
        intro.append(block)
    howto = (
        "Answer each question in the code cell below it by assigning the variable "
        "`answer_<question id>`: "
        + "; ".join(
            sorted({f"{t}: {e}" for t, e in ((q.type, _example(q)) for q in quiz.questions)})
        )
        + ". Run the cell; the grade is computed when the notebook is autograded."
    )
    cells = [
        new_markdown_cell(
            "\n\n---\n\n".join(intro) + "\n\n" + howto, metadata=_meta("intro", locked=True)
        )
    ]
    for number, q in enumerate(quiz.questions, 1):
        cells.append(
            new_markdown_cell(
                _question_markdown(quiz, q, number), metadata=_meta(f"text_{q.id}", locked=True)
            )
        )
        cells.append(
            new_code_cell(
                f"# {q.id}: {_example(q)}\n### BEGIN SOLUTION\nanswer_{q.id} = {_solution(q)}\n"
                "### END SOLUTION",
                metadata=_meta(f"answer_{q.id}", solution=True),
            )
        )
        cells.append(
            new_code_cell(
                f"# Checks the answer to {q.id} when the notebook is graded.\n"
                "### BEGIN HIDDEN TESTS\n" + scoring_source(quiz, q) + "\n### END HIDDEN TESTS",
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
    them; questions without an answer keep their cell unchanged. Used by tests and demos."""
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution") and meta.get("grade_id", "").startswith("answer_"):
            qid = meta["grade_id"][len("answer_") :]
            if answers.get(qid) is not None:
                cell.source = f"answer_{qid} = {answers[qid]!r}"
    return nb
