"""A simulated class: a dozen students' notebooks and quiz attempts, the same for the same seed.

Each student has a profile that decides what they hand in, per notebook of each assignment,
starting from the released student version with its answer cells filled in:

- ``strong``: the reference solutions, or correct alternatives (``tests/alternatives/``);
- ``average``: one or two plausible mistakes (mutants, ``tests/mutants/``) per notebook;
- ``weak``: mistakes in about half of the exercises and some left unanswered;
- ``late``: average work, handed in after the due date;
- ``unreadable``: one notebook per assignment cut off half-way (invalid JSON);
- ``cheat``: weak work plus a known cheat (an input transformer that empties the test cells,
  and ``torch.allclose`` patched to always agree where the notebook uses PyTorch);
- ``crash``: correct work, but one answer cell kills its own kernel;
- ``misfiled``: a notebook renamed in one assignment, another assignment's notebook in the
  next, and nothing at all for the last;
- one average student submits twice (the second submission is the one that counts).

:func:`simulate_class` returns the submissions as data (file name -> bytes);
:func:`write_submissions` lays them out as nbgrader's ``submitted/`` does, :func:`hand_in`
puts one into a student's fetched assignment folder before ``nbgrader submit``, and
:func:`simulate_quizzes` takes each student's pre- and post-lecture quiz through the quiz
service (:func:`grader.quiz.service.submit`) into any quiz database.
"""

from __future__ import annotations

import ast
import hashlib
import io
import random
import re
import tokenize
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import nbformat
import yaml

DEFAULT_ASSIGNMENTS = ("frameworks", "overfitting", "lab")
DEFAULT_DUE = datetime(2026, 1, 15, 23, 59, tzinfo=UTC)
TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S.%f %Z"  # nbgrader's timestamp.txt
SOLUTION_MARKERS = re.compile(r"^[ \t]*### (BEGIN|END) SOLUTION[ \t]*\n?", re.MULTILINE)

CHEAT_TRANSFORMER = (
    "# Make the checks pass without solving anything.\n"
    "def _empty_checks(lines):\n"
    '    text = "".join(lines)\n'
    '    return [] if "assert" in text or "check" in text else lines\n'
    "\n"
    "get_ipython().input_transformers_post.append(_empty_checks)\n"
)
CHEAT_ALLCLOSE = "import torch\ntorch.allclose = lambda *a, **k: True\n"
CRASH = "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)  # takes the kernel down\n"


class SimulationError(ValueError):
    """The course lacks what the simulation needs (a released notebook, a mutant's text)."""


@dataclass(frozen=True)
class SimStudent:
    """A student of the simulated class."""

    id: str
    first_name: str
    last_name: str
    email: str
    profile: str
    lang: str = "en"  # the language the student takes the quizzes in


#: The class. Names in Hebrew and English; Canvas writes "Last, First", so names meet commas.
ROSTER: tuple[SimStudent, ...] = (
    SimStudent("s01", "Noa", "Levi", "noa.levi@example.edu", "strong"),
    SimStudent("s02", "יעל", "כהן", "yael.cohen@example.edu", "strong", "he"),
    SimStudent("s03", "Omar", "Haddad", "omar.haddad@example.edu", "strong"),
    SimStudent("s04", "איתי", "מזרחי", "itai.mizrahi@example.edu", "average", "he"),
    SimStudent("s05", "Maya", "Friedman", "maya.friedman@example.edu", "average"),
    SimStudent("s06", "Daniel", "Peretz", "daniel.peretz@example.edu", "weak"),
    SimStudent("s07", "שירה", "אברהם", "shira.avraham@example.edu", "weak", "he"),
    SimStudent("s08", "Lior", "Biton", "lior.biton@example.edu", "late"),
    SimStudent("s09", "Amir", "Khoury", "amir.khoury@example.edu", "unreadable"),
    SimStudent("s10", "Tom", "Shapiro", "tom.shapiro@example.edu", "cheat"),
    SimStudent("s11", "רוני", "דהן", "roni.dahan@example.edu", "crash", "he"),
    SimStudent("s12", "Eden", "Azoulay", "eden.azoulay@example.edu", "misfiled"),
)
TWICE = "s05"  # submits every assignment twice

#: Opt-in additions for the similarity report (``roster=ROSTER + COPIERS``): s14 copies s13's
#: work (names renamed, functions reordered, comments changed, one answer written anew), and
#: s15 and s16 share one wrong answer per assignment. Kept out of ROSTER so that the demo and
#: the tests that count the class stay as they are.
COPIERS: tuple[SimStudent, ...] = (
    SimStudent("s13", "Yonatan", "Golan", "yonatan.golan@example.edu", "strong"),
    SimStudent("s14", "טל", "שרעבי", "tal.sharabi@example.edu", "copier", "he"),
    SimStudent("s15", "Nadia", "Saleh", "nadia.saleh@example.edu", "shared-wrong"),
    SimStudent("s16", "Itamar", "Ben-David", "itamar.bendavid@example.edu", "shared-wrong"),
)
COPIED_FROM = {"s14": "s13"}  # copier -> the student whose work was copied


@dataclass(frozen=True)
class Submission:
    """One submission of one assignment by one student: files as bytes, and when."""

    student: str
    assignment: str
    files: Mapping[str, bytes]  # file name (as submitted) -> content
    timestamp: datetime
    notes: tuple[str, ...] = ()  # what was done to it, for people reading the demo


@dataclass(frozen=True)
class Mutant:
    """A plausible mistake in one answer cell (``tests/mutants/<Notebook>.yaml``)."""

    cell: str
    old: str
    new: str
    why: str


@dataclass
class _Notebook:
    """One course notebook: its released version and what each answer cell can hold."""

    name: str
    released: nbformat.NotebookNode
    solutions: dict[str, str]
    mutants: list[Mutant] = field(default_factory=list)
    alternatives: list[dict[str, str]] = field(default_factory=list)


def load_mutants(folder: Path | None, notebook: str) -> list[Mutant]:
    """The mutants of a notebook listed in ``folder/<notebook>.yaml`` (none if no file)."""
    path = folder / f"{notebook}.yaml" if folder else None
    if path is None or not path.is_file():
        return []
    entries = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    try:
        return [Mutant(e["cell"], e["replace"][0], e["replace"][1], e["why"]) for e in entries]
    except (KeyError, IndexError, TypeError) as error:
        raise SimulationError(f"{path}: malformed mutant ({error!r})") from None


#: How the style of a near-the-line answer begins: the reference (or a weaker learner) tuned to
#: clear the visible bar by the smallest margin, for the threshold tests (docs/thresholds.md);
#: not an independently written answer.
NEAR_THE_LINE = "near the line"


def load_alternatives(folder: Path | None, notebook: str) -> list[dict[str, str]]:
    """Independently written correct answer sets of a notebook (``{set, answers: {cell:
    {source, style}}}`` entries in ``folder/<notebook>.yaml``). Left out: answers marked
    ``fails`` (a known grading bug), so that a strong student stays strong, and near-the-line
    answers (tuned copies of the reference), so that independent answers stay independent."""
    path = folder / f"{notebook}.yaml" if folder else None
    if path is None or not path.is_file():
        return []
    entries = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    sets = []
    for entry in entries:
        answers = entry.get("answers") if isinstance(entry, dict) else None
        if not isinstance(answers, dict):
            raise SimulationError(f"{path}: each entry needs 'answers'")
        sets.append(
            {
                cell: str(answer["source"])
                for cell, answer in answers.items()
                if isinstance(answer, dict)
                and answer.get("source")
                and not answer.get("fails")
                and not str(answer.get("style", "")).startswith(NEAR_THE_LINE)
            }
        )
    return [answers for answers in sets if answers]


def _grade_id(cell: Any) -> str | None:
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def _is_answer(cell: Any) -> bool:
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return bool(meta.get("solution")) and cell.cell_type == "code"


def solutions_of(source: nbformat.NotebookNode) -> dict[str, str]:
    """Answer cell grade_id -> the instructor's solution without nbgrader's markers."""
    return {
        grade_id: SOLUTION_MARKERS.sub("", c.source)
        for c in source.cells
        if _is_answer(c) and (grade_id := _grade_id(c)) is not None
    }


def _load_notebook(
    root: Path, assignment: str, name: str, mutants: Path | None, alternatives: Path | None
) -> _Notebook:
    released = root / "release" / assignment / f"{name}.ipynb"
    if not released.is_file():
        raise SimulationError(f"{released} is missing: run `grader release {assignment}` first")
    source = nbformat.read(root / "source" / assignment / f"{name}.ipynb", as_version=4)
    book = _Notebook(
        name,
        nbformat.read(released, as_version=4),
        solutions_of(source),
        load_mutants(mutants, name),
        load_alternatives(alternatives, name),
    )
    for mutant in book.mutants:
        if mutant.old not in book.solutions.get(mutant.cell, ""):
            raise SimulationError(f"{name}: mutant {mutant.why!r} does not apply to {mutant.cell}")
    return book


def _filled(book: _Notebook, answers: Mapping[str, str | None]) -> nbformat.NotebookNode:
    """The released notebook with answer cells replaced (None: left as released)."""
    notebook = nbformat.from_dict(book.released)
    for cell in notebook.cells:
        grade_id = _grade_id(cell)
        if _is_answer(cell) and grade_id is not None and answers.get(grade_id) is not None:
            cell.source = answers[grade_id]
    return notebook


RENAMED_PREFIX = "my_"
NEW_COMMENT = "# worked this out myself\n"
KEEP_NAMES = frozenset({"self", "cls", "ctx", "_"})


def _local_names(tree: ast.AST) -> set[str]:
    """Variables assigned inside functions (not parameters, not top-level names)."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            for inner in ast.walk(node):
                if isinstance(inner, ast.Name) and isinstance(inner.ctx, ast.Store):
                    names.add(inner.id)
    return {n for n in names if n not in KEEP_NAMES}


def _reordered(text: str) -> str:
    """Top-level functions in reverse order (each still defined before any call); when there
    is only one, top-level imports reversed."""
    lines = text.splitlines(keepends=True)
    tree = ast.parse(text)

    def span(node: ast.stmt) -> tuple[int, int]:
        first = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
        return first - 1, node.end_lineno or node.lineno

    for kind in (ast.FunctionDef, (ast.Import, ast.ImportFrom)):
        chosen = [n for n in tree.body if isinstance(n, kind)]
        if len(chosen) < 2:
            continue
        spans = [span(n) for n in chosen]
        chunks = ["".join(lines[a:b]) for a, b in spans]
        chunks = [c if c.endswith("\n") else c + "\n" for c in chunks]
        out, at = [], 0
        for (a, b), chunk in zip(spans, reversed(chunks), strict=True):
            out.append("".join(lines[at:a]))
            out.append(chunk)
            at = b
        out.append("".join(lines[at:]))
        return "".join(out)
    return text


def disguise(text: str) -> str:
    """What a student who copies does to an answer to hide it: local variables renamed,
    comments replaced, top-level functions (or imports) reordered. The code still works."""
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return text
    local = _local_names(tree)
    edits: dict[int, list[tuple[int, int, str]]] = {}
    depth = 0
    tokens = list(tokenize.generate_tokens(io.StringIO(text).readline))
    for i, tok in enumerate(tokens):
        if tok.type == tokenize.OP and tok.string in "([{":
            depth += 1
        elif tok.type == tokenize.OP and tok.string in ")]}":
            depth -= 1
        elif tok.type == tokenize.COMMENT:
            edits.setdefault(tok.start[0], []).append((tok.start[1], tok.end[1], ""))
        elif tok.type == tokenize.NAME and tok.string in local:
            before = tokens[i - 1].string if i else ""
            after = tokens[i + 1].string if i + 1 < len(tokens) else ""
            if before == "." or (depth > 0 and after == "="):
                continue
            replacement = RENAMED_PREFIX + tok.string.lstrip("_")
            edits.setdefault(tok.start[0], []).append((tok.start[1], tok.end[1], replacement))
    lines = text.splitlines(keepends=True)
    for number, changes in edits.items():
        line = lines[number - 1]
        for start, end, new in sorted(changes, reverse=True):
            line = line[:start] + new + line[end:]
        if not line.strip() and lines[number - 1].strip():
            line = ""  # a comment-only line goes
        elif line.rstrip() != line.rstrip("\n").rstrip() or line.endswith(" \n"):
            line = line.rstrip() + "\n"
        lines[number - 1] = line
    return NEW_COMMENT + _reordered("".join(lines))


def _with_mutants(
    book: _Notebook, rng: random.Random, how_many: int, blanks: int = 0
) -> tuple[dict[str, str | None], list[str]]:
    """Reference answers with ``how_many`` mutants in distinct cells and ``blanks`` cells left
    unanswered; returns the answers and what was changed."""
    answers: dict[str, str | None] = dict(book.solutions)
    by_cell: dict[str, list[Mutant]] = {}
    for mutant in book.mutants:
        by_cell.setdefault(mutant.cell, []).append(mutant)
    cells = sorted(by_cell)
    notes = []
    changed = set()
    for cell in rng.sample(cells, min(how_many, len(cells))):
        mutant = rng.choice(by_cell[cell])
        answers[cell] = (answers[cell] or "").replace(mutant.old, mutant.new)
        changed.add(cell)
        notes.append(f"{book.name}/{cell}: {mutant.why}")
    untouched = sorted(c for c in answers if c not in changed)
    for cell in rng.sample(untouched, min(blanks, len(untouched))):
        answers[cell] = None
        notes.append(f"{book.name}/{cell}: left unanswered")
    return answers, notes


def _notebook_for(
    student: SimStudent, book: _Notebook, rng: random.Random, number: int
) -> tuple[nbformat.NotebookNode, list[str]]:
    """What ``student`` hands in for one notebook (before any file-level mishap)."""
    profile = student.profile
    exercises = len(book.solutions)
    if profile == "strong":
        answers: dict[str, str | None] = dict(book.solutions)
        notes = [f"{book.name}: reference solutions"]
        if book.alternatives and number > 0:
            chosen = book.alternatives[(number - 1) % len(book.alternatives)]
            answers.update(chosen)
            notes = [f"{book.name}: correct alternatives for {', '.join(sorted(chosen))}"]
        return _filled(book, answers), notes
    if profile in ("average", "late", "misfiled", "unreadable"):
        answers, notes = _with_mutants(book, rng, rng.choice((1, 2)))
        return _filled(book, answers), notes
    if profile in ("weak", "cheat"):
        answers, notes = _with_mutants(book, rng, max(1, exercises // 2), blanks=1)
        notebook = _filled(book, answers)
        if profile == "cheat":
            cheat = CHEAT_TRANSFORMER
            if any("import torch" in c.source for c in notebook.cells if c.cell_type == "code"):
                cheat = CHEAT_ALLCLOSE + cheat
            first = next(c for c in notebook.cells if _is_answer(c))
            first.source = cheat + "\n" + first.source
            notes.append(f"{book.name}: cheat in the first answer cell")
        return notebook, notes
    if profile == "copier":
        copied: dict[str, str] = dict(book.solutions)
        if book.alternatives:
            copied.update(book.alternatives[(number - 1) % len(book.alternatives)])
        rewritten = sorted(copied)[0]
        copied = {cell: disguise(text) for cell, text in copied.items()}
        copied[rewritten] = book.solutions[rewritten]
        notes = [
            f"{book.name}: copied, names renamed, lines reordered, comments changed, "
            f"{rewritten} written anew"
        ]
        return _filled(book, dict(copied)), notes
    if profile == "shared-wrong":
        shared: dict[str, str] = dict(book.solutions)
        if not book.mutants:
            return _filled(book, dict(shared)), [f"{book.name}: reference solutions"]
        mutant = book.mutants[0]
        shared[mutant.cell] = shared[mutant.cell].replace(mutant.old, mutant.new)
        return _filled(book, dict(shared)), [f"{book.name}/{mutant.cell}: {mutant.why} (shared)"]
    if profile == "crash":
        notebook = _filled(book, book.solutions)
        answer_cells = [c for c in notebook.cells if _is_answer(c)]
        victim = answer_cells[min(1, len(answer_cells) - 1)]
        victim.source = CRASH + victim.source
        return notebook, [f"{book.name}/{_grade_id(victim)}: kills its kernel"]
    raise SimulationError(f"unknown profile {profile!r} of {student.id}")


def _assignment_notebooks(
    root: Path, assignment: str, mutants: Path | None, alternatives: Path | None
) -> list[_Notebook]:
    released = sorted((root / "release" / assignment).glob("*.ipynb"))
    if not released:
        raise SimulationError(
            f"no released notebook in {root / 'release' / assignment}: "
            f"run `grader release {assignment}` first"
        )
    return [_load_notebook(root, assignment, p.stem, mutants, alternatives) for p in released]


def _timestamp(rng: random.Random, due: datetime, late: bool) -> datetime:
    if late:
        return due + timedelta(hours=rng.randint(2, 30), minutes=rng.randint(0, 59))
    return due - timedelta(hours=rng.randint(1, 72), minutes=rng.randint(0, 59))


def _rng(seed: int, *parts: str) -> random.Random:
    digest = hashlib.sha256("\0".join((str(seed), *parts)).encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def _bytes(notebook: nbformat.NotebookNode) -> bytes:
    return nbformat.writes(notebook).encode("utf-8")


def simulate_class(
    root: Path,
    mutants: Path | None,
    alternatives: Path | None = None,
    seed: int = 0,
    due: datetime = DEFAULT_DUE,
    assignments: Sequence[str] = DEFAULT_ASSIGNMENTS,
    roster: Sequence[SimStudent] = ROSTER,
) -> list[Submission]:
    """Every submission of the simulated class, in the order they are handed in.

    ``root`` is the course (``source/`` and ``release/``), ``mutants`` and ``alternatives``
    the folders of ``<Notebook>.yaml`` files. The result depends only on the arguments.
    """
    books = {a: _assignment_notebooks(root, a, mutants, alternatives) for a in assignments}
    strong_number = {s.id: n for n, s in enumerate(r for r in roster if r.profile == "strong")}
    for copier, original in COPIED_FROM.items():
        if original in strong_number:
            strong_number[copier] = strong_number[original]
    submissions: list[Submission] = []
    for index, assignment in enumerate(assignments):
        for student in roster:
            rng = _rng(seed, student.id, assignment)
            files: dict[str, bytes] = {}
            notes: list[str] = []
            for book in books[assignment]:
                notebook, changed = _notebook_for(
                    student, book, rng, strong_number.get(student.id, 0)
                )
                files[f"{book.name}.ipynb"] = _bytes(notebook)
                notes += changed
            if student.profile == "unreadable":
                name = sorted(files)[0]
                files[name] = files[name][: len(files[name]) // 2]
                notes.append(f"{name}: cut off half-way (not valid JSON)")
            if student.profile == "misfiled":
                files, notes = _misfile(files, notes, index, books, assignments)
                if not files:
                    continue
            when = _timestamp(rng, due, late=student.profile == "late")
            if student.id == TWICE:
                first = {f"{b.name}.ipynb": _bytes(_filled(b, {})) for b in books[assignment]}
                earlier = when - timedelta(hours=3)
                submissions.append(
                    Submission(student.id, assignment, first, earlier, ("first try: untouched",))
                )
                notes.append("second submission: this one counts")
            submissions.append(Submission(student.id, assignment, files, when, tuple(notes)))
    return submissions


def _misfile(
    files: dict[str, bytes],
    notes: list[str],
    index: int,
    books: Mapping[str, list[_Notebook]],
    assignments: Sequence[str],
) -> tuple[dict[str, bytes], list[str]]:
    """The misfiled student: renames a notebook in the first assignment, hands in the previous
    assignment's first notebook in the second, and submits nothing for the rest."""
    if index == 0:
        name = sorted(files)[0]
        renamed = name.replace(".ipynb", " (final).ipynb")
        files = {renamed if n == name else n: b for n, b in files.items()}
        return files, [*notes, f"{name} submitted as {renamed}"]
    if index == 1:
        other = books[assignments[0]][0]
        wrong = {f"{other.name}.ipynb": _bytes(_filled(other, other.solutions))}
        return wrong, [f"{other.name}.ipynb handed in as {assignments[1]}"]
    return {}, []


def write_submissions(submissions: Sequence[Submission], folder: Path) -> list[Path]:
    """Lay submissions out as ``folder/<student>/<assignment>/`` with nbgrader's
    ``timestamp.txt``; a later submission of the same assignment replaces the earlier one."""
    written = []
    for sub in submissions:
        target = folder / sub.student / sub.assignment
        if target.exists():
            for old in sorted(target.iterdir()):
                old.unlink()
        target.mkdir(parents=True, exist_ok=True)
        for name, content in sub.files.items():
            (target / name).write_bytes(content)
        (target / "timestamp.txt").write_text(sub.timestamp.strftime(TIMESTAMP_FORMAT))
        written.append(target)
    return written


def hand_in(submission: Submission, fetched: Path) -> list[Path]:
    """Put a submission into a student's fetched copy of the assignment (``nbgrader
    fetch_assignment``'s folder), as the student would before ``nbgrader submit``: the released
    notebooks give way to the student's files (a renamed notebook replaces the original), the
    other files of the assignment stay. Returns the files written."""
    if not fetched.is_dir():
        raise SimulationError(f"{fetched} is not a fetched assignment folder")
    for old in sorted(fetched.glob("*.ipynb")):
        old.unlink()
    written = []
    for name, content in submission.files.items():
        (fetched / name).write_bytes(content)
        written.append(fetched / name)
    return written


#: Chance of answering a question right, before and after the lecture, per profile.
QUIZ_SKILL: Mapping[str, tuple[float, float]] = {
    "strong": (0.6, 0.95),
    "average": (0.45, 0.8),
    "late": (0.4, 0.75),
    "weak": (0.25, 0.55),
    "cheat": (0.3, 0.5),
    "crash": (0.5, 0.85),
    "unreadable": (0.45, 0.75),
    "misfiled": (0.35, 0.6),
    "copier": (0.4, 0.7),
    "shared-wrong": (0.45, 0.8),
}


def _answer(question: Any, right: bool, rng: random.Random) -> Any:
    if question.type == "numeric":
        return question.answer if right else question.answer + rng.choice((-2, -1, 1, 3))
    correct = list(question.correct_ids)
    if right:
        return correct
    wrong = [o.id for o in question.options if o.id not in correct]
    if question.type == "multiple" and len(correct) > 1:
        return correct[:1] + wrong[:1]
    return [rng.choice(wrong)]


def quiz_answers(quiz: Any, student: SimStudent, after: bool, seed: int = 0) -> dict[str, Any]:
    """A student's answers to a quiz: each question right with the profile's chance."""
    rng = _rng(seed, student.id, quiz.id)
    chance = QUIZ_SKILL[student.profile][1 if after else 0]
    return {q.id: _answer(q, rng.random() < chance, rng) for q in quiz.questions}


def simulate_quizzes(
    db_url: str,
    bank: Mapping[str, Any],
    roster: Sequence[SimStudent] = ROSTER,
    seed: int = 0,
    skip_post: Sequence[str] = ("s12",),
) -> int:
    """Each student takes every pre quiz, then its post quiz (except ``skip_post``), through
    the quiz service into the database at ``db_url``; students who already have an attempt
    are left alone, so running it twice adds nothing. Returns the attempts added."""
    from grader.quiz.service import submit
    from grader.quiz.store import Store

    added = 0
    pairs = [(bank[q.pair], q) for q in bank.values() if q.kind == "post" and q.pair in bank]
    with Store.open(db_url) as store:
        for pre, post in pairs:
            for student in roster:
                for quiz, after in ((pre, False), (post, True)):
                    if after and student.id in skip_post:
                        continue
                    if store.attempts(quiz.id, student.id):
                        continue
                    lang = student.lang if student.lang in quiz.languages else quiz.languages[0]
                    answers = quiz_answers(quiz, student, after, seed)
                    submit(store, quiz, student.id, answers, lang)
                    added += 1
    return added
