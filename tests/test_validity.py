"""Each notebook's grading means something, under real `nbgrader autograde`.

For every notebook of the course, in a scratch course directory: the reference solution earns
full marks, the untouched release earns nothing, a messy-but-correct copy (warnings, stderr, a
TensorFlow import, stray outputs, extra and moved cells) earns full marks, and every mutant (a
plausible mistake) loses exactly the points of the test it targets.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest

from grader import course
from tests.notebook_variants import (
    Mutant,
    hidden_test_ids,
    is_autograded_test,
    load_mutants,
    messy,
    mutate,
    nbgrader_meta,
)

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = [(a, n) for a, names in course.COURSE.items() for n in names]
MUTANTS = {n: load_mutants(ROOT / "tests" / "mutants" / f"{n}.yaml") for _, n in NOTEBOOKS}


@dataclass(frozen=True)
class Graded:
    """Scores of every variant of one notebook: student -> grade_id -> (score, max_score)."""

    tests: list[str]
    scores: dict[str, dict[str, tuple[float | None, float]]]


def _grade_variants(scratch: Path, assignment: str, name: str) -> Graded:
    source = ROOT / "source" / assignment / f"{name}.ipynb"
    root = scratch / "course"
    (root / "source" / assignment).mkdir(parents=True)
    (root / "nbgrader_config.py").write_bytes((ROOT / "nbgrader_config.py").read_bytes())
    (root / "source" / assignment / source.name).write_bytes(source.read_bytes())
    course.release(root, [assignment])

    reference = nbformat.read(source, as_version=4)
    variants = {
        "reference": reference,
        "blank": nbformat.read(root / "release" / assignment / source.name, as_version=4),
        "messy": messy(reference),
    }
    for mutant in MUTANTS[name]:
        variants[mutant.student] = mutate(reference, mutant)
    for student, notebook in variants.items():
        path = scratch / f"{student}.ipynb"
        nbformat.write(notebook, path)
        course.submit(root, student, assignment, {name: path})
    course.autograde(root, assignment)

    tests = [nbgrader_meta(c)["grade_id"] for c in reference.cells if is_autograded_test(c)]
    scores = {
        student: {
            s.grade_id: (s.score, s.max_score) for s in course.scores(root, assignment, student)
        }
        for student in variants
    }
    return Graded(tests=tests, scores=scores)


@pytest.fixture(scope="session")
def graded(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    """Grade all variants of a notebook once per test session (one nbgrader run)."""
    cache: dict[str, Graded] = {}

    def get(assignment: str, name: str) -> Graded:
        if name not in cache:
            cache[name] = _grade_variants(tmp_path_factory.mktemp(name), assignment, name)
        return cache[name]

    yield get


def _params(with_mutants: bool = False) -> list:
    params = []
    for assignment, name in NOTEBOOKS:
        mark = pytest.mark.xdist_group(name)
        if with_mutants:
            params += [
                pytest.param(assignment, name, m, marks=mark, id=f"{name}-{m.student}")
                for m in MUTANTS[name]
            ]
        else:
            params.append(pytest.param(assignment, name, marks=mark, id=name))
    return params


@pytest.mark.parametrize(("assignment", "name"), _params())
def test_reference_solution_earns_full_marks(graded, assignment: str, name: str) -> None:
    result = graded(assignment, name)
    assert result.tests, f"{name} has no autograded tests"
    lost = {t: s for t, s in result.scores["reference"].items() if s[0] != s[1]}
    assert not lost, f"the reference solution of {name} lost points: {lost}"


@pytest.mark.parametrize(("assignment", "name"), _params())
def test_untouched_release_earns_nothing(graded, assignment: str, name: str) -> None:
    result = graded(assignment, name)
    earned = {t: result.scores["blank"][t] for t in result.tests if result.scores["blank"][t][0]}
    assert not earned, f"the blank release of {name} earned points: {earned}"


@pytest.mark.parametrize(("assignment", "name"), _params())
def test_messy_but_correct_copy_earns_full_marks(graded, assignment: str, name: str) -> None:
    result = graded(assignment, name)
    lost = {t: s for t, s in result.scores["messy"].items() if s[0] != s[1]}
    assert not lost, f"warnings, stderr or stray cells cost {name} points: {lost}"


@pytest.mark.parametrize(("assignment", "name"), _params())
def test_every_hidden_test_has_a_mutant(assignment: str, name: str) -> None:
    notebook = nbformat.read(ROOT / "source" / assignment / f"{name}.ipynb", as_version=4)
    hidden = set(hidden_test_ids(notebook))
    assert hidden, f"{name} has no hidden tests"
    covered = {m.test for m in MUTANTS[name]}
    assert hidden <= covered, f"hidden tests of {name} without a mutant: {sorted(hidden - covered)}"


@pytest.mark.parametrize(("assignment", "name", "mutant"), _params(with_mutants=True))
def test_mutant_loses_exactly_its_tests_points(
    graded, assignment: str, name: str, mutant: Mutant
) -> None:
    result = graded(assignment, name)
    scores = result.scores[mutant.student]
    assert mutant.test in scores, f"{mutant.test} is not a graded cell of {name}"
    changed = {t: s for t, s in scores.items() if s[0] != result.scores["reference"][t][0]}
    assert set(changed) == {mutant.test}, (
        f"'{mutant.why}' should lose exactly the points of {mutant.test}; scores that changed: "
        f"{changed or 'none'}"
    )
    assert scores[mutant.test][0] == 0, f"'{mutant.why}' kept {scores[mutant.test][0]} points"


def test_a_stuck_cell_costs_only_its_own_test(tmp_path: Path) -> None:
    """An answer cell that never finishes is interrupted; everything after it still grades."""
    assignment, name = "overfitting", "Overfitting"
    root = course.make_course_copy(ROOT, tmp_path / "course", [assignment])
    with (root / "nbgrader_config.py").open("a", encoding="utf-8") as config:
        config.write("\nc.Execute.timeout = 45\n")
    course.release(root, [assignment])
    stuck = nbformat.read(ROOT / "source" / assignment / f"{name}.ipynb", as_version=4)
    for cell in stuck.cells:
        if nbgrader_meta(cell).get("grade_id") == "best-epoch":
            cell.source = "while True:\n    pass\n\n" + cell.source
    path = tmp_path / "stuck.ipynb"
    nbformat.write(stuck, path)
    course.submit(root, "stuck", assignment, {name: path})
    course.autograde(root, assignment)
    scores = {s.grade_id: (s.score, s.max_score) for s in course.scores(root, assignment, "stuck")}
    assert scores.pop("test-best-epoch")[0] == 0
    assert all(score == maximum for score, maximum in scores.values()), scores
