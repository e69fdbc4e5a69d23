"""The course's ``nbgrader_config.py`` as nbgrader itself reads and applies it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
from nbgrader.preprocessors import IgnorePattern
from nbgrader.utils import determine_grade
from traitlets.config import Config
from traitlets.config.loader import PyFileConfigLoader

from grader.kernel_environment import KERNEL_ENVIRONMENT

ROOT = Path(__file__).resolve().parents[1]


def _course_config() -> Config:
    return PyFileConfigLoader("nbgrader_config.py", path=str(ROOT)).load_config()


def _graded_test_cell(outputs: list[nbformat.NotebookNode]) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell("check()")
    cell.metadata["nbgrader"] = {
        "grade": True,
        "solution": False,
        "locked": True,
        "grade_id": "test-x",
        "points": 2,
    }
    cell.outputs = outputs
    return cell


def _score(outputs: list[nbformat.NotebookNode]) -> float:
    """The points nbgrader gives a passing test cell with these outputs, after the course's
    IgnorePattern has run over it."""
    cell = _graded_test_cell(outputs)
    cell, _ = IgnorePattern(config=_course_config()).preprocess_cell(cell, {}, 0)
    points, _ = determine_grade(cell)
    return points


def stderr(text: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_output("stream", name="stderr", text=text)


def stdout(text: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_output("stream", name="stdout", text=text)


def test_any_stderr_stream_costs_no_points_even_a_lone_newline() -> None:
    # A print to stderr reaches the notebook as two streams when the kernel flushes between
    # the text and its newline, with the cell's stdout in between.
    split_print = [stderr("debug: called"), stdout("loss 0.3\n"), stderr("\n"), stderr("")]
    assert _score(split_print) == 2
    assert _score([stderr("UserWarning: a harmless warning\n")]) == 2


def test_an_error_still_costs_the_points() -> None:
    error = nbformat.v4.new_output(
        "error", ename="AssertionError", evalue="wrong", traceback=["AssertionError: wrong"]
    )
    assert _score([stderr("\n"), error]) == 0


def test_kernels_are_ended_at_once_after_the_last_cell() -> None:
    """nbgrader's Execute (autograde, Validate) kills the kernel when it is done with it."""
    from nbgrader.preprocessors import Execute

    assert Execute(config=_course_config()).shutdown_kernel == "immediate"


#: Loads the course's config as nbgrader does, in a process of its own (loading it sets the
#: environment its kernels inherit), and prints that environment.
_LOAD_AND_SHOW = (
    "import json, os, sys; from traitlets.config.loader import PyFileConfigLoader; "
    "PyFileConfigLoader('nbgrader_config.py', path=sys.argv[1]).load_config(); "
    "print(json.dumps(dict(os.environ)))"
)


def test_plain_nbgrader_kernels_get_the_course_kernel_environment() -> None:
    """nbgrader's kernels inherit its environment: the config sets the course's settings for
    the libraries' numbers there, over a machine that says otherwise (here oneDNN on and
    another Keras backend), so that plain nbgrader trains what a student's kernel trains."""
    machine = {**os.environ, "TF_ENABLE_ONEDNN_OPTS": "1", "KERAS_BACKEND": "jax"}
    done = subprocess.run(
        [sys.executable, "-c", _LOAD_AND_SHOW, str(ROOT)],
        env=machine,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    seen = json.loads(done.stdout)
    assert {k: seen.get(k) for k in KERNEL_ENVIRONMENT} == KERNEL_ENVIRONMENT
