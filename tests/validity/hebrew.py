"""The validity suite on the Hebrew notebooks: the same variants and the same checks.

One test module per notebook (``test_hebrew_<notebook>.py``), so that the test runners share
them out like the English modules.

For each Hebrew notebook (``source/<assignment>-he/``), in a scratch course: the release is made
with ``course.release`` and every variant graded in one plain ``nbgrader autograde`` run, as the
English suite does; the reference solution, the untouched release, a messy copy and every mutant
of the English notebook (``tests/mutants/<Notebook>.yaml``: mutants touch code, which the
translation keeps) are then judged by ``suite.py``'s own test functions.
"""

from __future__ import annotations

from pathlib import Path

import nbformat

from grader import course
from tests.validity import suite
from tests.validity.variants import is_autograded_test, messy, mutate, nbgrader_meta


def _grade(scratch: Path, assignment: str, name: str) -> suite.Graded:
    source = suite.ROOT / "source" / assignment / f"{name}.ipynb"
    root = scratch / "course"
    (root / "source" / assignment).mkdir(parents=True)
    (root / "nbgrader_config.py").write_bytes((suite.ROOT / "nbgrader_config.py").read_bytes())
    (root / "source" / assignment / source.name).write_bytes(source.read_bytes())
    course.release(root, [assignment])

    reference = nbformat.read(source, as_version=4)
    variants = {
        "reference": reference,
        "blank": nbformat.read(root / "release" / assignment / source.name, as_version=4),
        "messy": messy(reference),
    }
    for mutant in suite.mutants_of(name):
        variants[mutant.student] = mutate(reference, mutant)
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
    return suite.Graded(tests=tests, scores=scores, engine={})


def check_hebrew_notebook(assignment: str, name: str, scratch: Path) -> None:
    """Reference full marks, release nothing, messy copy full marks, each mutant loses exactly
    its test's points: judged by the English suite's own tests."""
    graded = _grade(scratch, assignment, name)
    suite.test_reference_solution_earns_full_marks(graded, name)
    suite.test_untouched_release_earns_nothing(graded, name)
    suite.test_messy_but_correct_copy_earns_full_marks(graded, name)
    mutants = suite.mutants_of(name)
    assert mutants, f"{name} has no mutants"
    for mutant in mutants:
        suite.test_mutant_loses_exactly_its_tests_points(graded, name, mutant)
