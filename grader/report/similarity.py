"""Copied work: which students' answers to an assignment look like one piece of work.

Two signals, both a reason for a person to look, never a verdict:

1. **Similar answer cells.** For every answer cell of the assignment (nbgrader's
   ``solution: true`` code cells, matched by grade id), the answers of every pair of students
   are compared with ``copydetect``: each answer is tokenized by pygments' Python lexer with
   identifiers, function and class names and strings normalised, fingerprinted (k-grams of the
   normalised text, winnowed), and the fingerprints of the release's starter code of that cell
   are dropped as boilerplate, so shared starter code never counts. Fingerprints that most of
   the class share (the natural way to write a short answer) are dropped too, as MOSS does with
   its ``-m``. A cell pair's score is copydetect's similarity: the share of one answer's
   fingerprinted tokens found in the other, the larger of the two shares. A pair of students
   is reported when some cell scores at least :attr:`SimilaritySettings.cell_threshold`.
2. **Identical wrong outputs.** Students whose hidden-test output (the engine's message in
   ``results.json``) is the same failure, word for word, and rare: shared by at most
   :attr:`SimilaritySettings.max_group` students.

An answer that is empty, huge, not Python or unreadable, and a notebook that cannot be read,
are skipped with a note; nothing stops the comparison of the others. Everything here names
students and is for the instructor only: it is written to ``reports/``, never to
``autograded/`` or ``feedback/``.
"""

from __future__ import annotations

import ast
import copy
import hashlib
import io
import itertools
import json
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import copydetect.utils
import numpy as np
from copydetect import CodeFingerprint, compare_files
from traitlets import Float, Int, List, Unicode
from traitlets.config import Configurable

from grader.course import Course
from grader.engine.results import iter_results
from grader.report import ReportError

#: Lines IPython reads that Python does not (magics, shell escapes, help).
IPYTHON_LINE = re.compile(r"^\s*(%|!|\?).*$|^.*\?\s*$", re.MULTILINE)
HIDDEN_MARKER = "BEGIN HIDDEN TESTS"
NOT_SUBMITTED = "not submitted"

#: Why an answer or a notebook was left out of the comparison (the report words them).
SKIP_REASONS = ("empty", "huge", "not_python", "unreadable_cell", "unreadable_notebook")


class SimilaritySettings(Configurable):
    """Thresholds of the similarity report (``c.SimilaritySettings`` in ``nbgrader_config.py``).

    The defaults were chosen on the course's own answers: see ``docs/report.md``.
    """

    cell_threshold = Float(
        0.8,
        help="Report a pair of students when one answer cell of theirs scores at least this "
        "(copydetect's similarity, 0..1: the share of one answer's tokens found in the other).",
    ).tag(config=True)
    noise = Int(
        25,
        help="copydetect's noise threshold: matches shorter than this many characters of "
        "normalised code are never reported (the k of the k-grams).",
    ).tag(config=True)
    guarantee = Int(
        30,
        help="copydetect's guarantee threshold: matches at least this long are always found "
        "(sets the winnowing window, guarantee - noise + 1).",
    ).tag(config=True)
    min_tokens = Int(
        40,
        help="Answers with fewer fingerprinted characters than this, once the starter code is "
        "removed, are too short to say anything and are not compared.",
    ).tag(config=True)
    common_fraction = Float(
        0.3,
        help="A fingerprint shared by more than this share of the class's answers to a cell is "
        "the common way to write it and does not count as a match (MOSS's -m).",
    ).tag(config=True)
    common_min = Int(
        4,
        help="... and by at least this many students (small classes keep every fingerprint).",
    ).tag(config=True)
    max_group = Int(
        3,
        help="Identical wrong outputs are reported when at most this many students share them "
        "(a common mistake is not a sign of shared work).",
    ).tag(config=True)
    max_cell_bytes = Int(
        1_000_000, help="Answer cells larger than this are skipped with a note."
    ).tag(config=True)
    ignored_outputs = List(
        Unicode(),
        # the engine's words for "no evidence" and "not submitted" in each of its languages
        # (grader.engine.words; a Hebrew message starts with an invisible isolate, U+2067)
        default_value=[
            r"NotImplementedError",
            r"no evidence",
            r"^not submitted",
            r"לא נרשם דבר",
            "^\u2067?לא הוגש",
        ],
        help="Regular expressions of failure messages that say nothing about the work (an "
        "exercise left as released, a check that never ran); never grouped.",
    ).tag(config=True)


@dataclass(frozen=True)
class Segment:
    """A run of an answer's text, ``matched`` when the other answer holds it too."""

    text: str
    matched: bool


@dataclass(frozen=True)
class CellMatch:
    """One answer cell of a pair of students: its score and both answers, spans marked."""

    notebook: str
    cell: str
    score: float
    left: tuple[Segment, ...]
    right: tuple[Segment, ...]


@dataclass(frozen=True)
class PairMatch:
    """Two students whose answers to some cell score at or above the threshold."""

    first: str
    second: str
    score: float  # the best cell's score
    cells: tuple[CellMatch, ...]  # cells at or above the threshold, best first


@dataclass(frozen=True)
class WrongGroup:
    """Students whose output on one test is the same failure, and rare."""

    test: str
    output: str
    students: tuple[str, ...]


@dataclass(frozen=True)
class Skipped:
    """An answer (or a whole notebook, ``cell`` empty) left out, and why."""

    student: str
    notebook: str
    cell: str
    reason: str  # one of SKIP_REASONS
    detail: str = ""


@dataclass(frozen=True)
class SimilarityData:
    """What the similarity section shows about one assignment."""

    assignment: str
    students: int
    cells: int
    pairs: tuple[PairMatch, ...] = ()
    groups: tuple[WrongGroup, ...] = ()
    skipped: tuple[Skipped, ...] = ()
    cell_threshold: float = 0.8
    max_group: int = 3
    archived: int = 0  # earlier years' students compared against


@dataclass
class _Answers:
    """Per cell (notebook, grade id): student -> answer text; and the notes."""

    cells: dict[tuple[str, str], dict[str, str]] = field(default_factory=dict)
    skipped: list[Skipped] = field(default_factory=list)


def settings_of(course: Course) -> SimilaritySettings:
    """The course's settings (``c.SimilaritySettings`` of ``nbgrader_config.py``)."""
    return SimilaritySettings(config=course.config)


def _answer_cells(notebook: Mapping[str, Any]) -> Iterator[tuple[str, Any]]:
    for cell in notebook.get("cells", []):
        if not isinstance(cell, Mapping) or cell.get("cell_type") != "code":
            continue
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if isinstance(meta, Mapping) and meta.get("solution") and meta.get("grade_id"):
            yield str(meta["grade_id"]), cell.get("source", "")


def _read_notebook(path: Path) -> Mapping[str, Any]:
    document = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(document, Mapping) or not isinstance(document.get("cells"), list):
        raise ValueError("not a notebook (no list of cells)")
    return document


def starter_code(course: Course, assignment: str) -> dict[tuple[str, str], str]:
    """(notebook, grade id) -> the answer cell as released (the starter code students get)."""
    folder = course.release_dir(assignment)
    released = sorted(folder.glob("*.ipynb"))
    if not released:
        raise ReportError(
            f"no released notebook in {folder}: run `grader release {assignment}` first"
        )
    starters = {}
    for path in released:
        for grade_id, source in _answer_cells(_read_notebook(path)):
            text = "".join(source) if isinstance(source, list) else str(source)
            starters[(path.stem, grade_id)] = text
    return starters


def _as_text(source: Any) -> str | None:
    if isinstance(source, str):
        return source
    if isinstance(source, list) and all(isinstance(s, str) for s in source):
        return "".join(source)
    return None


def python_problem(text: str) -> str | None:
    """Why ``text`` is not Python (IPython's magics and shell lines allowed), None if it is."""
    try:
        ast.parse(IPYTHON_LINE.sub("", text))
    except SyntaxError as error:
        return f"{error.msg} (line {error.lineno})"
    except ValueError as error:  # null bytes
        return str(error)
    return None


def read_answers(
    submitted: Mapping[str, Path],
    notebooks: Sequence[str],
    settings: SimilaritySettings,
    starters: Mapping[tuple[str, str], str],
) -> _Answers:
    """Every student's answer to every answer cell, from ``submitted`` (student -> the
    submission's folder); answers left as released are left out, and empty, huge, non-Python
    or unreadable ones are noted."""
    answers = _Answers()
    for student, folder in sorted(submitted.items()):
        for name in notebooks:
            path = folder / f"{name}.ipynb"
            if not path.is_file():
                continue
            try:
                notebook = _read_notebook(path)
            except (OSError, ValueError) as error:
                detail = str(error).splitlines()[0][:200] if str(error) else type(error).__name__
                answers.skipped.append(Skipped(student, name, "", "unreadable_notebook", detail))
                continue
            for grade_id, source in _answer_cells(notebook):
                if (name, grade_id) not in starters:
                    continue  # a cell the assignment does not have
                text = _as_text(source)
                reason, detail = None, ""
                if text is None:
                    reason = "unreadable_cell"
                elif len(text.encode("utf-8", "replace")) > settings.max_cell_bytes:
                    reason, detail = "huge", f"{len(text.encode('utf-8', 'replace')):,} bytes"
                elif not text.strip():
                    reason = "empty"
                elif text.strip() == starters[(name, grade_id)].strip():
                    continue  # left as released: nothing to compare
                elif (problem := python_problem(text)) is not None:
                    reason, detail = "not_python", problem
                if reason is not None:
                    answers.skipped.append(Skipped(student, name, grade_id, reason, detail))
                    continue
                answers.cells.setdefault((name, grade_id), {})[student] = str(text)
    return answers


def stable_kgram_hashes(string: str, k: int) -> np.ndarray:
    """The hashes of every k-gram of ``string``, the same in every process.

    copydetect hashes k-grams with Python's ``hash``, which is salted per process: the same
    two answers would score up to 0.1 apart from one run to the next. These 64-bit BLAKE2
    hashes make a report reproducible.
    """
    return np.array(
        [
            int.from_bytes(
                hashlib.blake2b(
                    string[i : i + k].encode("utf-8", "surrogatepass"), digest_size=8
                ).digest(),
                "little",
                signed=True,
            )
            for i in range(len(string) - k + 1)
        ],
        dtype=np.int64,
    )


@contextmanager
def stable_hashes() -> Iterator[None]:
    """Fingerprint with :func:`stable_kgram_hashes` inside this block (copydetect offers no
    setting for its hash, so its function is swapped for the block's length and put back)."""
    original = copydetect.utils.hashed_kgrams
    copydetect.utils.hashed_kgrams = stable_kgram_hashes
    try:
        yield
    finally:
        copydetect.utils.hashed_kgrams = original


def _fingerprint(
    text: str, settings: SimilaritySettings, boilerplate: Any = None
) -> CodeFingerprint:
    return CodeFingerprint(
        "answer.py",
        settings.noise,
        max(1, settings.guarantee - settings.noise + 1),
        boilerplate=boilerplate,
        language="python",
        fp=io.StringIO(text),
    )


def _boilerplate(starter: str, settings: SimilaritySettings) -> Any:
    """Every k-gram hash of the starter code (window 1, as copydetect does for boilerplate)."""
    if not starter.strip():
        return None
    print_ = CodeFingerprint(
        "starter.py", settings.noise, 1, language="python", fp=io.StringIO(starter)
    )
    return np.unique(np.array(sorted(print_.hashes))) if print_.hashes else None


def _without(fingerprint: CodeFingerprint, dropped: set[int]) -> CodeFingerprint:
    """The fingerprint without ``dropped`` hashes; the coverage (the denominator of the
    score) is kept, so that common code neither matches nor dilutes."""
    if not dropped & fingerprint.hashes:
        return fingerprint
    kept = copy.copy(fingerprint)
    kept.hashes = fingerprint.hashes - dropped
    kept.hash_idx = {h: i for h, i in fingerprint.hash_idx.items() if h not in dropped}
    return kept


def segments(text: str, slices: Any) -> tuple[Segment, ...]:
    """``text`` cut into matched and unmatched runs by copydetect's slices (2 x N starts and
    ends in the original text)."""
    spans = sorted(
        (int(s), int(e)) for s, e in zip(slices[0], slices[1], strict=True) if int(e) > int(s)
    )
    parts: list[Segment] = []
    at = 0
    for start, end in spans:
        start = max(start, at)
        if end <= start:
            continue
        if start > at:
            parts.append(Segment(text[at:start], False))
        parts.append(Segment(text[start:end], True))
        at = end
    if at < len(text):
        parts.append(Segment(text[at:], False))
    merged: list[Segment] = []
    for part in parts:
        if merged and merged[-1].matched == part.matched:
            merged[-1] = Segment(merged[-1].text + part.text, part.matched)
        else:
            merged.append(part)
    return tuple(merged)


def compare_cell(
    notebook: str,
    cell: str,
    answers: Mapping[str, str],
    starter: str,
    settings: SimilaritySettings,
    archived: Iterable[str] = (),
) -> list[tuple[str, str, CellMatch]]:
    """Every pair of students whose answers to one cell score at or above the threshold,
    as (student, student, match). Identical texts are fingerprinted and compared once;
    archived students (earlier years) are compared with this year's, not with each other."""
    old = set(archived)
    texts: dict[str, list[str]] = defaultdict(list)
    for student, text in answers.items():
        texts[text].append(student)
    with stable_hashes():
        boilerplate = _boilerplate(starter, settings)
        prints = {text: _fingerprint(text, settings, boilerplate) for text in texts}
    prints = {t: p for t, p in prints.items() if p.token_coverage >= settings.min_tokens}
    # fingerprints most of this year's class shares: the common way to write the answer
    current = sum(1 for s in answers if s not in old)
    holders: Counter[int] = Counter()
    for text, fingerprint in prints.items():
        this_year = sum(1 for s in texts[text] if s not in old)
        for value in fingerprint.hashes:
            holders[value] += this_year
    limit = max(settings.common_min - 1, settings.common_fraction * current)
    common = {value for value, n in holders.items() if n > limit}
    kept = {text: _without(p, common) for text, p in prints.items()}
    index: dict[int, list[str]] = defaultdict(list)
    for text, fingerprint in kept.items():
        for value in fingerprint.hashes:
            index[value].append(text)
    candidates: set[tuple[str, str]] = set()
    for holders_of in index.values():
        for a, b in itertools.combinations(sorted(set(holders_of)), 2):
            candidates.add((a, b))
    found: list[tuple[str, str, CellMatch]] = []

    def add(a: str, b: str, text_a: str, text_b: str, score: float, sl: Any) -> None:
        if a in old and b in old:
            return
        first, second = sorted((a, b))
        if first != a:
            text_a, text_b, sl = text_b, text_a, (sl[1], sl[0])
        match = CellMatch(notebook, cell, score, segments(text_a, sl[0]), segments(text_b, sl[1]))
        found.append((first, second, match))

    for text, students in texts.items():  # identical answers
        if len(students) > 1 and text in kept and kept[text].hashes:
            _, (sim, _), sl = compare_files(kept[text], kept[text])
            if sim >= settings.cell_threshold:
                for a, b in itertools.combinations(sorted(students), 2):
                    add(a, b, text, text, float(sim), sl)
    for text_a, text_b in sorted(candidates):
        _, (sim_a, sim_b), sl = compare_files(kept[text_a], kept[text_b])
        score = float(max(sim_a, sim_b))
        if score < settings.cell_threshold:
            continue
        for a in texts[text_a]:
            for b in texts[text_b]:
                add(a, b, text_a, text_b, score, sl)
    return found


def hidden_tests(course: Course, assignment: str) -> set[str] | None:
    """Tests ("<notebook>/<grade id>") whose source cell holds hidden tests; None when the
    source notebooks are not there (then every test counts)."""
    folder = course.source_dir(assignment)
    sources = sorted(folder.glob("*.ipynb")) if folder.is_dir() else []
    if not sources:
        return None
    names = set()
    for path in sources:
        try:
            notebook = _read_notebook(path)
        except (OSError, ValueError):
            continue
        for cell in notebook.get("cells", []):
            meta = cell.get("metadata", {}).get("nbgrader", {})
            text = _as_text(cell.get("source", "")) or ""
            if meta.get("grade_id") and HIDDEN_MARKER in text:
                names.add(f"{path.stem}/{meta['grade_id']}")
    return names


def wrong_groups(
    documents: Iterable[tuple[str, Mapping[str, Any]]],
    settings: SimilaritySettings,
    tests: set[str] | None = None,
) -> list[WrongGroup]:
    """Groups of 2 to ``max_group`` students whose output on a (hidden) test is the same
    failure; outputs matching ``ignored_outputs`` and submissions that could not be graded
    are left out."""
    ignored = [re.compile(p) for p in settings.ignored_outputs]
    by_output: dict[tuple[str, str], set[str]] = defaultdict(set)
    for student, document in documents:
        if not document.get("gradable", True):
            continue
        for test in document.get("tests", []):
            name = str(test.get("name", ""))
            output = str(test.get("output", "")).strip()
            if (
                test.get("status") == "passed"
                or not output
                or (tests is not None and name not in tests)
            ):
                continue
            if any(p.search(output) for p in ignored):
                continue
            by_output[(name, output)].add(student)
    groups = [
        WrongGroup(name, output, tuple(sorted(students)))
        for (name, output), students in by_output.items()
        if 2 <= len(students) <= settings.max_group
    ]
    return sorted(groups, key=lambda g: (g.students, g.test))


def submitted_folders(course: Course, assignment: str) -> dict[str, Path]:
    """student -> ``submitted/<student>/<assignment>`` for every submission."""
    return {s: course.submitted_dir(s, assignment) for s in course.students(assignment)}


def archive_folders(archive: Path, assignment: str) -> dict[str, Path]:
    """Earlier years' submissions laid out as ``submitted/`` is
    (``ARCHIVE/<student>/<assignment>/``), named ``<archive folder>/<student>``."""
    if not archive.is_dir():
        raise ReportError(f"no archive folder {archive}")
    return {
        f"{archive.name}/{p.name}": p / assignment
        for p in sorted(archive.iterdir())
        if (p / assignment).is_dir() and not p.name.startswith(".")
    }


def find_similarity(
    course: Course,
    assignment: str,
    archive: Path | None = None,
    settings: SimilaritySettings | None = None,
) -> SimilarityData:
    """The pairs of students with similar answers and the groups with identical wrong
    outputs in ``assignment``; ``archive`` adds earlier years' submissions to compare with."""
    settings = settings or settings_of(course)
    starters = starter_code(course, assignment)
    notebooks = sorted({name for name, _ in starters})
    submitted = submitted_folders(course, assignment)
    old = archive_folders(archive, assignment) if archive else {}
    answers = read_answers({**submitted, **old}, notebooks, settings, starters)
    by_pair: dict[tuple[str, str], list[CellMatch]] = defaultdict(list)
    for (notebook, cell), per_student in sorted(answers.cells.items()):
        for a, b, match in compare_cell(
            notebook, cell, per_student, starters[(notebook, cell)], settings, old
        ):
            by_pair[(a, b)].append(match)
    pairs = [
        PairMatch(a, b, max(m.score for m in ms), tuple(sorted(ms, key=lambda m: -m.score)))
        for (a, b), ms in by_pair.items()
    ]
    pairs.sort(key=lambda p: (-p.score, p.first, p.second))
    groups = wrong_groups(
        iter_results(course, assignment), settings, hidden_tests(course, assignment)
    )
    return SimilarityData(
        assignment=assignment,
        students=len(submitted),
        cells=len(starters),
        pairs=tuple(pairs),
        groups=tuple(groups),
        skipped=tuple(answers.skipped),
        cell_threshold=settings.cell_threshold,
        max_group=settings.max_group,
        archived=len(old),
    )


def summary_lines(found: SimilarityData) -> list[str]:
    """The similarity report as plain text lines, for the terminal."""
    lines = [
        f"{found.assignment}: {found.students} students, {found.cells} answer cells"
        + (f", {found.archived} from earlier years" if found.archived else "")
        + f"; threshold {found.cell_threshold:.2f}",
        "Similarity is a reason to look, not a verdict.",
        f"pairs with similar answers: {len(found.pairs)}",
    ]
    for pair in found.pairs:
        cells = ", ".join(f"{m.notebook}/{m.cell} {m.score:.2f}" for m in pair.cells)
        lines.append(f"  {pair.first} {pair.second} {pair.score:.2f}: {cells}")
    lines.append(f"groups with identical wrong outputs: {len(found.groups)}")
    for group in found.groups:
        first = group.output.splitlines()[0] if group.output else ""
        lines.append(f"  {', '.join(group.students)}: {group.test}: {first[:120]}")
    if found.skipped:
        lines.append(f"left out: {len(found.skipped)}")
        for item in found.skipped:
            where = f"{item.notebook}/{item.cell}" if item.cell else item.notebook
            detail = f" ({item.detail})" if item.detail else ""
            lines.append(f"  {item.student}: {where}: {item.reason}{detail}")
    return lines
