"""Submissions derived from a reference notebook: blank, messy-but-correct, mutants and
other correct answers (alternatives).

Used by the validity tests to check that the grading of each notebook means something.
"""

from __future__ import annotations

import ast
import copy
import re
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
import yaml

SOLUTION_MARKER = re.compile(r"^(?P<indent>[ \t]*)### BEGIN SOLUTION[ \t]*$", re.MULTILINE)


@dataclass(frozen=True)
class Mutant:
    """A plausible student mistake that must cost exactly one test's points."""

    test: str
    cell: str
    why: str
    old: str
    new: str
    source: str = ""  # the mutants file it comes from, named when it no longer applies

    @property
    def student(self) -> str:
        return "mutant-" + re.sub(r"[^a-zA-Z0-9]+", "-", f"{self.test}-{self.why}").strip("-")[:60]


def load_mutants(path: Path) -> list[Mutant]:
    """The mutants listed in a ``tests/mutants/<Notebook>.yaml`` file."""
    if not path.exists():
        return []
    entries = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    return [
        Mutant(e["test"], e["cell"], e["why"], e["replace"][0], e["replace"][1], path.name)
        for e in entries
    ]


@dataclass(frozen=True)
class MutantGroup:
    """Mutants graded together in one submission: each targets another test and changes
    another answer cell, so the run shows each one's loss apart from the others'."""

    number: int
    mutants: tuple[Mutant, ...]

    @property
    def student(self) -> str:
        return f"mutants-{self.number}"

    @property
    def tests(self) -> set[str]:
        return {m.test for m in self.mutants}

    @property
    def cells(self) -> set[str]:
        return {m.cell for m in self.mutants}


def group_mutants(mutants: list[Mutant]) -> list[MutantGroup]:
    """The fewest groups (greedily, in file order) in which no two mutants share a test or an
    answer cell."""
    groups: list[list[Mutant]] = []
    for mutant in mutants:
        for group in groups:
            if all(m.test != mutant.test and m.cell != mutant.cell for m in group):
                group.append(mutant)
                break
        else:
            groups.append([mutant])
    return [MutantGroup(number, tuple(group)) for number, group in enumerate(groups, start=1)]


@dataclass(frozen=True)
class Alternative:
    """A correct answer to one exercise written unlike the reference (a whole answer cell)."""

    cell: str
    style: str
    source: str
    fails: str | None = None  # a known fairness bug: why the grading still rejects it


@dataclass(frozen=True)
class AlternativeSet:
    """One student who answers every exercise of a notebook with one alternative each."""

    number: int
    answers: tuple[Alternative, ...]
    source: str = ""  # the alternatives file it comes from

    @property
    def student(self) -> str:
        return f"alternative-{self.number}"

    def sources(self) -> dict[str, str]:
        """Answer cell grade_id -> the source that replaces it."""
        return {a.cell: a.source for a in self.answers}


def load_alternatives(path: Path) -> list[AlternativeSet]:
    """The alternative sets listed in a ``tests/alternatives/<Notebook>.yaml`` file.

    Each entry is ``{set: N, answers: {grade_id: {style, source[, fails]}}}``; a malformed
    entry raises ``ValueError`` naming the set and cell rather than grading half a file.
    """
    if not path.exists():
        return []
    entries = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    sets = []
    for entry in entries:
        number = entry.get("set")
        answers = entry.get("answers")
        if not isinstance(number, int) or not isinstance(answers, dict) or not answers:
            raise ValueError(f"{path.name}: each entry needs an integer 'set' and 'answers'")
        parsed = []
        for cell, answer in answers.items():
            if not isinstance(answer, dict) or not answer.get("source") or not answer.get("style"):
                raise ValueError(f"{path.name}: set {number}, {cell}: needs 'style' and 'source'")
            parsed.append(Alternative(cell, answer["style"], answer["source"], answer.get("fails")))
        sets.append(AlternativeSet(number, tuple(parsed), path.name))
    numbers = [s.number for s in sets]
    if len(set(numbers)) != len(numbers):
        raise ValueError(f"{path.name}: set numbers repeat: {numbers}")
    return sets


#: The name of the messy-but-correct copy among a submission's variants.
MESSY = "messy"


@dataclass(frozen=True)
class Submission:
    """One notebook the validity suite submits: a mutant group, an alternative set, or both,
    the set's answers in the cells the group's mutants leave alone; saved messily (``messy``)
    when it carries the messy-but-correct copy."""

    group: MutantGroup | None = None
    alternatives: AlternativeSet | None = None
    messy: bool = False

    @property
    def variants(self) -> list[str]:
        """The names of the mutant group, the alternative set and the messy copy it carries."""
        names = [v.student for v in (self.group, self.alternatives) if v is not None]
        return [*names, MESSY] if self.messy else names

    @property
    def student(self) -> str:
        return "-".join(self.variants)


def share_submissions(
    groups: list[MutantGroup], sets: list[AlternativeSet], cell_of: dict[str, str]
) -> list[Submission]:
    """Every mutant group and every alternative set in as few submissions as a greedy pass
    finds: a set shares a group's submission when none of its answers is in a cell the group
    changes and none of the tests grading its answers (``cell_of``: test -> answer cell) is a
    test the group's mutants target. Each test then tells one variant's story alone: a
    mutant's test loses its points, an alternative's tests earn theirs."""
    free = list(groups)
    shared = []
    for alternatives in sets:
        cells = {a.cell for a in alternatives.answers}
        graded_by = {test for test, cell in cell_of.items() if cell in cells}
        partner = next((g for g in free if not g.cells & cells and not g.tests & graded_by), None)
        if partner is not None:
            free.remove(partner)
        shared.append(Submission(partner, alternatives))
    return [Submission(group) for group in free] + with_messy_copy(shared)


def with_messy_copy(submissions: list[Submission]) -> list[Submission]:
    """The submissions with the messy-but-correct copy carried by the first that holds an
    alternative set alone, none of whose answers is a known fairness bug: that set earns every
    point, so each test speaks for both, and saving it messily costs no notebook run of its own.
    Without such a set the messy copy is a submission of its own (of the reference)."""
    for index, submission in enumerate(submissions):
        sets = submission.alternatives
        if submission.group is None and sets is not None and not any(a.fails for a in sets.answers):
            carrier = Submission(None, sets, messy=True)
            return [*submissions[:index], carrier, *submissions[index + 1 :]]
    return [*submissions, Submission(messy=True)]


def exercises(notebook: Any) -> dict[str, str]:
    """Autograded test grade_id -> the answer cell it grades (the nearest one above it)."""
    found, answer = {}, None
    for cell in notebook.cells:
        meta = nbgrader_meta(cell)
        if meta.get("solution") and cell.cell_type == "code":
            answer = meta.get("grade_id")
        elif is_autograded_test(cell) and answer is not None:
            found[meta["grade_id"]] = answer
    return found


def nbgrader_meta(cell: Any) -> dict[str, Any]:
    return cell.get("metadata", {}).get("nbgrader", {})


def hidden_test_ids(notebook: Any) -> list[str]:
    """grade_ids of the autograded test cells that hold hidden tests."""
    return [
        nbgrader_meta(c)["grade_id"]
        for c in notebook.cells
        if is_autograded_test(c) and "### BEGIN HIDDEN TESTS" in c.source
    ]


def is_autograded_test(cell: Any) -> bool:
    meta = nbgrader_meta(cell)
    return bool(meta.get("grade")) and not meta.get("solution") and cell.cell_type == "code"


def answer_cells(notebook: Any) -> list[Any]:
    return [c for c in notebook.cells if nbgrader_meta(c).get("solution") and c.cell_type == "code"]


def mutate(notebook: Any, *mutants: Mutant) -> Any:
    """A copy of ``notebook`` with each mutant's replacement applied to its answer cell.

    A mutant that no longer applies (its cell gone, its text changed) raises ``ValueError``
    naming its file, cell and mistake, rather than grading an unchanged notebook.
    """
    changed = copy.deepcopy(notebook)
    for mutant in mutants:
        where = f"{mutant.source or 'mutants'}: '{mutant.why}' (test {mutant.test})"
        cells = [c for c in changed.cells if nbgrader_meta(c).get("grade_id") == mutant.cell]
        if not cells:
            raise ValueError(f"{where}: the notebook has no cell {mutant.cell!r}")
        (cell,) = cells
        if mutant.old not in cell.source:
            raise ValueError(f"{where}: {mutant.old!r} is not in cell {mutant.cell!r}")
        cell.source = cell.source.replace(mutant.old, mutant.new)
    return changed


def _new_cell(kind: str, source: str) -> Any:
    cell = (
        nbformat.v4.new_code_cell(source)
        if kind == "code"
        else nbformat.v4.new_markdown_cell(source)
    )
    cell.id = uuid.uuid4().hex[:12]
    return cell


def with_noise(source: str, noise: str) -> str:
    """``source`` with the line ``noise`` run where the answer runs when called: after the
    solution marker (a reference answer), else first in the body of the first function it
    defines (another correct answer, written without markers), else at the top of the cell."""
    if SOLUTION_MARKER.search(source):

        def after_marker(match: re.Match[str]) -> str:
            return f"{match.group(0)}\n{match.group('indent')}{noise}"

        return SOLUTION_MARKER.sub(after_marker, source, count=1)
    functions = [n for n in ast.walk(ast.parse(source)) if isinstance(n, ast.FunctionDef)]
    lines = source.splitlines(keepends=True)
    if functions and functions[0].body[0].lineno > functions[0].lineno:
        first = functions[0].body[0]
        at = min([first.lineno] + [d.lineno for d in getattr(first, "decorator_list", [])]) - 1
        return "".join([*lines[:at], " " * first.col_offset + noise + "\n", *lines[at:]])
    return f"{noise}\n{source}"


def messy(notebook: Any) -> Any:
    """A correct copy saved the way students save: noisy, with strays and extra cells.

    Every answer warns and writes to stderr when called; the first one imports TensorFlow;
    code cells carry stale outputs; extra cells are added; a markdown cell is moved.
    """
    changed = copy.deepcopy(notebook)
    for number, cell in enumerate(answer_cells(changed)):
        noise = 'import sys, warnings; warnings.warn("a harmless warning from student code"); '
        noise += 'print("debug: called", file=sys.stderr)'
        if number == 0:
            noise += "; import tensorflow as tf"
        cell.source = with_noise(cell.source, noise)
    for cell in changed.cells:
        if cell.cell_type == "code":
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="stale output\n")]
            cell.execution_count = 7
    changed.cells.insert(1, _new_cell("markdown", "My notes: remember to normalize."))
    changed.cells.append(_new_cell("code", "scratch = [i * i for i in range(5)]\nscratch"))
    markdown = [i for i, c in enumerate(changed.cells) if c.cell_type == "markdown"]
    if len(markdown) >= 3:
        moved = changed.cells.pop(markdown[2])
        changed.cells.insert(markdown[1], moved)
    return changed
