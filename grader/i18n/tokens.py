"""What a translation must keep exactly: code spans, formulas, link targets, f-string fields."""

from __future__ import annotations

import re
from collections import Counter

_CODE = re.compile(r"(`+)(.+?)\1", re.DOTALL)
_MATH = re.compile(r"\$\$.+?\$\$|\$[^$\n]+?\$", re.DOTALL)
_LINK = re.compile(r"\]\(([^)\s]+)")
_DECIMAL = re.compile(r"(?<![\w.])\d+\.\d+(?![\w.])")
_FIELD = re.compile(r"\{\{|\}\}|\{[^{}]*\}")
_HEBREW = re.compile(r"[\u0590-\u05ff]")


def has_hebrew(text: str) -> bool:
    """Whether ``text`` holds at least one Hebrew letter."""
    return bool(_HEBREW.search(text))


def protected(text: str, fstring: bool = False) -> Counter[str]:
    """The tokens of ``text`` that a translation keeps unchanged, with their counts.

    Inline code (``x``), formulas ($...$ and $$...$$), link targets, decimal numbers (accuracy
    bars, tolerances: a translation that keeps an old bar is wrong) and, in an f-string, the
    replacement fields ``{...}``: code, maths and numbers that a reader copies or relies on.
    """
    found: Counter[str] = Counter()
    rest = text
    for match in _CODE.finditer(text):
        found["`" + match.group(2).strip() + "`"] += 1
    rest = _CODE.sub(" ", rest)
    for match in _MATH.finditer(rest):
        found[re.sub(r"\s+", " ", match.group(0))] += 1
    for match in _LINK.finditer(rest):
        found["(" + match.group(1) + ")"] += 1
    for match in _DECIMAL.finditer(_MATH.sub(" ", rest)):
        found[match.group(0)] += 1
    if fstring:
        for match in _FIELD.finditer(text):
            if match.group(0) not in ("{{", "}}"):
                found[match.group(0)] += 1
    return found


def changed_tokens(english: str, translation: str, fstring: bool = False) -> list[str]:
    """Human-readable differences between the protected tokens of a text and its translation."""
    want, got = protected(english, fstring), protected(translation, fstring)
    problems = [f"{token} is missing or changed" for token in sorted(want - got)]
    problems += [f"{token} is not in the English text" for token in sorted(got - want)]
    return problems
