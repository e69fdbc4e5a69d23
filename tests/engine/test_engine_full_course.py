"""The hardened engine on the whole course: every reference earns full marks, every release 0.

Each of the course's assignments is graded with `grader autograde` (the command, sandbox and
sealed data included) in a scratch copy of the course, with two students: the instructor's
solution and the untouched release. This is what proves that the evidence of every real test
cell (gradients, values, devices, predictions, overfitting gaps) is judged as intended.
"""

from __future__ import annotations

import json

import pytest

from grader import course
from grader.cli import main
from tests.support import ROOT

ASSIGNMENTS = list(course.COURSE)


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], dict]:
    """results.json by (assignment, student)."""
    root = course.make_course_copy(ROOT, tmp_path_factory.mktemp("full") / "course", ASSIGNMENTS)
    course.release(root, ASSIGNMENTS)
    for assignment, names in course.COURSE.items():
        for student, folder in (("reference", "source"), ("blank", "release")):
            notebooks = {n: root / folder / assignment / f"{n}.ipynb" for n in names}
            course.submit(root, student, assignment, notebooks)
        assert main(["autograde", assignment, "--root", str(root)]) == 0
    return {
        (assignment, student): json.loads(
            (root / "autograded" / student / assignment / "results.json").read_text()
        )
        for assignment in ASSIGNMENTS
        for student in ("reference", "blank")
    }


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_reference_earns_every_autograded_point(results, assignment: str) -> None:
    document = results[(assignment, "reference")]
    assert document["gradable"], document
    lost = [t for t in document["tests"] if t["score"] != t["max_score"]]
    assert not lost, lost
    assert not document.get("flags"), document.get("flags")


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_untouched_release_earns_nothing(results, assignment: str) -> None:
    document = results[(assignment, "blank")]
    earned = [t for t in document["tests"] if t["score"]]
    assert not earned, earned
    assert document["tests"], "the release has autograded tests"
