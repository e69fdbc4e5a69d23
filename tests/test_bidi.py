"""Right to left that renders: every value in a Hebrew check message, comment or string comes out
of the Unicode bidirectional algorithm (python-bidi) in one piece, in the left-to-right output
and editor of JupyterLab; a translation that would break that stops the build."""

from __future__ import annotations

import shutil
import string
from pathlib import Path
from typing import Any

import pytest

from grader.checks import messages
from grader.engine import words
from grader.i18n.bidi import embed_line, misplaced_values, visual
from grader.i18n.build import translate_file

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = Path(__file__).parent / "fixtures" / "bidi"

#: A sample for each field of the catalog: shapes, lists, floats, code names, grade ids.
SAMPLES: dict[str, Any] = {
    "check": "test-shape",
    "what": "optimizer.zero_grad()",
    "reason": "could not convert string to float: 'a'",
    "kind": "list",
    "name": "w",
    "want": (5, 2),
    "got": (3, 2),
    "shape": (5, 2),
    "count": 64,
    "score": 0.8123,
    "threshold": 0.92,
    "wanted": "cuda:0",
    "strays": "'cpu', 'meta'",
    "picked": "cpu",
    "error": "RuntimeError: Expected all tensors to be on the same device",
    "number": 3,
    "plain": 0.512,
    "regularized": 0.498,
    "ratio": 0.8,
    "residual": 2.5e-07,
    "size": 0.031,
    "wrong": 2,
    "total": 10,
    "first": (0, 1),
    "largest": [4, 2],
    "tol": 1e-05,
    "error_rel": 0.0123,
    # the engine's verdicts (grader.engine.words)
    "worst": 1.25,
    "dataset": "digits",
    "accuracy": 0.8512,
    "situation": "when_available",
    "max_ratio": 0.8,
    "network": "relu_relu_softmax",
    "problem": "y: shape (3,)",
    "found": "numpy.allclose replaced",
    "limit": 20971520,
    "byte": "0xff",
    "offset": 3,
    "line": 2,
    "column": 7,
    "version": 3,
    "position": 4,
    "cell_id": "a1b2",
    "grade_id": "test-train-step",
    "cell_type": "code",
    "seconds": 120,
    "cell": "train-model",
    "index": 12,
    "log": "ModuleNotFoundError: No module named 'torch'",
    "signal": "SIGTERM",
    "code": 3,
    "calls": "sys.exit, os._exit, exit()",
    # what the integrity probe found (grader.engine.tamper)
    "target": "grader.evidence.to_payload",
    "origin": "/tmp/ipykernel_12/3021.py",
    "cls": "Payload",
    "module": "__main__",
    "exception": "ZeroDivisionError",
    "callback": "post_run_cell: __main__.hook",
}
#: Fields that hold another message of the catalog (already isolated as a whole).
NESTED = {
    "forms": ("accepted-forms", {}),
    "hint": ("expected-hint", {"want": [0.5, 1.0]}),
    "how": ("differs-by-about", {"size": 0.031}),
    "where": ("at-point", {"number": 2}),
}


def _fill(template: str) -> tuple[dict[str, Any], list[str]]:
    """Sample fields for ``template`` and the texts of its values as they must show."""
    fields: dict[str, Any] = {}
    shown: list[str] = []
    formatter = string.Formatter()
    for _, field, spec, conversion in formatter.parse(template):
        if not field:
            continue
        if field in NESTED:
            key, inner = NESTED[field]
            fields[field] = messages.say(key, **inner)
            template_inner = messages.MESSAGES[key]["he"]
            shown += [
                format(inner[f], s)
                for _, f, s, _ in formatter.parse(template_inner)
                if f and f in inner
            ]
            continue
        value = SAMPLES[field]
        if field == "error" and spec:
            value = SAMPLES["error_rel"]
        fields[field] = value
        converted = formatter.convert_field(value, conversion) if conversion else value
        shown.append(format(converted, spec or ""))
    return fields, shown


@pytest.fixture
def hebrew() -> Any:
    messages.set_language("he")
    yield
    messages.set_language("en")


def test_every_hebrew_message_shows_its_values_intact(hebrew: None) -> None:
    """Each template, filled with samples, laid out in Jupyter's left-to-right output."""
    checked = 0
    for key, templates in messages.MESSAGES.items():
        fields, shown = _fill(templates["he"])
        text = messages.say(key, **fields)
        line = visual(text, "L")
        for value in shown:
            assert value in line, f"{key}: {value!r} is not intact in {line!r}"
            checked += 1
    assert checked > 60


def test_every_hebrew_verdict_of_the_engine_shows_its_values_intact() -> None:
    """The engine's words to a Hebrew student (the hidden parts of tests), filled with samples,
    laid out in the feedback's left-to-right message column."""
    checked = 0
    for key, templates in words.MESSAGES.items():
        fields, shown = _fill(templates["he"])
        line = visual(words.say("he", key, **fields), "L")
        for value in shown:
            assert value in line, f"{key}: {value!r} is not intact in {line!r}"
            checked += 1
    assert checked > 40


def test_without_isolates_the_values_turn_around() -> None:
    """The failure the isolates prevent: a Hebrew sentence reverses a shape."""
    plain = messages.MESSAGES["value-shape"]["he"].format(
        check="test-shape", name="w", want=(5, 2), got=(3, 2)
    )
    assert "(5, 2)" not in visual(plain, "L")
    assert misplaced_values(plain, ["(5, 2)", "(3, 2)"], "L") == ["(5, 2)", "(3, 2)"]


def test_a_hebrew_comment_keeps_its_trailing_values() -> None:
    comment = "מכפלת מטריצה בווקטור: צורה (2,), ולא (3, 2)"
    assert "(3, 2)" not in visual(comment, "L")
    shown = visual(embed_line(comment), "L")
    assert "(2,)" in shown and "(3, 2)" in shown
    assert embed_line("int32") == "int32"  # no Hebrew, nothing to embed


def test_hebrew_code_cells_show_their_values_intact() -> None:
    """Every Hebrew line of a code cell in the built notebooks, as the editor lays it out."""
    count = 0
    for path in sorted((ROOT / "source").glob("*-he/*.ipynb")):
        import nbformat

        notebook = nbformat.read(path, as_version=4)
        for cell in notebook.cells:
            if cell.cell_type != "code":
                continue
            for line in cell.source.split("\n"):
                if "\u202b" in line:
                    inner = line[line.index("\u202b") :]
                    values = [v for v in inner.split("\u202a")[1:]]
                    values = [v.split("\u202c")[0] for v in values]
                    assert not misplaced_values(inner, values, "L"), (path.name, line)
                    count += 1
    assert count > 100


def test_a_po_file_that_moves_or_drops_a_value_stops_the_build(tmp_path: Path) -> None:
    """The fixture's PO file drops an inline code span and moves a field out of its isolate."""
    shutil.copytree(FIXTURE, tmp_path, dirs_exist_ok=True)
    notebook, problems = translate_file(tmp_path, "demo", "Demo", "he")
    assert notebook is None
    said = [str(p) for p in problems]
    assert any(
        "demo/Demo.ipynb (he): cell 'intro': part 0 (markdown)" in p
        and "`(n, 2)` is missing or changed" in p
        for p in said
    ), said
    assert any("cell 'test-shape': part 1 (message)" in p and "U+2068" in p for p in said), said
    assert not any("part 0 (comment)" in p for p in said), said  # the sound part passes
