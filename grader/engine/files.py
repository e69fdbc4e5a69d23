"""A submission's files as data: which files, their contents, their fingerprint, and staging
them again in a folder on the worker.

The client walks ``submitted/<student>/<assignment>/`` and the assignment's source folder once
(:func:`submission_files`, :func:`read_files`) and sends bytes; the worker writes them back
(:func:`stage_files`). :func:`fingerprint` is what a rerun compares to skip a graded submission.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path

from grader.engine.submission import NotGradable

#: Names never part of a submission's files (nbgrader's and the engine's own).
SKIPPED_FILES = ("timestamp.txt", "results.json")


def submission_files(folder: Path, skip_notebooks: bool = False) -> dict[str, Path]:
    """The files of a submission or assignment folder by relative name (hidden files, caches,
    nbgrader's ``timestamp.txt`` and the engine's ``results.json`` left out). Links are not
    a submission's files: read, they would bring in what they point to, which the student may
    not read (the course's solutions, another student's work)."""
    found: dict[str, Path] = {}
    if not folder.is_dir():
        return found
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if (  # rglob does not enter linked folders
            path.is_symlink()
            or not path.is_file()
            or any(
                part.startswith(".") or part in ("__pycache__", "feedback")
                for part in relative.parts
            )
        ):
            continue
        if relative.name in SKIPPED_FILES or (skip_notebooks and path.suffix == ".ipynb"):
            continue
        found[str(relative)] = path
    return found


def read_files(files: Mapping[str, Path]) -> dict[str, bytes]:
    """The contents of ``files`` (relative name -> path), to send to a worker."""
    return {name: path.read_bytes() for name, path in files.items()}


def fingerprint(base: str, files: Mapping[str, bytes]) -> str:
    """What a submission's grade depends on: its files, the references, the engine."""
    digest = hashlib.sha256(base.encode())
    for name in sorted(files):
        digest.update(f"\0{name}\0".encode())
        digest.update(files[name])
    return digest.hexdigest()


def stage_files(folder: Path, files: Mapping[str, bytes]) -> dict[str, Path]:
    """Write ``files`` (relative name -> content) under ``folder``; a name that would leave the
    folder makes the submission not gradable."""
    staged = {}
    for name, content in files.items():
        target = (folder / name).resolve()
        if not target.is_relative_to(folder.resolve()):
            raise NotGradable("name-leaves-folder", name=name)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
        staged[name] = target
    return staged
