"""What the class report shows, gathered from the engine's results, the gradebook and quizzes.

Sources, all read-only:
- ``autograded/<student>/<assignment>/results.json`` (the engine's per-submission results:
  tests, messages, notebooks, times, ``gradable``, reasons and flags), via ``iter_results``;
- nbgrader's gradebook: the roster, the assignment's notebooks and due date, each submission's
  timestamp and lateness;
- the submitted folders, for notebooks the assignment does not have (renamed or misplaced);
- the quiz store (through :class:`grader.quiz.store.Store`), for the pre/post gain per concept.

Everything is returned as frozen dataclasses, so rendering and exporting never touch a file.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from grader.course import Course
from grader.engine.results import iter_results
from grader.report import ReportError

GRADED = "graded"
FLAGGED = "flagged"
NOT_GRADABLE = "not gradable"
MISSING_NOTEBOOK = "notebook missing"
NOT_GRADED = "submitted, not graded yet"
NO_SUBMISSION = "no submission"

#: The reason the engine gives a notebook that was not in the submission.
NOT_SUBMITTED = "not submitted"

#: How many distinct failure messages the report lists per test.
TOP_MESSAGES = 3
MESSAGE_CHARS = 200


@dataclass(frozen=True)
class NotebookRow:
    """One notebook of one submission, as the engine graded it."""

    name: str
    score: float
    max_score: float
    seconds: float
    gradable: bool
    reasons: tuple[str, ...] = ()
    flags: tuple[str, ...] = ()
    executed: Path | None = None  # the executed notebook in autograded/, when there is one


@dataclass(frozen=True)
class StudentRow:
    """One student's standing on one assignment."""

    student: str
    status: str
    score: float | None = None
    max_score: float | None = None
    timestamp: str | None = None
    seconds_late: float = 0.0
    notebooks: tuple[NotebookRow, ...] = ()
    reasons: tuple[str, ...] = ()
    flags: tuple[str, ...] = ()
    stray_files: tuple[str, ...] = ()  # notebooks submitted under a name the assignment lacks
    submitted: tuple[Path, ...] = ()  # the notebook files as handed in (submitted/)

    @property
    def late(self) -> bool:
        """Submitted after the due date (and any extension)."""
        return self.seconds_late > 0

    @property
    def fraction(self) -> float | None:
        """Score as a fraction of the maximum, None when there is no score."""
        if self.score is None or not self.max_score:
            return None
        return self.score / self.max_score

    @property
    def scored(self) -> bool:
        """Graded (flagged or with a notebook missing included): the score counts."""
        return self.status in (GRADED, FLAGGED, MISSING_NOTEBOOK)

    @property
    def needs_attention(self) -> bool:
        """Something a person should look at: not gradable, flagged, a notebook missing, late,
        or files the assignment does not have."""
        return (
            self.status in (NOT_GRADABLE, FLAGGED, MISSING_NOTEBOOK)
            or self.late
            or bool(self.stray_files)
        )


@dataclass(frozen=True)
class TestRow:
    """One autograded test across the class."""

    __test__ = False  # not a pytest test class

    name: str  # "<notebook>/<grade id>"
    max_score: float
    graded: int  # gradable submissions that have this test
    passed: int
    points_lost: float
    failures: tuple[tuple[str, int], ...] = ()  # most common failure messages and counts

    @property
    def notebook(self) -> str:
        """The notebook this test belongs to."""
        return self.name.split("/", 1)[0]

    @property
    def pass_rate(self) -> float | None:
        """Passed / graded, None when nobody was graded on it."""
        return self.passed / self.graded if self.graded else None


@dataclass(frozen=True)
class AssignmentData:
    """Everything the report shows about one assignment."""

    name: str
    notebooks: tuple[str, ...]
    max_score: float
    duedate: str | None
    students: tuple[StudentRow, ...]
    tests: tuple[TestRow, ...]

    def grading_times(self) -> dict[str, list[float]]:
        """Seconds each notebook took to grade, per notebook (executed notebooks only)."""
        times: dict[str, list[float]] = {name: [] for name in self.notebooks}
        for row in self.students:
            for nb in row.notebooks:
                if nb.executed is not None or nb.seconds > 0:
                    times.setdefault(nb.name, []).append(nb.seconds)
        return times

    def notebook_fractions(self) -> dict[str, float]:
        """Class mean of the fraction of points earned, per notebook (of the notebooks that
        were submitted and could be graded)."""
        sums: dict[str, list[float]] = {}
        for row in self.students:
            for nb in row.notebooks:
                if nb.gradable and nb.max_score and NOT_SUBMITTED not in nb.reasons:
                    sums.setdefault(nb.name, []).append(nb.score / nb.max_score)
        return {name: sum(v) / len(v) for name, v in sums.items() if v}

    def counts(self) -> dict[str, int]:
        """How many students are in each status."""
        return dict(Counter(row.status for row in self.students))


@dataclass(frozen=True)
class ConceptRow:
    """A quiz concept: the class's pre/post results and the notebooks that practise it."""

    concept: str
    notebooks: tuple[str, ...]
    pre: float | None
    post: float | None
    gain: float | None
    students: int  # students who took both quizzes
    notebook_fraction: float | None  # class mean on those notebooks


@dataclass(frozen=True)
class QuizData:
    """The quiz part of the report: concept rows, or why there are none.

    ``note`` is one of :data:`QUIZ_NOTES` ("" when there are rows), ``where`` the database
    it is about; the report words the note in its own language.
    """

    concepts: tuple[ConceptRow, ...] = ()
    note: str = ""
    where: str = ""


#: Why a report has no quiz rows.
QUIZ_NOTES = ("no_quiz_given", "no_quiz_db", "no_pairs", "no_concepts_here")


def _first_line(text: str) -> str:
    line = next((part.strip() for part in text.splitlines() if part.strip()), "(no message)")
    return line if len(line) <= MESSAGE_CHARS else line[: MESSAGE_CHARS - 1] + "…"


def open_gradebook(course: Course) -> Any:
    """nbgrader's Gradebook of the course; refuses to create a new, empty SQLite file."""
    from nbgrader.api import Gradebook

    url = course.db_url
    if url.startswith("sqlite:///") and not Path(url[len("sqlite:///") :]).is_file():
        raise ReportError(
            f"no gradebook at {url[len('sqlite:///') :]}: release the assignments "
            "(`grader release`) and grade them (`grader autograde ASSIGNMENT`) first"
        )
    return Gradebook(url, course_id=course.course_id)


def gradebook_assignments(course: Course) -> list[str]:
    """The assignments in the gradebook, in the order they were added."""
    with open_gradebook(course) as gb:
        return [a.name for a in gb.assignments]


def roster(course: Course) -> list[dict[str, str]]:
    """The gradebook's students: id, first and last name, email and LMS id ("" when unset)."""
    with open_gradebook(course) as gb:
        return [
            {
                "id": s.id,
                "first_name": s.first_name or "",
                "last_name": s.last_name or "",
                "email": s.email or "",
                "lms_user_id": s.lms_user_id or "",
            }
            for s in gb.students
        ]


def _notebook_rows(
    course: Course, student: str, assignment: str, document: Mapping
) -> list[NotebookRow]:
    folder = course.autograded_dir(student, assignment)
    rows = []
    for nb in document.get("notebooks", []):
        executed = folder / f"{nb['name']}.ipynb"
        rows.append(
            NotebookRow(
                name=str(nb["name"]),
                score=float(nb.get("score", 0.0)),
                max_score=float(nb.get("max_score", 0.0)),
                seconds=float(nb.get("execution_time", 0.0)),
                gradable=bool(nb.get("gradable", True)),
                reasons=tuple(nb.get("reasons", ())),
                flags=tuple(nb.get("flags", ())),
                executed=executed if executed.is_file() else None,
            )
        )
    return rows


def _stray_files(
    course: Course, student: str, assignment: str, notebooks: Sequence[str]
) -> tuple[str, ...]:
    folder = course.submitted_dir(student, assignment)
    if not folder.is_dir():
        return ()
    return tuple(
        sorted(
            str(p.relative_to(folder))
            for p in folder.rglob("*.ipynb")
            if p.stem not in notebooks and ".ipynb_checkpoints" not in p.parts
        )
    )


def _student_row(
    course: Course,
    assignment: str,
    student: str,
    notebooks: Sequence[str],
    document: Mapping | None,
    submission: Mapping[str, Any],
) -> StudentRow:
    stray = _stray_files(course, student, assignment, notebooks)
    folder = course.submitted_dir(student, assignment)
    common: dict[str, Any] = {
        "timestamp": submission.get("timestamp"),
        "seconds_late": float(submission.get("seconds_late") or 0.0),
        "stray_files": stray,
        "submitted": tuple(sorted(folder.glob("*.ipynb"))) if folder.is_dir() else (),
    }
    if document is None:
        submitted = course.submitted_dir(student, assignment).is_dir()
        return StudentRow(student, NOT_GRADED if submitted else NO_SUBMISSION, **common)
    gradable = bool(document.get("gradable", True))
    flags = tuple(document.get("flags", ()))
    notebook_rows = tuple(_notebook_rows(course, student, assignment, document))
    missing = any(NOT_SUBMITTED in nb.reasons for nb in notebook_rows)
    status = (
        NOT_GRADABLE
        if not gradable
        else FLAGGED
        if flags
        else MISSING_NOTEBOOK
        if missing
        else GRADED
    )
    return StudentRow(
        student,
        status,
        score=float(document.get("score", 0.0)),
        max_score=float(document.get("max_score", 0.0)),
        notebooks=notebook_rows,
        reasons=tuple(document.get("reasons", ())),
        flags=flags,
        **common,
    )


def summarize_tests(documents: Iterable[Mapping]) -> list[TestRow]:
    """Per test: pass rate, points lost and the most common failure messages.

    Only notebooks that ran count: one that could not be graded or was not submitted says
    nothing about the test (what happened is listed with the student instead).
    """
    max_scores: dict[str, float] = {}
    graded: Counter[str] = Counter()
    passed: Counter[str] = Counter()
    lost: dict[str, float] = {}
    messages: dict[str, Counter[str]] = {}
    for document in documents:
        skipped = {
            nb.get("name")
            for nb in document.get("notebooks", [])
            if not nb.get("gradable", True) or NOT_SUBMITTED in nb.get("reasons", ())
        }
        for test in document.get("tests", []):
            name = str(test["name"])
            if not document.get("gradable", True) or name.split("/", 1)[0] in skipped:
                continue
            max_scores[name] = float(test.get("max_score", 0.0))
            graded[name] += 1
            lost[name] = lost.get(name, 0.0) + max_scores[name] - float(test.get("score", 0.0))
            if test.get("status") == "passed":
                passed[name] += 1
            else:
                messages.setdefault(name, Counter())[_first_line(str(test.get("output", "")))] += 1
    return [
        TestRow(
            name=name,
            max_score=max_scores[name],
            graded=graded[name],
            passed=passed[name],
            points_lost=round(lost[name], 6),
            failures=tuple(messages.get(name, Counter()).most_common(TOP_MESSAGES)),
        )
        for name in max_scores
    ]


def collect_assignment(course: Course, assignment: str) -> AssignmentData:
    """One assignment's report data: every student of the roster or with a submission."""
    with open_gradebook(course) as gb:
        from nbgrader.api import MissingEntry

        try:
            found = gb.find_assignment(assignment)
        except MissingEntry:
            known = ", ".join(a.name for a in gb.assignments) or "none"
            raise ReportError(
                f"assignment {assignment!r} is not in the gradebook (known: {known})"
            ) from None
        notebooks = tuple(sorted(nb.name for nb in found.notebooks))
        max_score = float(found.max_score or 0.0)
        duedate = found.duedate.isoformat(sep=" ") if found.duedate else None
        submissions = {
            s.student_id: {
                "timestamp": s.timestamp.isoformat(sep=" ") if s.timestamp else None,
                "seconds_late": s.total_seconds_late,
            }
            for s in found.submissions
        }
        students = {s.id for s in gb.students}
    documents = dict(iter_results(course, assignment))
    everyone = sorted(students | set(documents) | set(course.students(assignment)))
    rows = tuple(
        _student_row(course, assignment, s, notebooks, documents.get(s), submissions.get(s, {}))
        for s in everyone
    )
    return AssignmentData(
        name=assignment,
        notebooks=notebooks,
        max_score=max_score,
        duedate=duedate,
        students=rows,
        tests=tuple(summarize_tests(documents.values())),
    )


def _quiz_is_there(db_url: str) -> bool:
    if db_url.startswith("sqlite:///"):
        return Path(db_url[len("sqlite:///") :]).is_file()
    return db_url not in ("sqlite://", "sqlite:///:memory:")


def collect_quizzes(
    db_url: str, notebook_fractions: Mapping[str, float], bank_dir: Path | None = None
) -> QuizData:
    """Pre/post gain per concept (for every pre/post pair of the bank) beside the class's
    mean on the notebooks the bank ties to that concept."""
    from grader.quiz.bank import load_bank
    from grader.quiz.store import DatabaseUnavailable

    if not _quiz_is_there(db_url):
        return QuizData(note="no_quiz_db", where=_shown(db_url))
    bank = load_bank(bank_dir)
    try:
        rows = _concept_rows(bank, db_url, notebook_fractions)
    except (DatabaseUnavailable, SQLAlchemyError) as error:
        raise ReportError(
            f"cannot read the quiz attempts from {_shown(db_url)}: {error.__class__.__name__}: "
            f"{str(error).splitlines()[0]} (check --quiz-db, or leave quizzes out: --no-quizzes)"
        ) from error
    return QuizData(tuple(rows), "" if rows else "no_pairs", _shown(db_url))


def _shown(db_url: str) -> str:
    """A database URL fit to print: its password hidden."""
    try:
        return make_url(db_url).render_as_string(hide_password=True)
    except ArgumentError:
        return "(an invalid database URL)"


def _concept_rows(
    bank: Mapping[str, Any], db_url: str, notebook_fractions: Mapping[str, float]
) -> list[ConceptRow]:
    from grader.quiz.dashboard.stats import counted_attempts, gain
    from grader.quiz.store import Store

    rows: list[ConceptRow] = []
    with Store.open(db_url) as store:
        for post in bank.values():
            if post.kind != "post" or post.pair not in bank:
                continue
            pre = bank[post.pair]
            result = gain(
                pre,
                post,
                counted_attempts(pre, store.attempts(pre.id)),
                counted_attempts(post, store.attempts(post.id)),
            )
            for item in result["per_concept"]:
                notebooks = tuple(
                    dict.fromkeys(
                        q.notebook
                        for quiz in (pre, post)
                        for q in quiz.questions
                        if q.concept == item["concept"] and q.notebook
                    )
                )
                fractions = [notebook_fractions[n] for n in notebooks if n in notebook_fractions]
                rows.append(
                    ConceptRow(
                        concept=item["concept"],
                        notebooks=notebooks,
                        pre=item["pre"],
                        post=item["post"],
                        gain=item["gain"],
                        students=item["n"],
                        notebook_fraction=sum(fractions) / len(fractions) if fractions else None,
                    )
                )
    return rows
