"""A translated notebook: the English cells with their translatable parts replaced.

Markdown in a right-to-left language is wrapped in ``<div dir="rtl" lang="...">`` with blank
lines around the text, so that JupyterLab still renders the markdown inside; fenced code and
display maths stay outside the wrapper (left to right), and inline code spans are wrapped in
Unicode's left-to-right isolates so that identifiers and shapes read left to right inside a
Hebrew sentence. In code cells only comments and strings change; there each Hebrew line is a
right-to-left embedding and each value in it a left-to-right one (``grader.i18n.bidi``).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping, Sequence

import nbformat

from grader.i18n.bidi import embed_code_text
from grader.i18n.extract import Slot, cell_key, code_slots, markdown_blocks

_CODE_SPAN = re.compile(r"(`+)(.+?)\1", re.DOTALL)
_ISOLATE_LTR, _POP_ISOLATE = "\u2066", "\u2069"

#: The line added to the first code cell, so that the checks speak the notebook's language.
LANGUAGE_CALL = 'import grader.checks\n\ngrader.checks.set_language("{language}")'
_LANGUAGE_COMMENTS = {"he": "הודעות הבדיקות בעברית"}


def language_snippet(language: str) -> str:
    """The code appended to a translated notebook's first code cell to set the checks' language."""
    comment = _LANGUAGE_COMMENTS.get(language, language)
    return LANGUAGE_CALL.format(language=language) + f"  # {comment}"


def isolate_code(text: str) -> str:
    """Inline code spans wrapped in left-to-right isolates (invisible; outside the backticks)."""
    return _CODE_SPAN.sub(lambda m: _ISOLATE_LTR + m.group(0) + _POP_ISOLATE, text)


def render_markdown(source: str, translations: Sequence[str], language: str, rtl: bool) -> str:
    """The markdown ``source`` with its translatable blocks replaced by ``translations``."""
    pieces: list[str] = []
    run: list[str] = []
    remaining = iter(translations)

    def close_run() -> None:
        if not run:
            return
        text = "\n\n".join(run)
        if rtl:
            text = f'<div dir="rtl" lang="{language}">\n\n{isolate_code(text)}\n\n</div>'
        pieces.append(text)
        run.clear()

    for block, translatable in markdown_blocks(source):
        if translatable:
            run.append(next(remaining))
        else:
            close_run()
            pieces.append(block)
    close_run()
    return "\n\n".join(pieces)


def render_slot(slot: Slot, text: str, rtl: bool = False) -> str:
    """The source text that replaces ``slot`` when its translation is ``text``; in a
    right-to-left language each Hebrew line is embedded so that its values keep their order
    (:func:`grader.i18n.bidi.embed_code_text`)."""
    if rtl:
        text = embed_code_text(text)
    lines = text.split("\n")
    if slot.kind == "comment":
        pad = " " * slot.indent
        return f"\n{pad}".join(f"# {line}".rstrip() for line in lines)
    body = lines[0] + "".join(
        "\n" + (" " * slot.indent + line if line.strip() else "") for line in lines[1:]
    )
    return f"{slot.prefix}{slot.quote}{slot.lead}{body}{slot.trail}{slot.quote}"


def render_code(
    source: str, slots: Sequence[Slot], translations: Sequence[str], rtl: bool = False
) -> str:
    """The code ``source`` with each slot's text replaced by its translation."""
    starts = [0]
    for line in source.split("\n"):
        starts.append(starts[-1] + len(line) + 1)

    def offset(place: tuple[int, int]) -> int:
        return starts[place[0] - 1] + place[1]

    result = source
    for slot, text in sorted(zip(slots, translations, strict=True), key=lambda p: p[0].start)[::-1]:
        replacement = render_slot(slot, text, rtl)
        result = result[: offset(slot.start)] + replacement + result[offset(slot.end) :]
    return result


def translate_notebook(
    notebook: nbformat.NotebookNode,
    translations: Mapping[str, Sequence[str]],
    language: str,
    rtl: bool,
) -> nbformat.NotebookNode:
    """A copy of ``notebook`` in ``language``; ``translations`` maps a cell key to its parts.

    Cells, their ids, nbgrader metadata and code stay; the notebook's metadata records the
    language under ``grader.language``, and the first code cell sets the checks' language.
    """
    translated = copy.deepcopy(notebook)
    translated.metadata.setdefault("grader", {})["language"] = language
    first_code = True
    for cell in translated.cells:
        parts = translations.get(cell_key(cell), ())
        if cell.cell_type == "markdown" and parts:
            cell.source = render_markdown(cell.source, parts, language, rtl)
        elif cell.cell_type == "code":
            if parts:
                cell.source = render_code(cell.source, code_slots(cell.source), parts, rtl)
            if first_code:
                cell.source = cell.source.rstrip("\n") + "\n\n" + language_snippet(language)
                first_code = False
    return translated
