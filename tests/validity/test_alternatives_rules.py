"""The rules the validity suite applies to other correct answers, on made-up scores (no grading).

A lost point fails the suite; an answer noted as a known fairness bug must still lose its test
(reported as xfail) and fails the suite the moment it earns full marks, so the note is dropped
when the bug is fixed; a malformed alternatives file is refused with the set and cell named.
Every notebook's variants are packed into the fewest notebook runs they allow.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import nbformat
import pytest

from grader import course
from tests.validity.suite import (
    _check_full_marks,
    alternatives_of,
    exercises_of,
    mutants_of,
    submissions_of,
)
from tests.validity.variants import (
    MESSY,
    Alternative,
    AlternativeSet,
    Mutant,
    group_mutants,
    load_alternatives,
    mutate,
    share_submissions,
    with_noise,
)

NOTEBOOK = None  # not one notebook's module: conftest parametrizes nothing here
BOOK = "Overfitting"


def _set(fails: str | None = None) -> AlternativeSet:
    answers = set(exercises_of(BOOK).values())
    return AlternativeSet(
        1,
        tuple(
            Alternative(cell, "a style", "pass", fails if cell == "poly-fit" else None)
            for cell in sorted(answers)
        ),
    )


def _full() -> dict[str, tuple[float | None, float]]:
    return {test: (2.0, 2.0) for test in exercises_of(BOOK)}


def test_full_marks_pass() -> None:
    _check_full_marks(_full(), list(exercises_of(BOOK)), _set(), BOOK, "nbgrader")


def test_a_lost_point_fails_naming_the_style() -> None:
    scores = _full() | {"test-bias-variance": (0.0, 2.0)}
    with pytest.raises(AssertionError, match=r"test-bias-variance.*a style"):
        _check_full_marks(scores, list(exercises_of(BOOK)), _set(), BOOK, "nbgrader")


def test_an_ungraded_test_fails() -> None:
    scores = _full()
    del scores["test-regularize"]
    with pytest.raises(AssertionError, match="did not grade"):
        _check_full_marks(scores, list(exercises_of(BOOK)), _set(), BOOK, "nbgrader")


def test_a_known_fairness_bug_is_an_xfail_while_it_still_fails() -> None:
    scores = _full() | {"test-poly-fit": (0.0, 2.0)}
    with pytest.raises(pytest.xfail.Exception, match=r"test-poly-fit.*min-norm"):
        _check_full_marks(scores, list(exercises_of(BOOK)), _set("min-norm only"), BOOK, "x")


def test_tests_a_partner_mutant_targets_are_left_to_the_mutant() -> None:
    scores = _full() | {"test-bias-variance": (0.0, 2.0)}
    partial = AlternativeSet(4, (Alternative("poly-fit", "a style", "pass"),))
    mutated = frozenset({"test-bias-variance"})
    _check_full_marks(scores, list(exercises_of(BOOK)), partial, BOOK, "nbgrader", mutated)
    with pytest.raises(AssertionError, match=r"lost points: test-bias-variance"):
        _check_full_marks(scores, list(exercises_of(BOOK)), partial, BOOK, "nbgrader")


def test_a_mutant_may_not_share_a_submission_with_the_answer_its_test_grades() -> None:
    partial = AlternativeSet(4, (Alternative("poly-fit", "a style", "pass"),))
    with pytest.raises(AssertionError, match=r"shares a submission with mutants of \['test-poly"):
        _check_full_marks(
            _full(), list(exercises_of(BOOK)), partial, BOOK, "x", frozenset({"test-poly-fit"})
        )


def test_alternatives_share_a_submission_only_with_mutants_of_other_cells_and_tests() -> None:
    def mutant(test: str, cell: str) -> Mutant:
        return Mutant(test, cell, f"{test}/{cell}", "a", "b")

    def answering(number: int, *cells: str) -> AlternativeSet:
        return AlternativeSet(number, tuple(Alternative(c, "style", "pass") for c in cells))

    cell_of = {"t1": "c1", "t2": "c2", "t3": "c3", "t4": "c3"}
    groups = group_mutants(
        [mutant("t1", "c1"), mutant("t2", "c2"), mutant("t1", "c1"), mutant("t4", "c2")]
    )  # mutants-1: c1, c2; mutants-2: c1, and c2 targeting t4, a test of c3's answer
    sets = [answering(1, "c1", "c2", "c3"), answering(2, "c3"), answering(3, "c3")]
    sets.append(answering(4, "c2"))  # graded by t2 alone, but mutants-2 changes c2
    shared = share_submissions(groups, sets, cell_of)
    assert [s.student for s in shared] == [
        "mutants-2",
        "alternative-1-messy",
        "mutants-1-alternative-2",
        "alternative-3",
        "alternative-4",
    ]
    carried = [v for s in shared for v in s.variants]
    everything = [g.student for g in groups] + [a.student for a in sets] + [MESSY]
    assert sorted(carried) == sorted(everything)


def test_the_messy_copy_rides_with_a_set_that_earns_every_point_alone() -> None:
    """Not with a set beside mutants, nor one with a known fairness bug; without such a set it
    is a submission of its own."""
    (group,) = group_mutants([Mutant("t1", "c1", "why", "a", "b")])
    unfair = AlternativeSet(1, (Alternative("c2", "style", "pass", fails="known"),))
    beside = AlternativeSet(2, (Alternative("c2", "style", "pass"),))
    alone = AlternativeSet(3, (Alternative("c2", "style", "pass"),))
    cell_of = {"t1": "c1", "t2": "c2"}
    shared = share_submissions([group], [beside, unfair, alone], cell_of)
    assert [s.student for s in shared] == [
        "mutants-1-alternative-2",
        "alternative-1",
        "alternative-3-messy",
    ]
    assert [s.student for s in share_submissions([group], [beside, unfair], cell_of)] == [
        "mutants-1-alternative-2",
        "alternative-1",
        "messy",
    ]


def test_every_answer_of_the_messy_copy_is_noisy_when_called() -> None:
    """Reference answers (after their solution marker) and other correct answers (first in the
    body of their first function, or at the top of a cell that defines none)."""
    reference = "def f(x):\n    ### BEGIN SOLUTION\n    return x\n    ### END SOLUTION\n"
    assert with_noise(reference, "NOISE").splitlines()[2] == "    NOISE"
    method = "class S:\n    @staticmethod\n    def forward(x):\n        return x\n"
    assert with_noise(method, "NOISE").splitlines()[3] == "        NOISE"
    nested = "def f(x):\n    @wraps(x)\n    def g():\n        pass\n    return g\n"
    assert with_noise(nested, "NOISE").splitlines()[1] == "    NOISE"
    assert with_noise("model = 3\n", "NOISE") == "NOISE\nmodel = 3\n"
    assert with_noise("def f(x): return x\n", "NOISE").startswith("NOISE\n")


def test_a_fixed_fairness_bug_fails_until_its_note_is_dropped() -> None:
    with pytest.raises(AssertionError, match="now earn full marks"):
        _check_full_marks(_full(), list(exercises_of(BOOK)), _set("min-norm"), BOOK, "x")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("- answers: {a: {style: s, source: x}}\n", "integer 'set'"),
        ("- set: 1\n  answers: {a: {source: x}}\n", "set 1, a: needs 'style'"),
        ("- set: 1\n  answers: {a: {style: s, source: x}}\n" * 2, "repeat"),
    ],
)
def test_malformed_alternatives_are_refused(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "Book.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match=message):
        load_alternatives(path)


def test_a_mutant_that_no_longer_applies_names_its_file_and_cell() -> None:
    notebook = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell(
                "def f():\n    return 1\n",
                metadata={"nbgrader": {"grade_id": "answer", "solution": True}},
            )
        ]
    )
    renamed = Mutant("test-f", "answer", "off by one", "return 2", "return 3", "Book.yaml")
    with pytest.raises(
        ValueError, match=r"Book\.yaml: 'off by one' \(test test-f\).*cell 'answer'"
    ):
        mutate(notebook, renamed)
    gone = Mutant("test-f", "answer-gone", "off by one", "return 1", "return 2", "Book.yaml")
    with pytest.raises(ValueError, match=r"Book\.yaml.*no cell 'answer-gone'"):
        mutate(notebook, gone)
    applied = mutate(notebook, Mutant("test-f", "answer", "off", "return 1", "return 2"))
    assert "return 2" in applied.cells[0].source and "return 1" in notebook.cells[0].source


def test_mutants_of_one_test_or_one_cell_never_share_a_run() -> None:
    def mutant(test: str, cell: str) -> Mutant:
        return Mutant(test, cell, f"{test}/{cell}", "a", "b")

    mutants = [
        mutant("t1", "c1"),
        mutant("t1", "c1"),
        mutant("t2", "c1"),
        mutant("t3", "c3"),
        mutant("t1", "c4"),  # another cell, but a test already in the first two groups
    ]
    groups = group_mutants(mutants)
    assert [[m.why for m in g.mutants] for g in groups] == [
        ["t1/c1", "t3/c3"],
        ["t1/c1"],
        ["t2/c1", "t1/c4"],
    ]
    assert groups[0].tests == {"t1", "t3"} and groups[0].student == "mutants-1"


COURSE_NOTEBOOKS = sorted(name for names in course.COURSE.values() for name in names)


@pytest.mark.parametrize("name", COURSE_NOTEBOOKS)
def test_each_notebook_is_graded_in_the_fewest_runs_its_variants_allow(name: str) -> None:
    """A submission holds one answer in each cell and one mutant of each test, so the cell
    with the most alternatives and mutants (or the test with the most mutants) needs a
    submission for each: that is the floor of a notebook's runs besides its reference and
    release (the messy copy rides along). Every notebook's variants are packed down to it, in
    English (plain nbgrader and the engine) and in Hebrew (the mutants alone); a packing that
    shares less would grade the same assertions in more notebook runs."""
    mutants, sets = mutants_of(name), alternatives_of(name)
    per_cell = Counter(m.cell for m in mutants)
    per_test = Counter(m.test for m in mutants)
    mutants_floor = max([*per_cell.values(), *per_test.values()])
    per_cell.update(a.cell for s in sets for a in s.answers)
    floor = max([*per_cell.values(), *per_test.values()])
    english, hebrew = submissions_of(name), submissions_of(name, with_alternatives=False)
    assert len(english) == floor, f"{name}: {len(english)} English runs, the floor is {floor}"
    assert len(hebrew) == mutants_floor + 1, (  # the messy copy alone: no set to ride with
        f"{name}: {len(hebrew)} Hebrew runs, the floor is {mutants_floor + 1}"
    )
