"""One gettext PO file per notebook: written, merged with a newer English text, and read back.

An entry's ``msgctxt`` is the part's cell key and index (``test-poly-fit#0``) and its ``msgid``
the English text. When the English text of a part changes, its entry keeps the old translation,
records the old English as ``#| msgid`` and is marked fuzzy: the translator sees what changed.
Entries whose part is gone become obsolete (``#~``) instead of disappearing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import polib

from grader.i18n.errors import Problem, TranslationError
from grader.i18n.extract import Part

_KIND_NOTES = {
    "markdown": "markdown block",
    "comment": "code comment",
    "docstring": "docstring",
    "message": "assertion message shown to the student",
}


def catalog_path(root: Path, language: str, notebook: str) -> Path:
    """Where the translation of a notebook into ``language`` lives."""
    return root / "locale" / language / f"{notebook}.po"


@dataclass
class Changes:
    """What an update did to a catalog, counted by context."""

    added: list[str] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)
    obsolete: list[str] = field(default_factory=list)
    kept: int = 0


def new_catalog(source: str, language: str) -> polib.POFile:
    """An empty catalog for the notebook at ``source`` (a path relative to the course)."""
    catalog = polib.POFile(wrapwidth=100)
    catalog.metadata = {
        "Project-Id-Version": "frameworks course",
        "Language": language,
        "MIME-Version": "1.0",
        "Content-Type": "text/plain; charset=UTF-8",
        "Content-Transfer-Encoding": "8bit",
        "Plural-Forms": "nplurals=2; plural=(n != 1);",
        "X-Source-Notebook": source,
    }
    return catalog


def _entry(part: Part) -> polib.POEntry:
    return polib.POEntry(
        msgctxt=part.context,
        msgid=part.text,
        msgstr="",
        comment=_KIND_NOTES[part.kind],
        occurrences=[(part.cell, str(part.index))],
        flags=["python-brace-format"] if part.fstring else [],
    )


def update_catalog(catalog: polib.POFile, parts: Sequence[Part]) -> Changes:
    """Bring ``catalog`` in line with the notebook's current ``parts``, in place.

    An unchanged part keeps its translation; a changed one keeps it too but fuzzy, with the
    previous English; a part moved within its cell to a new index finds its exact translation
    again; a new part is added untranslated; an entry whose part is gone becomes obsolete.
    """
    changes = Changes()
    contexts = {part.context for part in parts}
    old_obsolete = [e for e in catalog if e.obsolete and e.msgctxt not in contexts]
    current = {e.msgctxt: e for e in catalog if not e.obsolete}
    by_text = {
        ((e.msgctxt or "").rsplit("#", 1)[0], e.msgid): e
        for e in catalog
        if e.msgstr and "fuzzy" not in e.flags
    }
    entries: list[polib.POEntry] = []
    for part in parts:
        entry = _entry(part)
        old = current.pop(part.context, None)
        exact = by_text.get((part.cell, part.text))
        if old is not None and old.msgid == part.text:
            entry.msgstr, entry.flags = old.msgstr, sorted(set(entry.flags) | set(old.flags))
            entry.previous_msgid = old.previous_msgid
            changes.kept += 1
        elif exact is not None:
            entry.msgstr = exact.msgstr
            changes.kept += 1
        elif old is not None:
            entry.msgstr = old.msgstr
            entry.previous_msgid = old.msgid
            if old.msgstr:
                entry.flags.append("fuzzy")
            changes.stale.append(part.context)
        else:
            changes.added.append(part.context)
        entries.append(entry)
    for gone in current.values():
        gone.obsolete = True
        changes.obsolete.append(gone.msgctxt or "")
    catalog[:] = entries + list(current.values()) + old_obsolete
    return changes


def read_catalog(path: Path, notebook: str) -> polib.POFile:
    """The catalog at ``path``; a missing or malformed file raises :class:`TranslationError`."""
    if not path.is_file():
        raise TranslationError(
            [
                Problem(
                    notebook, "-", f"translation file {path.name} is missing (run grader translate)"
                )
            ]
        )
    try:
        return polib.pofile(str(path), wrapwidth=100)
    except (OSError, ValueError, UnicodeDecodeError) as error:
        raise TranslationError(
            [Problem(notebook, "-", f"translation file {path.name} is malformed: {error}")]
        ) from error


def save_catalog(catalog: polib.POFile, path: Path) -> None:
    """Write ``catalog`` to ``path`` atomically (a temporary file, then a rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".po.partial")
    catalog.save(str(partial))
    partial.replace(path)
