"""CSV exports an LMS gradebook imports: Canvas, Moodle, and one row per test for item analysis.

Column names and the rules each format follows are documented in ``docs/exports.md``. Common to
all three: UTF-8 (optionally with a byte-order mark, for spreadsheet programs), RFC 4180
quoting (a field with a comma, a double quote or a line break is quoted, quotes doubled),
CRLF line ends, numbers with a decimal point, no thousands separator and at most two decimals.

Grades come from nbgrader's gradebook (autograded plus hand-graded points, as
``nbgrader export`` sees them); ``results.json`` says which submissions could not be graded,
whose cell stays empty so that the LMS keeps what it has instead of recording a false zero.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from grader.course import Course
from grader.engine.results import iter_results
from grader.report import ReportError

CANVAS_IDENTITY = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
CANVAS_POINTS_POSSIBLE = "Points Possible"
MOODLE_IDENTITY = ("ID number", "Email address", "First name", "Last name")
ITEM_COLUMNS = ("student", "assignment", "notebook", "test", "score", "max", "status")


def format_number(value: float) -> str:
    """A number as LMS imports read it: decimal point, at most two decimals, no trailing zeros."""
    text = f"{round(value, 2):.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


@dataclass(frozen=True)
class Student:
    """A student of the gradebook's roster."""

    id: str
    first_name: str = ""
    last_name: str = ""
    email: str = ""
    lms_user_id: str = ""

    @property
    def sortable_name(self) -> str:
        """ "Last, First" as Canvas writes names; the id when the roster has no name."""
        if self.last_name and self.first_name:
            return f"{self.last_name}, {self.first_name}"
        return self.last_name or self.first_name or self.id


@dataclass(frozen=True)
class CourseGrades:
    """Each student's total per assignment (None: not gradable, left for a person)."""

    assignments: tuple[str, ...]
    max_scores: Mapping[str, float]
    students: tuple[Student, ...]
    scores: Mapping[tuple[str, str], float | None]  # (student, assignment) -> points


def course_grades(course: Course, assignments: Sequence[str] | None = None) -> CourseGrades:
    """Read the roster and every student's points per assignment from the gradebook."""
    from nbgrader.api import MissingEntry

    from grader.report.collect import open_gradebook

    not_gradable: set[tuple[str, str]] = set()
    with open_gradebook(course) as gb:
        names = list(assignments) if assignments else [a.name for a in gb.assignments]
        max_scores: dict[str, float] = {}
        for name in names:
            try:
                max_scores[name] = float(gb.find_assignment(name).max_score or 0.0)
            except MissingEntry:
                raise ReportError(f"assignment {name!r} is not in the gradebook") from None
        students = tuple(
            Student(s.id, s.first_name or "", s.last_name or "", s.email or "", s.lms_user_id or "")
            for s in sorted(gb.students, key=lambda s: s.id)
        )
        scores: dict[tuple[str, str], float | None] = {}
        for student in students:
            for name in names:
                try:
                    scores[student.id, name] = float(gb.find_submission(name, student.id).score)
                except MissingEntry:
                    scores[student.id, name] = 0.0  # nothing submitted earns nothing
    for name in names:
        for student_id, document in iter_results(course, name):
            if not document.get("gradable", True):
                not_gradable.add((student_id, name))
    for key in not_gradable:
        if key in scores:
            scores[key] = None
    return CourseGrades(tuple(names), max_scores, students, scores)


def _score(value: float | None) -> str:
    return "" if value is None else format_number(value)


def canvas_rows(
    grades: CourseGrades, canvas_ids: Mapping[str, str] | None = None, section: str = ""
) -> list[list[str]]:
    """Canvas's gradebook CSV: identity columns, one "Name (id)" column per assignment, a
    "Points Possible" row, then one row per student."""
    ids = canvas_ids or {}
    columns = [f"{a} ({ids[a]})" if ids.get(a) else a for a in grades.assignments]
    rows = [list(CANVAS_IDENTITY) + columns]
    rows.append(
        [CANVAS_POINTS_POSSIBLE, "", "", "", ""]
        + [format_number(grades.max_scores[a]) for a in grades.assignments]
    )
    for s in grades.students:
        rows.append(
            [s.sortable_name, s.lms_user_id, s.id, "", section]
            + [_score(grades.scores[s.id, a]) for a in grades.assignments]
        )
    return rows


def moodle_rows(grades: CourseGrades) -> list[list[str]]:
    """Moodle's CSV grade import: identity columns (map "ID number" or "Email address" to the
    user on import), then one column per grade item, named as the assignment."""
    rows = [list(MOODLE_IDENTITY) + list(grades.assignments)]
    for s in grades.students:
        rows.append(
            [s.id, s.email, s.first_name, s.last_name]
            + [_score(grades.scores[s.id, a]) for a in grades.assignments]
        )
    return rows


def identity_warnings(grades: CourseGrades) -> list[str]:
    """What could make an LMS import put a grade on the wrong student, in plain words.

    Moodle's import keeps the previous row's user when a row's identifier is empty, and aborts
    on an identifier it does not know; Canvas falls back to matching names without an id.
    """
    warnings = []
    no_email = [s.id for s in grades.students if not s.email]
    if no_email:
        warnings.append(
            f"{len(no_email)} student(s) have no email ({', '.join(no_email[:5])}"
            f"{', ...' if len(no_email) > 5 else ''}): in Moodle map users by 'ID number', "
            "not by 'Email address'"
        )
    emails = [s.email.lower() for s in grades.students if s.email]
    if len(set(emails)) != len(emails):
        warnings.append("two students share an email: map Moodle users by 'ID number'")
    no_lms_id = sum(1 for s in grades.students if not s.lms_user_id)
    if no_lms_id:
        warnings.append(
            f"{no_lms_id} student(s) have no LMS id in the gradebook: Canvas matches them by "
            "'SIS User ID' (the nbgrader id), so it must equal their SIS id"
        )
    return warnings


def _test_status(test: Mapping, notebook: Mapping | None) -> str:
    if notebook is not None and not notebook.get("gradable", True):
        return "not gradable"
    if notebook is not None and "not submitted" in notebook.get("reasons", ()):
        return "not submitted"
    return str(test.get("status", ""))


def item_rows(course: Course, assignments: Sequence[str]) -> list[list[str]]:
    """One row per student, assignment and autograded test, from ``results.json``."""
    rows = [list(ITEM_COLUMNS)]
    for assignment in assignments:
        for student, document in iter_results(course, assignment):
            notebooks = {nb.get("name"): nb for nb in document.get("notebooks", [])}
            for test in document.get("tests", []):
                notebook, _, grade_id = str(test["name"]).partition("/")
                rows.append(
                    [
                        student,
                        assignment,
                        notebook,
                        grade_id,
                        format_number(float(test.get("score", 0.0))),
                        format_number(float(test.get("max_score", 0.0))),
                        _test_status(test, notebooks.get(notebook)),
                    ]
                )
    return rows


def csv_text(rows: Sequence[Sequence[str]]) -> str:
    """RFC 4180 text: minimal quoting, doubled quotes, CRLF line ends."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    writer.writerows(rows)
    return buffer.getvalue()


def write_csv(path: Path, rows: Sequence[Sequence[str]], bom: bool = False) -> Path:
    """Write ``rows`` to ``path`` in UTF-8 (with a byte-order mark if asked), atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.partial")
    temporary.write_bytes(csv_text(rows).encode("utf-8-sig" if bom else "utf-8"))
    temporary.replace(path)
    return path


def export_course(
    course: Course,
    folder: Path,
    assignments: Sequence[str] | None = None,
    canvas_ids: Mapping[str, str] | None = None,
    section: str = "",
    bom: bool = False,
) -> dict[str, Path]:
    """Write ``<course>-canvas.csv``, ``<course>-moodle.csv`` and ``<course>-tests.csv``."""
    grades = course_grades(course, assignments)
    unknown = sorted(set(canvas_ids or {}) - set(grades.assignments))
    if unknown:
        raise ReportError(f"Canvas ids given for unknown assignments: {', '.join(unknown)}")
    stem = course.course_id
    return {
        "canvas": write_csv(
            folder / f"{stem}-canvas.csv", canvas_rows(grades, canvas_ids, section), bom
        ),
        "moodle": write_csv(folder / f"{stem}-moodle.csv", moodle_rows(grades), bom),
        "tests": write_csv(
            folder / f"{stem}-tests.csv", item_rows(course, grades.assignments), bom
        ),
    }
