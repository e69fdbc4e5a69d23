"""The validity suite on the Hebrew notebooks: the same variants and the same checks.

One test module per notebook (``test_hebrew_<notebook>.py``), so that the test runners share
them out like the English modules.

For each Hebrew notebook (``source/<assignment>-he/``), in a scratch course, the English suite's
own ``suite.grade_variants`` releases it and grades, in one plain ``nbgrader autograde`` run, the
reference solution, the untouched release, a messy copy and every mutant of the English notebook
(``tests/mutants/<Notebook>.yaml``: mutants touch code, which the translation keeps); they are
then judged by ``suite.py``'s own test functions.
"""

from __future__ import annotations

from pathlib import Path

from tests.validity import suite


def check_hebrew_notebook(assignment: str, name: str, scratch: Path) -> None:
    """Reference full marks, release nothing, messy copy full marks, each mutant loses exactly
    its test's points: judged by the English suite's own tests."""
    graded = suite.grade_variants(scratch, assignment, name, with_alternatives=False)
    suite.test_reference_solution_earns_full_marks(graded, name)
    suite.test_untouched_release_earns_nothing(graded, name)
    suite.test_messy_but_correct_copy_earns_full_marks(graded, name)
    mutants = suite.mutants_of(name)
    assert mutants, f"{name} has no mutants"
    for mutant in mutants:
        suite.test_mutant_loses_exactly_its_tests_points(graded, name, mutant)
