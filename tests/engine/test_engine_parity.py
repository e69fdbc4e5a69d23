"""Same scores as plain nbgrader on nbgrader's own fixtures, except where nbgrader is fooled.

The fixtures ship in the nbgrader wheel (``nbgrader/tests/apps/files``). As in nbgrader's own
tests, ``submitted-unchanged.ipynb`` is the source of ``ps1`` and every ``submitted-*.ipynb`` is a
student's ``p1.ipynb``; ``test.ipynb`` is the source of ``ps2``, submitted once as released and
once solved. Both graders work on copies of the same course.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
import nbgrader
import pytest

from grader.course import run_nbgrader
from grader.engine.autograde import autograde_all, load_course
from grader.engine.gradebook import recorded_scores
from tests.support.engine import generate, options, shared_once

# Kept together under --dist loadgroup; the module's grading run is built once per test run
# in any case (conftest.shared_once), whichever workers its tests land on.
pytestmark = pytest.mark.xdist_group("engine-parity")

FILES = Path(nbgrader.__file__).parent / "tests" / "apps" / "files"
PS1 = {
    "unchanged": "submitted-unchanged.ipynb",
    "changed": "submitted-changed.ipynb",
    "cheat": "submitted-cheat-attempt.ipynb",
    "cheat_alt": "submitted-cheat-attempt-alternative.ipynb",
    "grade_changed": "submitted-grade-cell-changed.ipynb",
    "locked_changed": "submitted-locked-cell-changed.ipynb",
}
#: Where plain nbgrader is fooled: the cheat attempts patch ``showtraceback``. nbgrader still
#: scores them right because it adds the error reply; the engine also fails every test after
#: the tampering and flags the submission.
FOOLED = {("cheat", "foo"), ("cheat_alt", "foo")}


def _build(root: Path) -> None:
    (root / "source/ps1").mkdir(parents=True)
    (root / "source/ps2").mkdir(parents=True)
    shutil.copy(FILES / "submitted-unchanged.ipynb", root / "source/ps1/p1.ipynb")
    shutil.copy(FILES / "test.ipynb", root / "source/ps2/p2.ipynb")
    (root / "nbgrader_config.py").write_text("c = get_config()  # noqa: F821\n")
    generate(root, "ps1")
    generate(root, "ps2")
    for student, name in PS1.items():
        folder = root / "submitted" / student / "ps1"
        folder.mkdir(parents=True)
        shutil.copy(FILES / name, folder / "p1.ipynb")
    for student, source in (
        ("released", "release/ps2/p2.ipynb"),
        ("solved", "source/ps2/p2.ipynb"),
    ):
        folder = root / "submitted" / student / "ps2"
        folder.mkdir(parents=True)
        nb = nbformat.read(root / source, 4)
        nbformat.write(nb, folder / "p2.ipynb")


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(course graded by nbgrader, course graded by the engine)."""
    base = shared_once(tmp_path_factory, "parity", _grade_both)
    return base / "plain", base / "ours"


def _grade_both(base: Path) -> None:
    """Each assignment graded by plain nbgrader in one copy of the course and, in the other,
    by the engine as an instructor runs it: both assignments in one session."""
    plain, ours = base / "plain", base / "ours"
    _build(plain)
    shutil.copytree(plain, ours)
    for assignment in ("ps1", "ps2"):
        run_nbgrader(plain, "autograde", assignment, "--force")
    autograde_all(load_course(ours), ["ps1", "ps2"], options())


def _scores(root: Path, assignment: str, student: str) -> dict[str, float | None]:
    scores = recorded_scores(load_course(root).db_url, assignment, student)
    return {cell: score for notebook in scores.values() for cell, score in notebook.items()}


@pytest.mark.parametrize(
    ("assignment", "student"),
    [("ps1", s) for s in PS1] + [("ps2", "released"), ("ps2", "solved")],
)
def test_same_scores_as_nbgrader(graded, assignment: str, student: str) -> None:
    plain, ours = graded
    expected = _scores(plain, assignment, student)
    got = _scores(ours, assignment, student)
    assert set(got) == set(expected)
    for cell, score in expected.items():
        if (student, cell) in FOOLED:
            assert score == 1.0 and got[cell] == 0.0
        else:
            assert got[cell] == score, (cell, got[cell], score)


def test_the_fixtures_exercise_both_outcomes(graded) -> None:
    _, ours = graded
    solved = _scores(ours, "ps2", "solved")
    released = _scores(ours, "ps2", "released")
    assert solved["correct_squares"] == 1.0 and released["correct_squares"] == 0.0
    assert _scores(ours, "ps1", "changed")["bar"] == 1.0
