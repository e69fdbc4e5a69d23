"""The validity suite: each notebook's grading means something, under real `nbgrader autograde`.

For a notebook, in a scratch course directory: the reference solution earns full marks, the
untouched release earns nothing, a messy-but-correct copy (warnings, stderr, a TensorFlow
import, stray outputs, extra and moved cells) earns full marks, every mutant (a plausible
mistake, `tests/mutants/<Notebook>.yaml`) loses exactly the points of the test it targets, and
every other correct answer (`tests/alternatives/<Notebook>.yaml`, at least three per exercise,
grouped in sets that each answer every exercise once) earns full marks under plain nbgrader
and under the hardened engine (`grader autograde`), which also gives the reference every point
with no flag and the release none.

Mutants share submissions: a group holds mutants of different tests in different answer cells
(`variants.group_mutants`), so one run shows each mutant's loss beside the others'. Their
effects add up; what a shared run cannot show is a mutant that also breaks a partner's target
(that test is lost either way). A notebook's 12 to 22 mutants need 3 to 6 runs. An alternative
set that answers only some exercises shares a group's submission when the group touches none
of its cells and targets none of its tests (`variants.share_submissions`): each test then
speaks for one variant, the group's tests lose their points and the set's earn theirs, so
plain nbgrader grades every mutant and every alternative in the fewest runs found. The messy
copy rides along with a set that earns every point alone (`variants.with_messy_copy`): that
submission is saved messily, and both must earn every point.

Each `tests/validity/test_<notebook>.py` imports these tests and names its notebook in
`NOTEBOOK`; `conftest.py` parametrizes them. One file per notebook lets pytest-xdist's
`--dist loadfile` grade each notebook once, on one worker.

Each module grades the notebook's Hebrew translation (``source/<assignment>-he/``) too, in the
same scratch course: its reference, release, messy copy and every mutant group of the English
notebook, graded by the engine alone, as the classroom grades Hebrew students, and judged by
the same tests (``test_the_hebrew_translation_grades_like_the_english``). What that proves is
that the translation grades like the English; that plain nbgrader and the engine agree is the
English variants' to prove (their alternatives under both), and the code both languages run is
the same (``grader.i18n.codecompare`` refuses a translation that changes it). The test cells
still run in the Hebrew kernel, and the mutants' failing checks raise their Hebrew messages
there. The engine grades both languages in one ``grader autograde`` run (one zygote).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import pytest

from grader import course
from tests.support import cores_per_worker
from tests.validity.variants import (
    MESSY,
    AlternativeSet,
    Mutant,
    MutantGroup,
    Submission,
    exercises,
    group_mutants,
    hidden_test_ids,
    is_autograded_test,
    load_alternatives,
    load_mutants,
    messy,
    mutate,
    nbgrader_meta,
    share_submissions,
)

ROOT = Path(__file__).resolve().parents[2]
#: Fewer correct alternatives than this for an exercise fails the suite.
MIN_ALTERNATIVES = 3
#: Longest the engine may take to grade one notebook's alternative sets.
ENGINE_TIMEOUT_S = 900


def assignment_of(name: str) -> str:
    """The assignment a course notebook belongs to."""
    return next(a for a, names in course.COURSE.items() if name in names)


def mutants_of(name: str) -> list[Mutant]:
    """The mutants listed for a notebook."""
    return load_mutants(ROOT / "tests" / "mutants" / f"{name}.yaml")


def mutant_groups_of(name: str) -> list[MutantGroup]:
    """A notebook's mutants in groups that share one submission (see ``group_mutants``)."""
    return group_mutants(mutants_of(name))


def alternatives_of(name: str) -> list[AlternativeSet]:
    """The sets of other correct answers listed for a notebook."""
    return load_alternatives(ROOT / "tests" / "alternatives" / f"{name}.yaml")


def submissions_of(name: str, with_alternatives: bool = True) -> list[Submission]:
    """The mutant groups and (optionally) the alternative sets of a notebook, in the shared
    submissions that carry them (see ``variants.share_submissions``)."""
    sets = alternatives_of(name) if with_alternatives else []
    return share_submissions(mutant_groups_of(name), sets, exercises_of(name))


Scores = dict[str, tuple[float | None, float]]


@dataclass(frozen=True)
class Graded:
    """Scores of every variant of one notebook: student -> grade_id -> (score, max_score).

    ``scores`` holds every variant's scores from the run that graded them all: plain nbgrader,
    or the engine when the suite runs on the engine alone (``grader``). ``engine`` holds the
    hardened engine's scores of what it graded (the reference, the release and the alternative
    sets; every variant when it graded them all), ``flags`` the tampering it flagged by student;
    ``seconds`` how long each grader took for its ``students``; ``submissions`` the mutant
    groups and alternative sets and the submissions that carried them.
    """

    tests: list[str]
    scores: dict[str, Scores]
    engine: dict[str, Scores]
    flags: dict[str, list[str]] = field(default_factory=dict)
    grader: str = "nbgrader"
    students: int = 0
    seconds: dict[str, float] = field(default_factory=dict)
    submissions: tuple[Submission, ...] = ()

    def carrying(self, variant: str) -> Submission:
        """The submission that carried a mutant group or alternative set (by its name)."""
        (found,) = [s for s in self.submissions if variant in s.variants]
        return found


def replace_answers(
    notebook: nbformat.NotebookNode, alternatives: AlternativeSet
) -> nbformat.NotebookNode:
    """A copy of ``notebook`` whose answer cells hold the set's other answers; a set that
    names a cell the notebook no longer has fails with its file, set and cell named."""
    answers = alternatives.sources()
    changed = nbformat.from_dict(notebook)
    found = set()
    for cell in changed.cells:
        grade_id = nbgrader_meta(cell).get("grade_id")
        if grade_id in answers:
            cell.source = answers[grade_id]
            found.add(grade_id)
    missing = set(answers) - found
    assert not missing, (
        f"{alternatives.source or 'alternatives'}: set {alternatives.number} answers cells the "
        f"notebook does not have: {sorted(missing)}"
    )
    return changed


@dataclass(frozen=True)
class EngineRun:
    """What ``grader autograde`` gave each student for one notebook: scores and flags."""

    scores: dict[str, Scores]
    flags: dict[str, list[str]]


def engine_scores(root: Path, name: str, wanted: dict[str, dict[str, str]]) -> dict[str, EngineRun]:
    """Grade, in one ``grader autograde`` run (a subprocess, as an instructor runs it: one
    zygote and one session for every assignment named), the ``wanted`` submissions: assignment
    -> student id -> the variant it holds. Returns per assignment the variants' scores
    (grade_id -> (score, max_score) for notebook ``name``) and the flags raised. Every
    submission must be gradable: none of them is broken."""
    students = sorted({student for chosen in wanted.values() for student in chosen})
    if not students:
        return {assignment: EngineRun({}, {}) for assignment in wanted}
    command = [str(Path(sys.executable).parent / "grader"), "autograde", *wanted]
    command += ["--root", str(root), "--force", "--student", *students]
    # this test's share of the cores: a worker for each, one kernel thread on each; with one
    # core, in the grader's own process (the same kernels, zygote and judging as on a cluster,
    # without a one-worker cluster's two processes to start: the engine's own tests prove the
    # Dask path)
    cores = cores_per_worker()
    command += ["--serial"] if cores == 1 else ["--workers", str(cores)]
    command += ["--threads", "1"]
    done = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=ENGINE_TIMEOUT_S,
        stdin=subprocess.DEVNULL,
        env=course.tool_environment(),
        check=False,
    )
    assert done.returncode == 0, f"grader autograde failed:\n{done.stdout}\n{done.stderr}"
    runs = {}
    for assignment, chosen in wanted.items():
        scores: dict[str, Scores] = {}
        flags: dict[str, list[str]] = {}
        for student, variant in chosen.items():
            path = root / "autograded" / student / assignment / "results.json"
            document = json.loads(path.read_text(encoding="utf-8"))
            assert document["gradable"], f"{student}: not gradable: {document['reasons']}"
            scores[variant] = {
                t["name"].split("/", 1)[1]: (t["score"], t["max_score"])
                for t in document["tests"]
                if t["name"].split("/", 1)[0] == name
            }
            flags[variant] = list(document.get("flags", []))
        runs[assignment] = EngineRun(scores, flags)
    return runs


def hebrew_of(assignment: str) -> str:
    """The assignment of an assignment's Hebrew translation (``lab`` -> ``lab-he``)."""
    return f"{assignment}-he"


#: Prefix of the Hebrew variants' student ids: both languages' variants share one course.
HEBREW_STUDENT = "he-"


@dataclass(frozen=True)
class Submitted:
    """The variants of a notebook submitted in one language: student id -> variant, the
    submissions that carry the mutant groups and alternative sets, the autograded tests."""

    students: dict[str, str]
    submissions: list[Submission]
    tests: list[str]


def submit_variants(
    root: Path, scratch: Path, assignment: str, name: str, with_alternatives: bool, prefix: str = ""
) -> Submitted:
    """Submit the reference, the untouched release, a messy copy, every mutant group and
    (optionally) every alternative set of notebook ``name`` of ``assignment`` (released in
    the course ``root``), each under the student id ``prefix`` + its variant's name."""
    source = root / "source" / assignment / f"{name}.ipynb"
    reference = nbformat.read(source, as_version=4)
    variants = {
        "reference": reference,
        "blank": nbformat.read(root / "release" / assignment / source.name, as_version=4),
    }
    submissions = submissions_of(name, with_alternatives)
    for submission in submissions:
        variant = reference
        if submission.alternatives is not None:
            variant = replace_answers(variant, submission.alternatives)
        if submission.group is not None:
            variant = mutate(variant, *submission.group.mutants)
        if submission.messy:
            variant = messy(variant)
        variants[submission.student] = variant
    folder = scratch / assignment
    folder.mkdir()
    students = {}
    for student, variant in variants.items():
        path = folder / f"{student}.ipynb"
        nbformat.write(variant, path)
        course.submit(root, prefix + student, assignment, {name: path})
        students[prefix + student] = student
    tests = [nbgrader_meta(c)["grade_id"] for c in reference.cells if is_autograded_test(c)]
    return Submitted(students, submissions, tests)


@dataclass(frozen=True)
class Languages:
    """A notebook's variants graded in English (plain nbgrader, then the engine) and in Hebrew
    (the engine alone)."""

    english: Graded
    hebrew: Graded


def grade_variants(scratch: Path, assignment: str, name: str) -> Languages:
    """Notebook ``name`` of ``assignment`` and its Hebrew translation, released together in a
    scratch course and graded.

    English: the reference, the untouched release, a messy copy, every mutant group and every
    alternative set, graded by one plain ``nbgrader autograde`` run; the engine then grades the
    reference, the release and the alternative sets. Hebrew: the same variants but the
    alternatives, graded by the engine alone, as the classroom grades Hebrew students
    (``test_the_hebrew_translation_grades_like_the_english``). The engine grades both
    languages in one ``grader autograde`` run.
    """
    hebrew = hebrew_of(assignment)
    root = scratch / "course"
    for chosen in (assignment, hebrew):
        (root / "source" / chosen).mkdir(parents=True)
        source = ROOT / "source" / chosen / f"{name}.ipynb"
        (root / "source" / chosen / source.name).write_bytes(source.read_bytes())
    (root / "nbgrader_config.py").write_bytes((ROOT / "nbgrader_config.py").read_bytes())
    course.release(root, [assignment, hebrew])
    english = submit_variants(root, scratch, assignment, name, with_alternatives=True)
    translated = submit_variants(
        root, scratch, hebrew, name, with_alternatives=False, prefix=HEBREW_STUDENT
    )

    seconds: dict[str, float] = {}
    started = time.monotonic()
    course.autograde(root, assignment)
    seconds["nbgrader"] = time.monotonic() - started
    scores = {
        student: {
            s.grade_id: (s.score, s.max_score) for s in course.scores(root, assignment, student)
        }
        for student in english.students
    }
    carriers = {s.student for s in english.submissions if s.alternatives is not None}
    by_engine = {
        assignment: {
            s: v for s, v in english.students.items() if v in {"reference", "blank"} | carriers
        },
        hebrew: translated.students,
    }
    started = time.monotonic()
    engine = engine_scores(root, name, by_engine)
    seconds["engine (both languages)"] = time.monotonic() - started
    return Languages(
        english=Graded(
            tests=english.tests,
            scores=scores,
            engine=engine[assignment].scores,
            flags=engine[assignment].flags,
            students=len(english.students),
            seconds=seconds,
            submissions=tuple(english.submissions),
        ),
        hebrew=Graded(
            tests=translated.tests,
            scores=engine[hebrew].scores,
            engine=engine[hebrew].scores,
            flags=engine[hebrew].flags,
            grader="grader autograde",
            students=len(translated.students),
            seconds=seconds,
            submissions=tuple(translated.submissions),
        ),
    )


@pytest.fixture(scope="module")
def languages(notebook: str, tmp_path_factory: pytest.TempPathFactory) -> Languages:
    """All variants of the module's notebook and of its Hebrew translation, graded once."""
    scratch = tmp_path_factory.mktemp(notebook)
    graded = grade_variants(scratch, assignment_of(notebook), notebook)
    timing = ", ".join(f"{k} {v:.0f} s" for k, v in graded.english.seconds.items())
    print(f"\n{notebook}: {graded.english.students} + {graded.hebrew.students} students; {timing}")
    return graded


@pytest.fixture(scope="module")
def graded(languages: Languages) -> Graded:
    """The English variants of the module's notebook: every one graded by plain nbgrader, the
    reference, the release and the alternative sets by the engine as well."""
    return languages.english


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


def test_reference_earns_every_point_in_engine(graded: Graded, notebook: str) -> None:
    """The hardened engine judges every real test's evidence as intended: the reference earns
    every autograded point and raises no tampering flag."""
    lost = _lost(graded.engine["reference"], graded.tests)
    assert not lost, f"grader autograde: the reference solution of {notebook} lost points: {lost}"
    assert not graded.flags["reference"], f"the reference was flagged: {graded.flags['reference']}"


def test_untouched_release_earns_nothing_in_engine(graded: Graded, notebook: str) -> None:
    blank = graded.engine["blank"]
    assert set(graded.tests) <= set(blank), f"the engine did not grade {notebook}'s release"
    earned = {t: blank[t] for t in graded.tests if blank[t][0]}
    assert not earned, f"grader autograde: the blank release of {notebook} earned points: {earned}"


def test_messy_but_correct_copy_earns_full_marks(graded: Graded, notebook: str) -> None:
    """A correct notebook saved messily (``variants.messy``) earns every point: the reference
    or, riding along, an alternative set that earns every point itself."""
    carrier = graded.carrying(MESSY)
    assert carrier.group is None, f"the messy copy of {notebook} shares a run with mutants"
    lost = _lost(graded.scores[carrier.student], graded.tests)
    assert not lost, (
        f"warnings, stderr or stray cells cost {notebook} points ({carrier.student}): {lost}"
    )


def exercises_of(notebook: str) -> dict[str, str]:
    """Autograded test grade_id -> the answer cell it grades, in a course notebook."""
    source = ROOT / "source" / assignment_of(notebook) / f"{notebook}.ipynb"
    return exercises(nbformat.read(source, as_version=4))


def _check_full_marks(
    scores: Scores,
    tests: list[str],
    alternatives: AlternativeSet,
    notebook: str,
    grader: str,
    mutated: frozenset[str] = frozenset(),
) -> None:
    """Every test earns full marks, except those whose answer carries a ``fails`` note (a known
    fairness bug): they must still fail (reported as xfail), so a fix shows up at once. The
    ``mutated`` tests are those a mutant group in the same submission targets: its own test
    judges them; none of them may grade one of the set's answers."""
    cell_of = exercises_of(notebook)
    answers = {a.cell: a for a in alternatives.answers}
    missing = sorted(set(tests) - set(scores))
    assert not missing, f"{grader} did not grade {missing} of '{alternatives.student}'"
    overlap = sorted(t for t in mutated if cell_of.get(t) in answers)
    assert not overlap, f"'{alternatives.student}' shares a submission with mutants of {overlap}"
    tests = [t for t in tests if t not in mutated]
    unfair = {t for t in tests if cell_of.get(t) in answers and answers[cell_of[t]].fails}
    lost = _lost(scores, [t for t in tests if t not in unfair])
    assert not lost, f"{grader}: correct answers to {notebook} lost points: " + "; ".join(
        f"{test} {score} ({answers[cell_of[test]].style if cell_of.get(test) in answers else '?'})"
        for test, score in lost.items()
    )
    still_unfair = {t: answers[cell_of[t]].fails for t in unfair if _lost(scores, [t])}
    fixed = sorted(unfair - set(still_unfair))
    assert not fixed, f"{grader}: {fixed} now earn full marks; drop the answers' 'fails' note"
    if still_unfair:
        pytest.xfail(f"{grader}: known fairness bugs: {still_unfair}")


def test_every_exercise_has_enough_alternatives(notebook: str) -> None:
    """At least MIN_ALTERNATIVES different correct answers per exercise (answer cell)."""
    answer_cells = set(exercises_of(notebook).values())
    assert answer_cells, f"{notebook} has no autograded exercises"
    distinct: dict[str, set[str]] = {cell: set() for cell in answer_cells}
    for alternatives in alternatives_of(notebook):
        for answer in alternatives.answers:
            assert answer.cell in distinct, (
                f"set {alternatives.number} answers '{answer.cell}', not an exercise of {notebook}"
            )
            distinct[answer.cell].add(answer.source.strip())
    short = {c: len(s) for c, s in distinct.items() if len(s) < MIN_ALTERNATIVES}
    assert not short, (
        f"exercises of {notebook} with fewer than {MIN_ALTERNATIVES} alternatives: {short}"
    )


def test_alternative_earns_full_marks(
    graded: Graded, notebook: str, alternatives: AlternativeSet
) -> None:
    """Under plain nbgrader, a set of other correct answers earns every autograded point."""
    carrier = graded.carrying(alternatives.student)
    scores = graded.scores[carrier.student]
    grader = _saved(carrier, "nbgrader")
    _check_full_marks(scores, graded.tests, alternatives, notebook, grader, _mutated(carrier))


def test_alternative_earns_full_marks_in_engine(
    graded: Graded, notebook: str, alternatives: AlternativeSet
) -> None:
    """Under the hardened engine, a set of other correct answers earns every autograded point."""
    carrier = graded.carrying(alternatives.student)
    scores = graded.engine[carrier.student]
    grader = _saved(carrier, "grader autograde")
    _check_full_marks(scores, graded.tests, alternatives, notebook, grader, _mutated(carrier))


def _mutated(submission: Submission) -> frozenset[str]:
    """The tests the mutant group of a submission targets (none without one)."""
    return frozenset(submission.group.tests if submission.group is not None else ())


def _saved(submission: Submission, grader: str) -> str:
    """The grader's name for messages, saying when the submission was saved messily."""
    return f"{grader} (the copy saved messily)" if submission.messy else grader


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
    """The mutant's group (mutants of other tests, in other answer cells, submitted together)
    loses exactly the points of the tests its mutants target, and this mutant's test all."""
    (group,) = [g for g in mutant_groups_of(notebook) if mutant in g.mutants]
    carrier = graded.carrying(group.student)
    scores = graded.scores[carrier.student]
    assert mutant.test in scores, f"{mutant.test} is not a graded cell of {notebook}"
    changed = {t: s for t, s in scores.items() if s[0] != graded.scores["reference"][t][0]}
    beside = f", beside {carrier.alternatives.student}" if carrier.alternatives else ""
    assert set(changed) == group.tests, (
        f"'{mutant.why}' and the mutants graded with it ({', '.join(sorted(group.tests))}"
        f"{beside}) should lose exactly the points of their tests; scores that changed: "
        f"{changed or 'none'}"
    )
    assert scores[mutant.test][0] == 0, f"'{mutant.why}' kept {scores[mutant.test][0]} points"


def test_the_hebrew_translation_grades_like_the_english(
    languages: Languages, notebook: str
) -> None:
    """The Hebrew notebook, graded by the engine alone as the classroom grades Hebrew students:
    its reference earns every point with no flag, its release nothing, its messy copy every
    point, and each mutant of the English notebook (mutants touch code, which the translation
    keeps) loses exactly its test's points, judged by the English suite's own tests."""
    hebrew = languages.hebrew
    assert hebrew.grader == "grader autograde"
    test_reference_solution_earns_full_marks(hebrew, notebook)
    test_reference_earns_every_point_in_engine(hebrew, notebook)
    test_untouched_release_earns_nothing(hebrew, notebook)
    test_messy_but_correct_copy_earns_full_marks(hebrew, notebook)
    mutants = mutants_of(notebook)
    assert mutants, f"{notebook} has no mutants"
    for mutant in mutants:
        test_mutant_loses_exactly_its_tests_points(hebrew, notebook, mutant)
