"""The Hebrew course: complete, current translations that change no code, built all or nothing."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import nbformat
import polib
import pytest

from grader import cli, course
from grader.checks import messages
from grader.engine import words
from grader.i18n import TranslationError
from grader.i18n.build import build_translations, translate_file
from grader.i18n.catalog import catalog_path, new_catalog, update_catalog
from grader.i18n.codecompare import code_difference
from grader.i18n.extract import cell_key, notebook_parts
from grader.i18n.render import language_snippet
from grader.i18n.tokens import has_hebrew

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = [(a, n) for a, names in course.COURSE.items() for n in names]
HEBREW = re.compile(r"[\u0590-\u05ff]")


def _ids(pairs: list[tuple[str, str]]) -> list[str]:
    return [name for _, name in pairs]


def _read(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)


@pytest.mark.parametrize(("assignment", "name"), NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_translation_is_complete_and_current(assignment: str, name: str) -> None:
    """No part missing, stale, fuzzy or untranslated; code tokens kept; the code unchanged."""
    notebook, problems = translate_file(ROOT, assignment, name, "he")
    assert not problems, "\n".join(map(str, problems))
    assert notebook is not None


@pytest.mark.parametrize(("assignment", "name"), NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_committed_hebrew_source_is_a_fresh_build(assignment: str, name: str) -> None:
    fresh, _ = translate_file(ROOT, assignment, name, "he")
    committed = _read(ROOT / "source" / f"{assignment}-he" / f"{name}.ipynb")
    assert fresh == committed, f"source/{assignment}-he is stale: run `make release`"


@pytest.mark.parametrize(("assignment", "name"), NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_hebrew_notebook_keeps_cells_points_and_code(assignment: str, name: str) -> None:
    english = _read(ROOT / "source" / assignment / f"{name}.ipynb")
    hebrew = _read(ROOT / "source" / f"{assignment}-he" / f"{name}.ipynb")
    assert hebrew.metadata["grader"]["language"] == "he"
    assert len(english.cells) == len(hebrew.cells)
    first_code = True
    for en, he in zip(english.cells, hebrew.cells, strict=True):
        key = cell_key(en)
        assert (he.cell_type, he.get("id"), he.metadata) == (
            en.cell_type,
            en.get("id"),
            en.metadata,
        )
        if en.cell_type == "code":
            expected = en.source
            if first_code:
                expected = expected.rstrip("\n") + "\n\n" + language_snippet("he")
                first_code = False
            assert code_difference(expected, he.source) is None, key
        elif en.cell_type == "markdown" and any(
            p.kind == "markdown" for p in notebook_parts_of(en)
        ):
            assert has_hebrew(he.source), f"{name}: markdown cell {key} has no Hebrew"
            assert '<div dir="rtl" lang="he">\n\n' in he.source, key


def notebook_parts_of(cell: nbformat.NotebookNode) -> list:
    return notebook_parts(nbformat.v4.new_notebook(cells=[cell]))


def test_no_hebrew_reaches_a_student_of_the_english_course() -> None:
    """English notebooks, their release and the checks' English messages hold no Hebrew."""
    for folder in ("source", "release"):
        for assignment in course.COURSE:
            for path in (ROOT / folder / assignment).glob("*.ipynb"):
                assert not HEBREW.search(path.read_text(encoding="utf-8")), path
    for template in [*messages.MESSAGES.values(), *words.MESSAGES.values()]:
        assert not HEBREW.search(template["en"]), template
    for module in (ROOT / "grader" / "checks").glob("*.py"):
        if module.name != "messages.py":
            assert not HEBREW.search(module.read_text(encoding="utf-8")), module


def test_checks_speak_the_language_they_are_told() -> None:
    """set_language("he") picks the Hebrew template; English stays the default and the fallback."""
    try:
        messages.MESSAGES["test-greeting"] = {"en": "hello {who}", "he": "שלום {who}"}
        assert messages.say("test-greeting", who="x") == "hello x"
        messages.set_language("he")
        # right to left: the message and each value are Unicode isolates (RLI, FSI ... PDI)
        assert messages.say("test-greeting", who="x") == "\u2067שלום \u2068x\u2069\u2069"
        with pytest.raises(ValueError, match="unsupported language"):
            messages.set_language("fr")
    finally:
        messages.MESSAGES.pop("test-greeting")
        messages.set_language("en")


# --- the machinery, on a scratch copy of one real notebook and its translation -----------------


@pytest.fixture
def scratch(tmp_path: Path) -> Path:
    """A course directory with the Overfitting notebook and its Hebrew PO file."""
    (tmp_path / "source").mkdir()
    shutil.copytree(ROOT / "source" / "overfitting", tmp_path / "source" / "overfitting")
    po = catalog_path(tmp_path, "he", "Overfitting")
    po.parent.mkdir(parents=True)
    shutil.copyfile(catalog_path(ROOT, "he", "Overfitting"), po)
    return tmp_path


def _edit_po(root: Path, context: str, change) -> None:
    path = catalog_path(root, "he", "Overfitting")
    catalog = polib.pofile(str(path))
    entry = next(e for e in catalog if e.msgctxt == context)
    change(entry)
    catalog.save(str(path))


def _release_fails(root: Path, capsys: pytest.CaptureFixture[str]) -> str:
    """`grader release` on ``root``: must exit 1 and leave source/ and release/ untouched."""
    before = sorted(str(p.relative_to(root)) for p in root.rglob("*") if "locale" not in p.parts)
    status = cli.main(["release", "overfitting", "--root", str(root)])
    after = sorted(str(p.relative_to(root)) for p in root.rglob("*") if "locale" not in p.parts)
    assert status == 1
    assert after == before, "a failed release wrote something"
    return capsys.readouterr().err


def test_scratch_course_builds(scratch: Path) -> None:
    assert build_translations(scratch, ["overfitting"]) == ["overfitting-he"]
    hebrew = _read(scratch / "source" / "overfitting-he" / "Overfitting.ipynb")
    assert hebrew.metadata["grader"]["language"] == "he"
    assert not list(scratch.glob(".translations-*")), "the staging folder was left behind"


def test_missing_translation_file_stops_release(scratch: Path, capsys) -> None:
    catalog_path(scratch, "he", "Overfitting").unlink()
    err = _release_fails(scratch, capsys)
    assert "overfitting/Overfitting.ipynb (he)" in err and "Overfitting.po is missing" in err


def test_malformed_translation_file_stops_release(scratch: Path, capsys) -> None:
    path = catalog_path(scratch, "he", "Overfitting")
    text = path.read_text(encoding="utf-8").replace('msgctxt "summary#0"', "<<<<<<< HEAD\n", 1)
    path.write_text(text, encoding="utf-8")  # a merge conflict left in the file
    err = _release_fails(scratch, capsys)
    assert "Overfitting.po is malformed" in err


def test_changed_code_token_stops_release(scratch: Path, capsys) -> None:
    _edit_po(
        scratch,
        "md-epochs#4",
        lambda e: setattr(e, "msgstr", e.msgstr.replace("`best_epoch", "`best")),
    )
    err = _release_fails(scratch, capsys)
    assert "cell 'md-epochs'" in err and "`best_epoch(val_losses)` is missing or changed" in err


def test_changed_placeholder_stops_release(scratch: Path, capsys) -> None:
    _edit_po(
        scratch,
        "test-bias-variance#0",
        lambda e: setattr(e, "msgstr", e.msgstr.replace("{(b2, var)}", "{b2}")),
    )
    err = _release_fails(scratch, capsys)
    assert "cell 'test-bias-variance'" in err and "{(b2, var)} is missing or changed" in err


def test_translation_that_breaks_a_string_stops_release(scratch: Path, capsys) -> None:
    _edit_po(scratch, "test-best-epoch#1", lambda e: setattr(e, "msgstr", 'בשוויון " הראשון'))
    err = _release_fails(scratch, capsys)
    assert "cell 'test-best-epoch': part 1 (message)" in err and "own quote" in err


def test_fuzzy_and_untranslated_stop_release(scratch: Path, capsys) -> None:
    _edit_po(scratch, "summary#0", lambda e: e.flags.append("fuzzy"))
    _edit_po(scratch, "intro#0", lambda e: setattr(e, "msgstr", ""))
    err = _release_fails(scratch, capsys)
    assert "cell 'summary': part 0 (markdown) is fuzzy" in err
    assert "cell 'intro': part 0 (markdown) is not translated" in err


def test_markdown_without_hebrew_stops_release(scratch: Path, capsys) -> None:
    _edit_po(scratch, "summary#0", lambda e: setattr(e, "msgstr", "## Summary"))
    _edit_po(scratch, "summary#1", lambda e: setattr(e, "msgstr", e.msgid))
    err = _release_fails(scratch, capsys)
    assert "cell 'summary': the translated markdown has no Hebrew text" in err


def test_editing_a_cell_makes_exactly_its_translation_stale(scratch: Path, capsys) -> None:
    """The English changes in one cell: update marks that part fuzzy, keeps the rest; release
    refuses until the translator has reviewed it."""
    path = scratch / "source" / "overfitting" / "Overfitting.ipynb"
    notebook = _read(path)
    cell = next(c for c in notebook.cells if cell_key(c) == "md-tradeoff")
    cell.source = cell.source.replace("100 noisy samples", "200 noisy samples")
    nbformat.write(notebook, path)
    with pytest.raises(TranslationError, match=r"md-tradeoff': part 0 .* is stale"):
        build_translations(scratch, ["overfitting"])

    catalog = polib.pofile(str(catalog_path(scratch, "he", "Overfitting")))
    changes = update_catalog(catalog, notebook_parts(notebook))
    assert changes.stale == ["md-tradeoff#0"] and not changes.added and not changes.obsolete
    entry = next(e for e in catalog if e.msgctxt == "md-tradeoff#0")
    assert "fuzzy" in entry.flags and "100 noisy samples" in entry.previous_msgid
    assert entry.msgstr, "the old translation is kept for the translator to review"
    catalog.save(str(catalog_path(scratch, "he", "Overfitting")))
    err = _release_fails(scratch, capsys)
    assert err.count("is fuzzy") == 1 and "md-tradeoff" in err


def test_update_adds_new_parts_and_retires_removed_ones() -> None:
    notebook = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_markdown_cell("# Title\n\nFirst paragraph.", id="a"),
            nbformat.v4.new_code_cell('x = 1  # set x\nassert x, "x is set"', id="b"),
        ]
    )
    catalog = new_catalog("source/demo/Demo.ipynb", "he")
    first = update_catalog(catalog, notebook_parts(notebook))
    assert first.added == ["a#0", "a#1", "b#0", "b#1"]
    for entry in catalog:
        entry.msgstr = "תרגום"
    notebook.cells[0].source = "# Title\n\nA new paragraph.\n\nFirst paragraph."
    notebook.cells.pop()
    second = update_catalog(catalog, notebook_parts(notebook))
    assert second.stale == ["a#1"] and second.obsolete == ["b#0", "b#1"] and not second.added
    assert "fuzzy" in next(e for e in catalog if e.msgctxt == "a#1").flags
    moved = next(e for e in catalog if e.msgctxt == "a#2")
    assert moved.msgstr == "תרגום" and "fuzzy" not in moved.flags  # found again, unchanged text


def test_code_comparison_sees_a_renamed_identifier() -> None:
    english = 'def f(x):\n    """Add one."""\n    return x + 1  # one more\n'
    assert (
        code_difference(english, 'def f(x):\n    """מוסיפה אחד."""\n    return x + 1  # עוד אחד\n')
        is None
    )
    assert code_difference(english, 'def f(y):\n    """Add one."""\n    return y + 1\n')
    assert code_difference(english, 'def f(x):\n    """Add one."""\n    return x + 2\n')


def test_released_hebrew_notebooks_match_source(tmp_path: Path) -> None:
    """The Hebrew release holds the Hebrew stubs and no solution."""
    for assignment in course.COURSE:
        for path in (ROOT / "release" / f"{assignment}-he").glob("*.ipynb"):
            text = json.loads(path.read_text(encoding="utf-8"))
            sources = "".join("".join(c["source"]) for c in text["cells"])
            assert "BEGIN SOLUTION" not in sources and "BEGIN HIDDEN TESTS" not in sources
            assert "YOUR CODE HERE" not in sources, path
            assert text["metadata"]["grader"]["language"] == "he"


@pytest.mark.parametrize("catalog", [messages.MESSAGES, words.MESSAGES], ids=["checks", "engine"])
def test_every_message_has_hebrew_with_the_same_fields(catalog: dict[str, dict[str, str]]) -> None:
    """Each message of the checks (in the kernel) and of the engine's verdicts comes in English
    and Hebrew, with the same fields."""
    import string

    def fields(template: str) -> list[str]:
        return sorted(f for _, f, _, _ in string.Formatter().parse(template) if f)

    assert catalog
    for key, templates in catalog.items():
        assert set(templates) == set(messages.SUPPORTED), key
        words_in_it = re.sub(r"\{[^}]*\}", "", templates["en"])  # a template of fields alone
        if re.search(r"[A-Za-z]", words_in_it):  # ("{check}: {problem}") has nothing to translate
            assert HEBREW.search(templates["he"]), f"{key}: the Hebrew template has no Hebrew"
        assert fields(templates["he"]) == fields(templates["en"]), key


def test_changed_number_stops_release(scratch: Path, capsys) -> None:
    """A decimal number (a bar, an expected value) must read the same in the translation."""
    _edit_po(
        scratch, "test-poly-fit#1", lambda e: setattr(e, "msgstr", e.msgstr.replace("2.0", "2.5"))
    )
    err = _release_fails(scratch, capsys)
    assert "cell 'test-poly-fit': part 1 (message)" in err and "2.0 is missing or changed" in err


def test_a_failing_check_speaks_the_notebooks_language() -> None:
    """The same failure, worded by a real check: English by default, Hebrew once the notebook's
    first cell has called set_language("he")."""
    from grader import checks

    plain = ([1.0] * 8, [2.0] * 8)  # a gap of 1.0
    not_narrowed = ([1.0] * 8, [1.95] * 8)

    def failure() -> str:
        with pytest.raises(checks.CheckFailed) as caught:
            checks.check_gap_narrowed("regularize", plain, not_narrowed, max_ratio=0.8)
        return str(caught.value)

    try:
        english = failure()
        assert "the gap between validation and training loss" in english
        assert not HEBREW.search(english)
        checks.set_language("he")
        hebrew = failure()
        assert "הפער בין אובדן הוולידציה לאובדן האימון" in hebrew and "80%" in hebrew
    finally:
        checks.set_language("en")
