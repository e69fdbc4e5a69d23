"""release/ is what `grader release` makes of source/, and it gives nothing away."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from grader import course

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENTS = course.assignments_in(ROOT)


def _notebooks(folder: Path) -> dict[str, dict]:
    return {
        str(p.relative_to(folder)): json.loads(p.read_text(encoding="utf-8"))
        for p in sorted(folder.rglob("*.ipynb"))
    }


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    scratch = course.make_course_copy(ROOT, tmp_path_factory.mktemp("course"), ASSIGNMENTS)
    course.release(scratch, ASSIGNMENTS)
    return scratch / "release"


def test_every_course_notebook_exists() -> None:
    for assignment, names in course.COURSE.items():
        for name in names:
            assert (ROOT / "source" / assignment / f"{name}.ipynb").is_file(), name


def test_committed_release_matches_a_fresh_one(regenerated: Path) -> None:
    fresh, committed = _notebooks(regenerated), _notebooks(ROOT / "release")
    assert sorted(committed) == sorted(fresh), "release/ has missing or extra notebooks"
    stale = [name for name in fresh if fresh[name] != committed[name]]
    assert not stale, f"release/ is stale for {stale}: run `make release`"


def test_release_holds_no_solution_and_no_hidden_test() -> None:
    for name, notebook in _notebooks(ROOT / "release").items():
        text = json.dumps(notebook)
        for marker in ("BEGIN SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS"):
            assert marker not in text, f"{name} contains {marker!r}"
        for cell in notebook["cells"]:
            assert not cell.get("outputs"), f"{name} carries outputs"
