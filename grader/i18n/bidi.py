"""Right-to-left text that shows values the right way round, and the check that it does.

A Hebrew sentence shown left to right (a code cell in JupyterLab's editor, a cell's output)
reverses a value that holds only digits and punctuation: "הצורה (5, 2)" is laid out with the
numbers swapped, "(2 ,5)". Markdown puts inline code between Unicode isolates
(:func:`grader.i18n.render.isolate_code`). In code cells isolates cannot be used: JupyterLab's
editor (CodeMirror) shows U+2066/U+2067/U+2069 as red placeholders instead of applying them. It
leaves Unicode's embeddings alone, so each Hebrew line of a comment or string is a right-to-left
embedding (RLE ... PDF) and each value in it a left-to-right one (LRE ... PDF).

:func:`misplaced_values` lays a rendered text out with the Unicode bidirectional algorithm
(``python-bidi``) and names the values that do not come out intact.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from bidi import get_display

LRE, RLE, PDF = "\u202a", "\u202b", "\u202c"

#: Characters that steer the bidirectional algorithm. A translation holds none: the build
#: adds what is needed, so that a translator cannot leave a value outside its isolate.
CONTROLS = re.compile("[\u200e\u200f\u061c\u202a-\u202e\u2066-\u2069]")

_HEBREW = re.compile(r"[\u0590-\u05ff]")
_RUN = re.compile(r"[^\s\u0590-\u05ff](?:[^\u0590-\u05ff\n]*[^\s\u0590-\u05ff])?")
_ALNUM = re.compile(r"[A-Za-z0-9]")
_EDGE_PUNCTUATION = ",.;:!?"
_PAIRS: tuple[tuple[str, str], ...] = (("(", ")"), ("[", "]"), ("{", "}"))


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    """``text[start:end]`` without the sentence's punctuation and unpaired brackets at its ends
    (a Hebrew prefix's hyphen, "ל-", belongs to the sentence too)."""
    while True:
        before = (start, end)
        while start < end and (text[start].isspace() or text[start] in "-" + _EDGE_PUNCTUATION):
            start += 1
        while end > start and (text[end - 1].isspace() or text[end - 1] in _EDGE_PUNCTUATION):
            end -= 1
        piece = text[start:end]
        for opening, closing in _PAIRS:
            if piece.endswith(closing) and piece.count(opening) < piece.count(closing):
                end -= 1
                break
            if piece.startswith(opening) and piece.count(opening) > piece.count(closing):
                start += 1
                break
        if (start, end) == before:
            return start, end


def value_spans(line: str) -> list[tuple[int, int]]:
    """Where the values of a Hebrew line are: each run of text without Hebrew letters that holds
    a Latin letter or a digit (identifiers, shapes, numbers, formulas, f-string fields), without
    the sentence punctuation around it."""
    spans = []
    for match in _RUN.finditer(line):
        start, end = _trim(line, *match.span())
        if start < end and _ALNUM.search(line, start, end):
            spans.append((start, end))
    return spans


def embed_line(line: str) -> str:
    """One line of a Hebrew comment or string, laid out right to left with its values left to
    right, by embeddings (which JupyterLab's code editor leaves alone); other lines unchanged."""
    if not _HEBREW.search(line):
        return line
    pieces, last = [], 0
    for start, end in value_spans(line):
        pieces += [line[last:start], LRE, line[start:end], PDF]
        last = end
    pieces.append(line[last:])
    return RLE + "".join(pieces) + PDF


def embed_code_text(text: str) -> str:
    """A translated comment or string of a code cell, each Hebrew line embedded (see above)."""
    return "\n".join(embed_line(line) for line in text.split("\n"))


def visual(line: str, base: str) -> str:
    """``line`` as it is shown in a paragraph of direction ``base`` ("L" or "R"), left to right,
    without the (invisible) control characters."""
    shown = get_display(line, base_dir=base)
    assert isinstance(shown, str)
    return CONTROLS.sub("", shown)


def misplaced_values(rendered: str, values: Iterable[str], base: str) -> list[str]:
    """The ``values`` that a line of ``rendered`` holds but that are not shown intact when the
    line is laid out in a paragraph of direction ``base``."""
    problems = []
    lines = rendered.split("\n")
    for value in dict.fromkeys(values):
        holding = [line for line in lines if value in CONTROLS.sub("", line)]
        if holding and not any(value in visual(line, base) for line in holding):
            problems.append(value)
    return problems
