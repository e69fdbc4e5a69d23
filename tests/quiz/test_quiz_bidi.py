"""Hebrew quiz texts laid out by the Unicode bidirectional algorithm (python-bidi), as a browser
or Jupyter lays them out: every piece of code, maths, shape and number must read left to right
as written once ``grader.quiz.bidi.isolate`` has wrapped it, inside right-to-left sentences."""

from __future__ import annotations

import re

import pytest
from bidi import get_display

from grader.quiz.bidi import LRI, PDI, isolate, ltr_runs, shown
from tests.quiz.test_quiz_bank import all_texts

#: What must stay intact, found independently of the isolation code: backquoted code, calls
#: (one level of nested brackets), dotted names, keyword arguments, shapes and numbers.
ATOMS = [
    re.compile(r"`[^`]+`"),
    re.compile(r"[A-Za-z_@][\w.@]*\((?:[^()]|\([^()]*\))*\)"),
    re.compile(r"[A-Za-z_]\w*(?:\.\w+)+"),
    re.compile(r"\w+=(?:\"[^\"]*\"|'[^']*'|\w+)"),
    re.compile(r"[(\[][−\d][\d.,\s−]*[)\]]"),
    re.compile(r"−?\d+(?:[.,]\d+)*"),
]
MARKS = dict.fromkeys(map(ord, "\u200e\u200f\u2066\u2067\u2068\u2069"))


def atoms(text: str) -> set[str]:
    """The code, maths and numbers of ``text`` that a reader must see as written."""
    return {m.group().translate(MARKS) for pattern in ATOMS for m in pattern.finditer(text)}


def visual(text: str) -> str:
    """``text`` in display order, left to right, in a right-to-left paragraph (marks removed)."""
    return get_display(text, base_dir="R").translate(MARKS)


def hebrew_texts(bank) -> list[tuple[str, str]]:
    out = []
    for quiz in bank.values():
        out += [
            (f"{quiz.id} title", quiz.title["he"]),
            (f"{quiz.id} description", quiz.description["he"]),
        ]
        out += [(f"{quiz.id} {qid} {where}", t["he"]) for qid, where, t, _ in all_texts(quiz)]
    return out


def test_every_hebrew_quiz_text_shows_its_code_and_numbers_intact(bank):
    texts = hebrew_texts(bank)
    checked = 0
    for where, text in texts:
        shown_text = visual(isolate(text, "he"))
        for atom in atoms(text):
            assert atom in shown_text, f"{where}: {atom!r} is not intact in {shown_text!r}"
            checked += 1
    assert len(texts) > 250 and checked > 200


def test_without_isolation_the_same_texts_break(bank):
    """The check above can fail: laid out raw, code and shapes reverse or lose their brackets."""
    broken = [
        (where, atom)
        for where, text in hebrew_texts(bank)
        for atom in atoms(text)
        if atom not in visual(text)
    ]
    assert len(broken) >= 15
    assert any("zero_grad()" in atom for _, atom in broken)
    assert ("frameworks-post q17 option a", "(3, 4)") in broken


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("optimizer.zero_grad() מאפס את המשקלים", "םילקשמה תא ספאמ optimizer.zero_grad()"),
        ("לטנסור x יש צורה (4, 3).", ".(4, 3) הרוצ שי x רוסנטל"),
        # prose numbers keep the sentence's order: 0 first, on the right
        ("תוויות 0, 1, 2.", ".2 ,1 ,0 תויוות"),
        # a prefix hyphen stays with the Hebrew; sentence punctuation is not code
        ("ב-PyTorch, ‏a.add_(b) משנה את a.", ".a תא הנשמ a.add_(b) ,PyTorch-ב"),
        ("זה גרדיאנט אחד (4x = 6). backward מוסיף", "ףיסומ backward .(4x = 6) דחא טנאידרג הז"),
    ],
)
def test_isolation_of_examples(text, expected):
    assert visual(isolate(text, "he")) == expected


def test_runs_and_languages():
    text = 'accelerator="auto" (שהוא ברירת המחדל), ו-loss.backward(); optimizer.step()'
    assert [text[s:e] for s, e in ltr_runs(text)] == [
        'accelerator="auto"',
        "loss.backward(); optimizer.step()",
    ]
    assert isolate("x = (4, 3)", "en") == "x = (4, 3)"  # left-to-right languages: unchanged
    once = isolate("הצורה (4, 3)", "he")
    assert once == f"הצורה {LRI}(4, 3){PDI}" and isolate(once, "he") == once
    assert shown({"en": "(4, 3)", "he": "הצורה (4, 3)"}, "he") == once
