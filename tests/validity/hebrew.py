"""The validity suite on the Hebrew notebooks: the same variants and the same checks.

One test module per notebook (``test_hebrew_<notebook>.py``), so that the test runners share
them out like the English modules.

For each Hebrew notebook (``source/<assignment>-he/``), in a scratch course, the English suite's
own ``suite.grade_variants`` releases it and grades, in one ``grader autograde`` run, the
reference solution, the untouched release, a messy copy and every mutant of the English notebook
(``tests/mutants/<Notebook>.yaml``: mutants touch code, which the translation keeps); they are
then judged by ``suite.py``'s own test functions.

The Hebrew notebooks are graded by the engine alone, as the classroom grades Hebrew students:
what this suite proves is that the translation grades like the English. That plain nbgrader and
the engine agree is the English suite's to prove (its alternatives under both), and the code
both languages run is the same (``grader.i18n.codecompare`` refuses a translation that changes
it). The test cells still run in the Hebrew kernel, and the mutants' failing checks raise
their Hebrew messages there.
"""

from __future__ import annotations

from pathlib import Path

from tests.validity import suite


def check_hebrew_notebook(assignment: str, name: str, scratch: Path) -> None:
    """Reference full marks and no flag, release nothing, messy copy full marks, each mutant
    loses exactly its test's points: judged by the English suite's own tests."""
    graded = suite.grade_variants(
        scratch, assignment, name, with_alternatives=False, nbgrader=False
    )
    assert graded.grader == "grader autograde"
    suite.test_reference_solution_earns_full_marks(graded, name)
    suite.test_reference_earns_every_point_in_engine(graded, name)
    suite.test_untouched_release_earns_nothing(graded, name)
    suite.test_messy_but_correct_copy_earns_full_marks(graded, name)
    mutants = suite.mutants_of(name)
    assert mutants, f"{name} has no mutants"
    for mutant in mutants:
        suite.test_mutant_loses_exactly_its_tests_points(graded, name, mutant)
