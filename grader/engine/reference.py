"""The instructor's reference run: the source notebook executed once, in the same sandbox.

Its evidence, per grade cell, is what student evidence is judged against. It is cached under
``autograded/.reference/<assignment>/<notebook>.json`` by a content hash of everything that can
change it (the source notebook, the assignment's other source files, the kernel-side ``grader``
modules and the engine's evidence handling), so it runs once per assignment version.

A grading session runs it in a kernel forked from its zygote, like the students' (the
libraries are imported once, not once more for the reference); without a zygote it runs in a
kernel started from scratch. A reference not run yet is ``pending``: it has its cache key (a
submission's fingerprint needs only that) and nothing to judge against.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat

from grader.engine.kernel import NotebookRun, Timeouts, execute_notebook
from grader.engine.results import read_results, write_json_atomic
from grader.engine.sandbox import KERNEL_SIDE_FILES, Sandbox
from grader.evidence import MIME_TYPE, Evidence, evidence_in_outputs

#: Bump when the way reference evidence is produced or stored changes.
REFERENCE_VERSION = "2"  # 2: references run with sealed data

log = logging.getLogger(__name__)


class ReferenceFailure(RuntimeError):
    """The reference notebook could not be run at all."""


@dataclass(frozen=True)
class ReferenceCell:
    """The reference run of one grade cell."""

    status: str
    message: str
    payloads: tuple[dict[str, Any], ...] = ()

    def evidence(self) -> list[Evidence]:
        """The cell's evidence, parsed (malformed items dropped)."""
        return evidence_in_outputs([{"data": {MIME_TYPE: p}} for p in self.payloads])


@dataclass(frozen=True)
class Reference:
    """The reference run of one notebook: cells by grade id, and the cache key."""

    notebook: str
    key: str
    cells: Mapping[str, ReferenceCell] = field(default_factory=dict)
    seconds: float = 0.0
    pending: bool = False  # not run yet: its key only (see :func:`cached_or_pending`)

    def evidence_for(self, grade_id: str) -> list[Evidence]:
        """The reference evidence of one grade cell (empty when it emitted none)."""
        cell = self.cells.get(grade_id)
        return cell.evidence() if cell else []


def _kernel_module_files() -> Iterable[Path]:
    package = Path(__file__).resolve().parent.parent
    for name in KERNEL_SIDE_FILES:
        path = package / name
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*.py") if "__pycache__" not in p.parts)
        elif path.is_file():
            yield path


def cache_key(notebook: Path, extra_files: Mapping[str, Path]) -> str:
    """Content hash of everything the reference run depends on."""
    digest = hashlib.sha256(f"reference {REFERENCE_VERSION}\n".encode())
    digest.update(notebook.read_bytes())
    for name in sorted(extra_files):
        digest.update(f"\0file {name}\0".encode())
        digest.update(extra_files[name].read_bytes())
    package = Path(__file__).resolve().parent.parent
    for path in _kernel_module_files():
        digest.update(f"\0module {path.relative_to(package)}\0".encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _payloads(outputs: Sequence[Mapping[str, Any]]) -> tuple[dict[str, Any], ...]:
    found = []
    for output in outputs:
        data = output.get("data")
        if isinstance(data, Mapping) and MIME_TYPE in data:
            found.append(dict(data[MIME_TYPE]))
    return tuple(found)


def from_run(notebook: str, key: str, nb: nbformat.NotebookNode, run: NotebookRun) -> Reference:
    """Extract the reference from an executed source notebook."""
    cells = {}
    for index, cell in enumerate(nb.cells):
        meta = cell.metadata.get("nbgrader", {})
        if not meta.get("grade") or cell.cell_type != "code":
            continue
        record = run.cells.get(index)
        if record is None:
            continue
        cells[meta["grade_id"]] = ReferenceCell(
            record.status, record.message, _payloads(record.outputs)
        )
    return Reference(notebook, key, cells, run.seconds)


def _to_document(reference: Reference) -> dict[str, Any]:
    return {
        "notebook": reference.notebook,
        "key": reference.key,
        "seconds": reference.seconds,
        "cells": {
            name: {"status": c.status, "message": c.message, "payloads": list(c.payloads)}
            for name, c in reference.cells.items()
        },
    }


def _from_document(document: Mapping[str, Any]) -> Reference:
    cells = {
        name: ReferenceCell(c["status"], c.get("message", ""), tuple(c.get("payloads", [])))
        for name, c in document["cells"].items()
    }
    return Reference(document["notebook"], document["key"], cells, document.get("seconds", 0.0))


def cached_or_pending(
    source_notebook: Path, extra_files: Mapping[str, Path], cache_dir: Path
) -> Reference:
    """The cached reference for this content, or a pending one (its key, not run yet)."""
    name = source_notebook.stem
    key = cache_key(source_notebook, extra_files)
    cache_file = cache_dir / f"{name}.json"
    cached = read_results(cache_file)
    if cached and cached.get("key") == key:
        try:
            return _from_document(cached)
        except (KeyError, TypeError):
            log.warning("reference cache %s is damaged; running the reference again", cache_file)
    return Reference(name, key, pending=True)


def load_or_run(
    source_notebook: Path,
    extra_files: Mapping[str, Path],
    cache_dir: Path,
    sandbox: Sandbox,
    timeouts: Timeouts,
    trusted_prefixes: Sequence[str],
    env: Mapping[str, str] | None = None,
    zygote: str | None = None,
) -> Reference:
    """The cached reference for this content, or a fresh run of the source notebook (in a
    kernel forked from ``zygote`` when there is one, else started from scratch, with the
    kernels' environment ``env``), cached for the next time."""
    pending = cached_or_pending(source_notebook, extra_files, cache_dir)
    if not pending.pending:
        return pending
    name = source_notebook.stem
    nb = nbformat.read(source_notebook, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    log.info(
        "running the reference solution %s in a kernel %s",
        source_notebook.name,
        "forked from the zygote" if zygote else "started from scratch",
    )
    with sandbox.run(extra_files, env, zygote) as prepared:
        run = execute_notebook(nb, prepared, timeouts, trusted_prefixes)
    if run.kernel_problem and not any(c.status == "ok" for c in run.cells.values()):
        raise ReferenceFailure(f"reference {source_notebook.name}: {run.kernel_problem}")
    reference = from_run(name, pending.key, nb, run)
    for grade_id, cell in reference.cells.items():
        if cell.status != "ok":
            log.warning(
                "the reference solution fails test %s of %s (%s): students cannot pass it",
                grade_id,
                name,
                cell.message or cell.status,
            )
    write_json_atomic(cache_dir / f"{name}.json", _to_document(reference))
    return reference
