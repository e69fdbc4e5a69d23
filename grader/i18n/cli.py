"""``grader translate``: bring the PO files in line with the English notebooks, and report."""

from __future__ import annotations

import argparse
from pathlib import Path

import nbformat

from grader.i18n import LANGUAGES
from grader.i18n.build import course_notebooks, entry_problem
from grader.i18n.catalog import (
    Changes,
    catalog_path,
    new_catalog,
    read_catalog,
    save_catalog,
    update_catalog,
)
from grader.i18n.extract import notebook_parts


def update_catalogs(root: Path, language: str, assignments: list[str] | None = None) -> dict:
    """Re-extract the English text of the course's notebooks into ``locale/<language>/``.

    Returns, per notebook, the update's :class:`Changes` and how many parts still need work.
    """
    report: dict[str, tuple[Changes, int, int]] = {}
    for assignment, names in course_notebooks().items():
        if assignments and assignment not in assignments:
            continue
        for name in names:
            source = root / "source" / assignment / f"{name}.ipynb"
            parts = notebook_parts(nbformat.read(source, as_version=4))
            path = catalog_path(root, language, name)
            catalog = (
                read_catalog(path, name)
                if path.exists()
                else new_catalog(f"source/{assignment}/{name}.ipynb", language)
            )
            changes = update_catalog(catalog, parts)
            save_catalog(catalog, path)
            entries = {e.msgctxt: e for e in catalog if not e.obsolete}
            todo = sum(1 for p in parts if entry_problem(p, entries.get(p.context)))
            report[name] = (changes, len(parts), todo)
    return report


def _translate_command(args: argparse.Namespace) -> int:
    root = Path(args.root).resolve()
    report = update_catalogs(root, args.language, args.assignments or None)
    print(f"{'notebook':<16} {'parts':>6} {'new':>5} {'stale':>6} {'obsolete':>9} {'to do':>6}")
    for name, (changes, parts, todo) in report.items():
        print(
            f"{name:<16} {parts:>6} {len(changes.added):>5} {len(changes.stale):>6} "
            f"{len(changes.obsolete):>9} {todo:>6}"
        )
    return 1 if args.check and any(todo for *_, todo in report.values()) else 0


def register(commands: argparse._SubParsersAction) -> None:
    """Add ``translate`` to the top-level parser."""
    parser = commands.add_parser(
        "translate",
        help="update locale/<language>/*.po from the English notebooks (edits to cells go fuzzy)",
    )
    parser.add_argument("assignments", nargs="*", help="assignments (default: all)")
    parser.add_argument("--language", default="he", choices=sorted(LANGUAGES))
    parser.add_argument("--root", default=".", help="course directory (default: .)")
    parser.add_argument(
        "--check", action="store_true", help="exit 1 if any part is untranslated, stale or fuzzy"
    )
    parser.set_defaults(func=_translate_command)
