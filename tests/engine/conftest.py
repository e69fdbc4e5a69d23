"""Fixtures for the engine's tests: a tiny nbgrader course, generated once per session.

``template_course`` copies ``fixtures/course`` (assignment ``demo``), runs
``nbgrader generate_assignment`` and the reference run once; ``course`` gives each test its own
copy (gradebook and reference cache included), so no test touches another's files or the
repository's own gradebook.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from grader.course import load_course
from grader.engine.autograde import prepare
from tests.support.engine import (
    FIXTURES,
    generate,
    options,
    shared_once,
    toy_labels,
)


def _build_template(folder: Path) -> None:
    root = folder / "course"
    shutil.copytree(FIXTURES / "course", root)
    generate(root, "demo")
    prepare(load_course(root), "demo", options(), labels=toy_labels)


@pytest.fixture(scope="session")
def template_course(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo course, generated and with its reference run cached (read-only: copy it)."""
    return shared_once(tmp_path_factory, "template", _build_template) / "course"


@pytest.fixture
def course(tmp_path: Path, template_course: Path) -> Path:
    """A private copy of the demo course."""
    root = tmp_path / "course"
    shutil.copytree(template_course, root)
    return root
