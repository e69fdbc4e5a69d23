"""The validity suite: each notebook's grading means something, under real `nbgrader autograde`.

For a notebook, in a scratch course directory: the reference solution earns full marks, the
untouched release earns nothing, a messy-but-correct copy (warnings, stderr, a TensorFlow
import, stray outputs, extra and moved cells) earns full marks, and every mutant (a plausible
mistake, `tests/mutants/<Notebook>.yaml`) loses exactly the points of the test it targets.

Each `tests/validity/test_<notebook>.py` imports these tests and names its notebook in
`NOTEBOOK`; `conftest.py` parametrizes them. One file per notebook lets pytest-xdist's
`--dist loadfile` grade each notebook once, on one worker.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest

from grader import course
from tests.validity.variants import (
    Mutant,
    hidden_test_ids,
    is_autograded_test,
    load_mutants,
    messy,
    mutate,
    nbgrader_meta,
)

ROOT = Path(__file__).resolve().parents[2]


def assignment_of(name: str) -> str:
    """The assignment a course notebook belongs to."""
    return next(a for a, names in course.COURSE.items() if name in names)


def mutants_of(name: str) -> list[Mutant]:
    """The mutants listed for a notebook."""
    return load_mutants(ROOT / "tests" / "mutants" / f"{name}.yaml")


@dataclass(frozen=True)
class Graded:
    """Scores of every variant of one notebook: student -> grade_id -> (score, max_score)."""

    tests: list[str]
    scores: dict[str, dict[str, tuple[float | None, float]]]


def replace_answers(
    notebook: nbformat.NotebookNode, answers: dict[str, str]
) -> nbformat.NotebookNode:
    """A copy of ``notebook`` whose answer cells named in ``answers`` hold other code."""
    changed = nbformat.from_dict(notebook)
    found = set()
    for cell in changed.cells:
        grade_id = nbgrader_meta(cell).get("grade_id")
        if grade_id in answers:
            cell.source = answers[grade_id]
            found.add(grade_id)
    missing = set(answers) - found
    assert not missing, f"no answer cells named {sorted(missing)}"
    return changed


def _grade_variants(
    scratch: Path, assignment: str, name: str, alternatives: dict[str, dict[str, str]]
) -> Graded:
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
    for mutant in mutants_of(name):
        variants[mutant.student] = mutate(reference, mutant)
    for student, answers in alternatives.items():
        variants[student] = replace_answers(reference, answers)
    for student, variant in variants.items():
        path = scratch / f"{student}.ipynb"
        nbformat.write(variant, path)
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


@pytest.fixture(scope="module")
def graded(
    request: pytest.FixtureRequest, notebook: str, tmp_path_factory: pytest.TempPathFactory
) -> Graded:
    """All variants of the module's notebook, graded in one nbgrader run.

    A module may name ``ALTERNATIVES``: other correct answers (student -> answer cell -> code),
    e.g. the lab answered in TensorFlow instead of PyTorch.
    """
    alternatives = getattr(request.module, "ALTERNATIVES", {})
    scratch = tmp_path_factory.mktemp(notebook)
    return _grade_variants(scratch, assignment_of(notebook), notebook, alternatives)


def _lost(scores: dict[str, tuple[float | None, float]], tests: list[str]) -> dict:
    """The autograded tests that did not earn full marks (manual grades are not autograded)."""
    return {t: scores[t] for t in tests if scores[t][0] != scores[t][1]}


def test_reference_solution_earns_full_marks(graded: Graded, notebook: str) -> None:
    assert graded.tests, f"{notebook} has no autograded tests"
    lost = _lost(graded.scores["reference"], graded.tests)
    assert not lost, f"the reference solution of {notebook} lost points: {lost}"


def test_untouched_release_earns_nothing(graded: Graded, notebook: str) -> None:
    blank = graded.scores["blank"]
    earned = {t: blank[t] for t in graded.tests if blank[t][0]}
    assert not earned, f"the blank release of {notebook} earned points: {earned}"


def test_messy_but_correct_copy_earns_full_marks(graded: Graded, notebook: str) -> None:
    lost = _lost(graded.scores["messy"], graded.tests)
    assert not lost, f"warnings, stderr or stray cells cost {notebook} points: {lost}"


def test_other_correct_answers_earn_full_marks(
    request: pytest.FixtureRequest, graded: Graded, notebook: str
) -> None:
    for student in getattr(request.module, "ALTERNATIVES", {}):
        lost = _lost(graded.scores[student], graded.tests)
        assert not lost, f"the '{student}' answers to {notebook} lost points: {lost}"


def test_every_hidden_test_has_a_mutant(notebook: str) -> None:
    source = ROOT / "source" / assignment_of(notebook) / f"{notebook}.ipynb"
    hidden = set(hidden_test_ids(nbformat.read(source, as_version=4)))
    assert hidden, f"{notebook} has no hidden tests"
    covered = {m.test for m in mutants_of(notebook)}
    assert hidden <= covered, (
        f"hidden tests of {notebook} without a mutant: {sorted(hidden - covered)}"
    )


def test_mutant_loses_exactly_its_tests_points(
    graded: Graded, notebook: str, mutant: Mutant
) -> None:
    scores = graded.scores[mutant.student]
    assert mutant.test in scores, f"{mutant.test} is not a graded cell of {notebook}"
    changed = {t: s for t, s in scores.items() if s[0] != graded.scores["reference"][t][0]}
    assert set(changed) == {mutant.test}, (
        f"'{mutant.why}' should lose exactly the points of {mutant.test}; scores that changed: "
        f"{changed or 'none'}"
    )
    assert scores[mutant.test][0] == 0, f"'{mutant.why}' kept {scores[mutant.test][0]} points"
