"""The engine tests' demo course (``tests/engine/fixtures/course``, assignment ``demo``) and
how tests use it: generating it, writing submissions, grading options with small budgets, the
labels of its hidden "toy" dataset, a folder built once per test run."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import nbformat
import numpy as np
import pytest
from filelock import FileLock

from grader.course import run_nbgrader, tool_environment
from grader.engine.kernel import Timeouts
from grader.engine.task import FixedLabels, GradingOptions
from tests.support import ROOT

FIXTURES = ROOT / "tests" / "engine" / "fixtures"

#: The labels of the demo's hidden "toy" dataset (what a correct ``labels`` predicts).
TOY_LABELS = np.arange(30) % 3


#: Label source for the demo course: the "toy" labels, and grader.data's for real datasets (the
#: demo's iris test), loaded as the engine does; picklable, so it travels to Dask workers too.
toy_labels = FixedLabels({"toy": TOY_LABELS})


def tool_env() -> dict[str, str]:
    """Environment for course tools run by the tests (:func:`grader.course.tool_environment`),
    with this checkout importable."""
    env = tool_environment()
    env["PYTHONPATH"] = f"{ROOT}:{env.get('PYTHONPATH', '')}".rstrip(":")
    return env


def generate(course: Path, assignment: str) -> None:
    """Run ``nbgrader generate_assignment`` in ``course`` (a subprocess: nbgrader chdirs)."""
    run_nbgrader(course, "generate_assignment", assignment, "--force")


def options(**overrides: object) -> GradingOptions:
    """Grading options with small time budgets for tests."""
    values: dict[str, object] = {"timeouts": Timeouts(cell=20, notebook=120)}
    values.update(overrides)
    return GradingOptions(**values)  # type: ignore[arg-type]


def shared_once(
    tmp_path_factory: pytest.TempPathFactory, name: str, build: Callable[[Path], None]
) -> Path:
    """A folder built once per test run, even when pytest-xdist workers each ask for it.

    Under xdist the workers share the parent of their base temporary folders; a file lock
    makes the first one build and the others wait, then reuse what it built.
    """
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent
    folder, done = base / f"shared-{name}", base / f"shared-{name}.done"
    with FileLock(str(base / f"shared-{name}.lock")):
        if not done.exists():
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir(parents=True)
            build(folder)
            done.touch()
    return folder


def solved(source: str) -> str:
    """A solution cell of the source notebook without its markers."""
    return re.sub(r"\n\s*### (BEGIN|END) SOLUTION", "", source)


def submit(
    course: Path,
    student: str,
    answers: dict[str, str] | None = None,
    edit: Callable[[nbformat.NotebookNode], None] | None = None,
    assignment: str = "demo",
    raw: bytes | None = None,
) -> Path:
    """Write a submission: the released notebook with correct answers, ``answers`` (grade id ->
    source) replacing some, then ``edit`` applied; or ``raw`` bytes as the notebook file."""
    folder = course / "submitted" / student / assignment
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{assignment}.ipynb"
    if raw is not None:
        path.write_bytes(raw)
        return path
    source = nbformat.read(course / "source" / assignment / f"{assignment}.ipynb", 4)
    released = nbformat.read(course / "release" / assignment / f"{assignment}.ipynb", 4)
    solutions = {
        c.metadata["nbgrader"]["grade_id"]: solved(c.source)
        for c in source.cells
        if c.metadata.get("nbgrader", {}).get("solution") and c.cell_type == "code"
    }
    solutions.update(answers or {})
    for cell in released.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in solutions:
            cell.source = solutions[grade_id]
    if edit:
        edit(released)
    nbformat.write(released, path)
    return path
