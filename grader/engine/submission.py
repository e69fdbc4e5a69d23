"""Load and validate one submitted notebook, then make it safe to grade.

:func:`read_notebook` turns the submitted bytes into a notebook or raises :class:`NotGradable`
with the reason (over the size limit, not UTF-8, not JSON, not nbformat 4, duplicate cell ids).
:func:`sanitize` rebuilds every nbgrader cell from the instructor's master copy kept in the
gradebook (:class:`MasterNotebook`): flags, points, and the source of locked and test cells;
deleted test and locked cells come back; submitted outputs are cleared so that nothing the
student saved can count as evidence. It returns notes on what it repaired.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat
from nbformat import NotebookNode
from nbgrader import utils as nbutils

from grader.engine import words

#: Largest notebook file accepted, in bytes.
MAX_NOTEBOOK_BYTES = 20 * 2**20

CELL_TYPES = ("code", "markdown", "raw")


class NotGradable(words.MessageError):
    """A submission that cannot be graded: why, as a message of :mod:`grader.engine.words`
    (``message``), worded in the student's language when the verdict is written."""


@dataclass(frozen=True)
class MasterCell:
    """The instructor's version of one nbgrader cell, as the gradebook stores it."""

    name: str
    cell_type: str
    source: str
    checksum: str | None
    locked: bool
    grade: bool = False
    solution: bool = False
    task: bool = False
    points: float | None = None


@dataclass(frozen=True)
class MasterNotebook:
    """All nbgrader cells of one notebook of an assignment, in notebook order."""

    name: str
    cells: tuple[MasterCell, ...]

    def by_name(self) -> dict[str, MasterCell]:
        """The cells keyed by grade id."""
        return {cell.name: cell for cell in self.cells}

    @property
    def grade_cells(self) -> list[MasterCell]:
        """The cells that carry points (tests and manually graded answers)."""
        return [cell for cell in self.cells if cell.grade]


@dataclass
class Sanitized:
    """A notebook ready to run, with notes on what had to be repaired."""

    notebook: NotebookNode
    notes: list[str] = field(default_factory=list)


def read_notebook(path: Path, max_bytes: int = MAX_NOTEBOOK_BYTES) -> NotebookNode:
    """Read and validate a submitted notebook; raise :class:`NotGradable` with the reason."""
    size = path.stat().st_size
    if size > max_bytes:
        raise NotGradable("too-large", size=size, limit=max_bytes)
    raw = path.read_bytes()
    return parse_notebook(raw)


def parse_notebook(raw: bytes) -> NotebookNode:
    """Validate notebook bytes (UTF-8, JSON, nbformat 4, unique cell ids) and parse them."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise NotGradable("not-utf8", byte=f"{raw[error.start]:#04x}", offset=error.start) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise NotGradable(
            "not-json", error=error.msg, line=error.lineno, column=error.colno
        ) from None
    if not isinstance(data, dict) or "nbformat" not in data:
        raise NotGradable("not-a-notebook")
    version = data.get("nbformat")
    if version != 4:
        raise NotGradable("old-nbformat", version=version)
    cells = data.get("cells")
    if not isinstance(cells, list):
        raise NotGradable("no-cells")
    seen: set[str] = set()
    for position, cell in enumerate(cells):
        if not isinstance(cell, dict) or cell.get("cell_type") not in CELL_TYPES:
            raise NotGradable("bad-cell", position=position)
        source = cell.get("source", "")
        if not isinstance(source, str | list):
            raise NotGradable("bad-source", position=position)
        if isinstance(source, list) and not all(isinstance(line, str) for line in source):
            raise NotGradable("bad-source", position=position)
        metadata = cell.get("metadata", {})
        if not isinstance(metadata, dict) or not isinstance(metadata.get("nbgrader", {}), dict):
            raise NotGradable("bad-metadata", position=position)
        cell_id = cell.get("id")
        if cell_id is not None:
            if cell_id in seen:
                raise NotGradable("duplicate-id", cell_id=cell_id)
            seen.add(cell_id)
    nb = nbformat.from_dict(data)
    for cell in nb.cells:
        if isinstance(cell.get("source"), list):
            cell.source = "".join(cell.source)
        cell.setdefault("metadata", nbformat.NotebookNode())
        cell.setdefault("source", "")
    return nb


BEGIN_HIDDEN = "BEGIN HIDDEN TESTS"
END_HIDDEN = "END HIDDEN TESTS"


def split_hidden(source: str) -> tuple[str, list[str]]:
    """The public part of a test cell's source and the lines of its hidden regions
    (nbgrader's ``### BEGIN HIDDEN TESTS`` ... ``### END HIDDEN TESTS``)."""
    public: list[str] = []
    hidden: list[str] = []
    inside = False
    for line in source.splitlines():
        if BEGIN_HIDDEN in line:
            inside = True
            continue
        if END_HIDDEN in line:
            inside = False
            continue
        (hidden if inside else public).append(line)
    return "\n".join(public), hidden


def public_part(source: str) -> str:
    """What the student's copy of a test cell shows (hidden regions removed)."""
    return split_hidden(source)[0]


def _normalized(source: str) -> str:
    return "\n".join(line.rstrip() for line in source.strip().splitlines())


def _metadata(master: MasterCell) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "grade": master.grade,
        "grade_id": master.name,
        "locked": master.locked,
        "schema_version": 3,
        "solution": master.solution,
        "cell_type": master.cell_type,
    }
    if master.task:
        meta["task"] = True
    if master.grade or master.task:
        meta["points"] = float(master.points or 0.0)
    if master.checksum:
        meta["checksum"] = master.checksum
    return meta


def _restored_cell(master: MasterCell) -> NotebookNode:
    if master.cell_type == "code":
        cell = nbformat.v4.new_code_cell(master.source)
    elif master.cell_type == "markdown":
        cell = nbformat.v4.new_markdown_cell(master.source)
    else:
        cell = nbformat.v4.new_raw_cell(master.source)
    cell.metadata["nbgrader"] = _metadata(master)
    cell.metadata["deletable"] = False
    cell.metadata["editable"] = master.solution
    return cell


def _set_type(cell: NotebookNode, cell_type: str) -> None:
    if cell.cell_type == cell_type:
        return
    cell.cell_type = cell_type
    if cell_type == "code":
        cell.outputs = []
        cell.execution_count = None
    else:
        cell.pop("outputs", None)
        cell.pop("execution_count", None)


def sanitize(nb: NotebookNode, master: MasterNotebook, language: str = "en") -> Sanitized:
    """Rebuild nbgrader cells from ``master`` and clear outputs (``nb`` is not modified); the
    notes on what was put back are worded in ``language``, the notebook's."""
    nb = copy.deepcopy(nb)
    notes: list[str] = []
    masters = master.by_name()
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    # Duplicate grade ids: like nbgrader, the last copy keeps the id.
    seen: set[str] = set()
    for cell in reversed(nb.cells):
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id is None:
            cell.metadata.pop("nbgrader", None)
            continue
        if grade_id in seen or grade_id not in masters:
            cell.metadata.pop("nbgrader", None)
            if grade_id in seen:
                notes.append(words.say(language, "duplicate-cell", grade_id=grade_id))
            continue
        seen.add(grade_id)
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id is None:
            continue
        source = masters[grade_id]
        if cell.cell_type != source.cell_type:
            _set_type(cell, source.cell_type)
            notes.append(
                words.say(language, "type-changed", grade_id=grade_id, cell_type=source.cell_type)
            )
        cell.metadata["nbgrader"] = _metadata(source)
        if source.locked and cell.source != source.source:
            edited = _normalized(cell.source) != _normalized(public_part(source.source))
            cell.source = source.source
            if not edited:
                pass  # the released copy without its hidden tests: nothing to report
            elif source.grade:
                notes.append(words.say(language, "test-modified", grade_id=grade_id))
            else:
                notes.append(words.say(language, "read-only-modified", grade_id=grade_id))
    # Deleted test, task and read-only cells come back after their predecessor.
    present = {c.metadata.get("nbgrader", {}).get("grade_id") for c in nb.cells}
    for position, source in enumerate(master.cells):
        if source.name in present or not (source.locked or source.grade or source.task):
            continue
        if source.solution and not source.task:
            continue  # a deleted answer is a missing answer, not something to restore
        anchor = -1
        for previous in reversed(master.cells[:position]):
            indices = [
                i
                for i, c in enumerate(nb.cells)
                if c.metadata.get("nbgrader", {}).get("grade_id") == previous.name
            ]
            if indices:
                anchor = indices[0]
                break
        nb.cells.insert(anchor + 1, _restored_cell(source))
        present.add(source.name)
        kind = "test" if source.grade else "task" if source.task else "read-only"
        notes.append(words.say(language, f"{kind}-deleted", grade_id=source.name))
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    return Sanitized(nb, notes)


def unanswered(cell: NotebookNode) -> bool:
    """True for a solution cell left exactly as released (nbgrader's "No response.")."""
    meta = cell.metadata.get("nbgrader", {})
    return bool(meta.get("checksum")) and meta.get("checksum") == nbutils.compute_checksum(cell)


def grade_ids(nb: NotebookNode) -> Sequence[str]:
    """The grade ids of ``nb``'s grade cells, in order."""
    return [
        c.metadata["nbgrader"]["grade_id"]
        for c in nb.cells
        if c.metadata.get("nbgrader", {}).get("grade")
    ]
