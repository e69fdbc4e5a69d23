"""One Hebrew form per term: docs/glossary.md lists, per term, the variants that must not be used,
and no Hebrew text a student reads (the notebooks' PO files, the checks' messages) uses one."""

from __future__ import annotations

import re
from pathlib import Path

import polib
import yaml

from grader.checks import messages
from grader.engine import words

ROOT = Path(__file__).resolve().parents[1]
GLOSSARY = ROOT / "docs" / "glossary.md"
_PREFIX = "[ובלמשהכ]{0,3}"
_LETTER = "\u05d0-\u05ea"


def forbidden_forms(text: str) -> dict[str, str]:
    """The glossary's forbidden variants: variant -> the term's one Hebrew form."""
    terms = text.split("## Terms", 1)[1]
    forms: dict[str, str] = {}
    for line in terms.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 4 or cells[0] in ("English", "---"):
            continue
        for variant in filter(None, (v.strip() for v in cells[2].split(";"))):
            forms[variant] = cells[1]
    return forms


def uses(variant: str, text: str) -> bool:
    """Whether ``text`` holds ``variant`` as whole words, a prefix letter allowed before it."""
    pattern = rf"(?<![{_LETTER}]){_PREFIX}{re.escape(variant)}(?![{_LETTER}])"
    return re.search(pattern, text) is not None


def violations(texts: dict[str, str]) -> list[str]:
    """'where: variant (use form)' for every forbidden variant found in ``texts``."""
    forms = forbidden_forms(GLOSSARY.read_text(encoding="utf-8"))
    return [
        f"{where}: {variant!r} (the glossary's form: {form})"
        for where, text in texts.items()
        for variant, form in forms.items()
        if uses(variant, text)
    ]


def _po_texts() -> dict[str, str]:
    texts = {}
    for path in sorted((ROOT / "locale" / "he").glob("*.po")):
        for entry in polib.pofile(str(path)):
            if not entry.obsolete:
                texts[f"{path.name} {entry.msgctxt}"] = entry.msgstr
    return texts


def _hebrew_strings(node: object, where: str) -> dict[str, str]:
    """Every string under a ``he`` key of a quiz file, by its place in the file."""
    found: dict[str, str] = {}
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "he" and isinstance(value, str):
                found[where] = value
            else:
                found.update(_hebrew_strings(value, f"{where}/{key}"))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            found.update(_hebrew_strings(value, f"{where}[{i}]"))
    return found


def test_glossary_lists_forbidden_variants() -> None:
    forms = forbidden_forms(GLOSSARY.read_text(encoding="utf-8"))
    assert forms["תוויות שלמות"] == "תוויות שהן מספרים שלמים"
    assert forms["חלוקה חבויה"].startswith("קבוצה חבויה")
    assert len(forms) >= 40


def test_variant_matching_takes_prefixes_and_whole_words() -> None:
    assert uses("תוויות שלמות", "ב-PyTorch עם ותוויות שלמות.")
    assert uses("דגימה", "לכל דגימה")
    assert not uses("דגימה", "הדגימהות")  # not a whole word
    assert not uses("מנה", "נאמנה")  # a variant inside another word


def test_notebooks_and_messages_use_the_glossary_terms() -> None:
    texts = _po_texts()
    texts.update({f"messages.py {key}": t["he"] for key, t in messages.MESSAGES.items()})
    texts.update({f"engine/words.py {key}": t["he"] for key, t in words.MESSAGES.items()})
    assert len(texts) > 400
    found = violations(texts)
    assert not found, "\n".join(found)


def test_quizzes_use_the_glossary_terms() -> None:
    texts: dict[str, str] = {}
    for path in sorted((ROOT / "quizzes").glob("*.yaml")):
        texts.update(_hebrew_strings(yaml.safe_load(path.read_text(encoding="utf-8")), path.name))
    assert texts
    found = violations(texts)
    assert not found, "\n".join(found)
