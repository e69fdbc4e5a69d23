"""Right-to-left display of quiz texts: code, maths and shapes inside Hebrew read left to right.

A Hebrew sentence such as ``optimizer.zero_grad() מאפס את הגרדיאנטים`` is laid out by the Unicode
bidirectional algorithm, which knows nothing of code: the final ``()`` sits between a Latin letter
and a Hebrew one, takes the paragraph's right-to-left direction and shows as
``()optimizer.zero_grad``; a shape ``(4, 3)`` shows as ``(3 ,4)``. ``isolate`` wraps every stretch
of code or maths (a run without Hebrew letters that holds a Latin letter, or a bracket) in the
Unicode isolates LRI ... PDI (U+2066, U+2069), so that it is laid out left to right as written
and does not mix with the Hebrew around it; a plain number (``5.3``, ``−6``, ``15,000``) is
isolated alone, so that a list of numbers in a sentence keeps the sentence's order. Texts in
left-to-right languages are returned unchanged.
"""

from __future__ import annotations

import re

from grader.quiz.bank import Text, text_in
from grader.quiz.i18n import direction

LRI = "\u2066"  # LEFT-TO-RIGHT ISOLATE
PDI = "\u2069"  # POP DIRECTIONAL ISOLATE
RLM = "\u200f"  # RIGHT-TO-LEFT MARK: an author's separator, never part of a run

_HEBREW = "\u0590-\u05ff\ufb1d-\ufb4f"
#: A stretch without Hebrew letters (nor RLM, nor isolates already there).
_STRETCH = re.compile(rf"[^{_HEBREW}{RLM}{LRI}{PDI}\u2067\u2068]+")
_HEBREW_LETTER = re.compile(f"[{_HEBREW}]")
_LATIN = re.compile(r"[A-Za-z\u00c0-\u024f\u0370-\u03ff]")  # Latin and Greek letters
_DIGIT = re.compile(r"\d")
_NUMBER = re.compile(r"[−-]?\d+(?:[.,]\d+)*")
_MATHS = set("([{`=+*/^<>←·∂√²")
_PAIRS = {"(": ")", "[": "]", "{": "}"}
_SEPARATOR = re.compile(r"[.;,:]\s+")
#: A token that is code, not a word: it holds a bracket, an operator, a dot, a digit or a quote.
_CODE_TOKEN = re.compile(r"[()\[\]{}=._'\"`\d+*/<>]")


def _depths(text: str) -> list[int]:
    """The bracket depth (and backquote nesting) before each character of ``text``."""
    depth, quoted, out = 0, False, []
    for ch in text:
        out.append(depth + quoted)
        if ch == "`":
            quoted = not quoted
        elif ch in _PAIRS:
            depth += 1
        elif ch in _PAIRS.values() and depth:
            depth -= 1
    return out


def _pieces(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Split a stretch at sentence punctuation outside brackets (``(4x = 6). backward``), unless
    the tokens on both sides are code (``loss.backward(); optimizer.step()`` stays whole)."""
    depth = _depths(text[start:end])
    cuts, last = [], start
    for m in _SEPARATOR.finditer(text, start, end):
        if depth[m.start() - start]:
            continue
        before = text[last : m.start() + 1].split()[-1:] or [""]
        after = text[m.end() : end].split()[:1] or [""]
        if _CODE_TOKEN.search(before[0][:-1]) and _CODE_TOKEN.search(after[0]):
            continue
        cuts.append((last, m.start() + 1))
        last = m.end()
    cuts.append((last, end))
    return cuts


def _unmatched(run: str) -> bool:
    stack: list[str] = []
    for ch in run:
        if ch in _PAIRS:
            stack.append(_PAIRS[ch])
        elif ch in _PAIRS.values() and (not stack or stack.pop() != ch):
            return True
    return bool(stack) or run.count('"') % 2 == 1 or run.count("`") % 2 == 1


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    """Shrink ``text[start:end]`` to the code it holds: no surrounding spaces, no sentence
    punctuation at its ends, no prefix hyphen (ב-PyTorch), no bracket or quote left unmatched."""
    while True:
        before = (start, end)
        while start < end and text[start].isspace():
            start += 1
        while end > start and text[end - 1].isspace():
            end -= 1
        if start < end and text[start] in ".,;:!?":
            start += 1
        if start < end and text[start] == "-" and _HEBREW_LETTER.match(text[start - 1 : start]):
            start += 1  # the hyphen after a Hebrew prefix: ב-PyTorch, ה-`with`
        if end > start and text[end - 1] in ".,;:!?" and text[start:end].count("`") % 2 == 0:
            end -= 1
        run = text[start:end]
        if run and _unmatched(run):
            if run[-1] in "([{" or run[0] in ")]}":
                start, end = (start, end - 1) if run[-1] in "([{" else (start + 1, end)
            elif run[0] in '([{"`' and not (run[-1] in ')]}"`' and len(run) > 1):
                start += 1
            else:
                end -= 1
        if (start, end) == before:
            return start, end


def ltr_runs(text: str) -> list[tuple[int, int]]:
    """The (start, end) of every stretch of ``text`` to lay out left to right: code, maths and
    shapes whole, plain numbers one by one. Used on right-to-left texts."""
    runs: list[tuple[int, int]] = []
    for match in _STRETCH.finditer(text):
        for piece in _pieces(text, match.start(), match.end()):
            start, end = _trim(text, *piece)
            run = text[start:end]
            if _LATIN.search(run) or (_DIGIT.search(run) and _MATHS & set(run)):
                runs.append((start, end))
            else:
                runs += [(start + m.start(), start + m.end()) for m in _NUMBER.finditer(run)]
    return runs


def isolate(text: str, lang: str) -> str:
    """``text`` with every code, maths or number run wrapped in LRI ... PDI when ``lang`` is
    written right to left; unchanged otherwise (and when it already holds isolates)."""
    if direction(lang) != "rtl" or LRI in text:
        return text
    out, last = [], 0
    for start, end in ltr_runs(text):
        out += [text[last:start], LRI, text[start:end], PDI]
        last = end
    out.append(text[last:])
    return "".join(out)


def shown(text: Text, lang: str) -> str:
    """A bank text as a student sees it in ``lang``: ``text_in`` with its code isolated."""
    return isolate(text_in(text, lang), lang)
