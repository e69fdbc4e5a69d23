"""Reads the instructor's master cells from, and writes grades into, nbgrader's gradebook.

Everything goes through :class:`nbgrader.api.Gradebook`, so ``nbgrader export``,
``nbgrader generate_feedback`` and the formgrader read what the engine wrote. One submission's
grades are written in a single transaction, after it has been graded completely: a grading
run killed half-way leaves each submission either fully recorded or untouched.
"""

from __future__ import annotations

import datetime
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry
from sqlalchemy.exc import SAWarning

from grader.engine.submission import MasterCell, MasterNotebook


class GradebookError(RuntimeError):
    """The gradebook lacks what grading needs (e.g. the assignment was never generated)."""


@dataclass(frozen=True)
class CellGrade:
    """What to record for one grade cell: ``auto_score`` None means "needs a human"."""

    auto_score: float | None
    needs_manual_grade: bool


@dataclass
class NotebookGrades:
    """Grades and comments for one submitted notebook."""

    name: str
    grades: dict[str, CellGrade] = field(default_factory=dict)
    comments: dict[str, str | None] = field(default_factory=dict)
    flagged: bool = False


def assignment_notebooks(db_url: str, assignment: str) -> list[str]:
    """Names of the assignment's notebooks; raises :class:`GradebookError` when unknown."""
    if db_url.startswith("sqlite:///") and not Path(db_url[len("sqlite:///") :]).is_file():
        raise GradebookError(
            f"no gradebook at {db_url[len('sqlite:///') :]}: release the assignment first "
            f"(`grader release {assignment}`), or pass --root with the course folder"
        )
    with Gradebook(db_url) as gb:
        try:
            found = gb.find_assignment(assignment)
        except MissingEntry:
            raise GradebookError(
                f"assignment {assignment!r} is not in the gradebook: "
                "run `nbgrader generate_assignment` first"
            ) from None
        return sorted(nb.name for nb in found.notebooks)


def load_master(db_url: str, assignment: str, notebook: str) -> MasterNotebook:
    """The instructor's nbgrader cells of one notebook (hidden tests included)."""
    with Gradebook(db_url) as gb:
        try:
            nb = gb.find_notebook(notebook, assignment)
        except MissingEntry as error:
            raise GradebookError(str(error)) from None
        grade = {c.name: c.max_score for c in nb.grade_cells}
        task = {c.name: c.max_score for c in nb.task_cells}
        solution = {c.name for c in nb.solution_cells}
        cells = tuple(
            MasterCell(
                name=c.name,
                cell_type=c.cell_type,
                source=c.source or "",
                checksum=c.checksum,
                locked=bool(c.locked),
                grade=c.name in grade,
                solution=c.name in solution,
                task=c.name in task,
                points=grade.get(c.name, task.get(c.name)),
            )
            for c in nb.source_cells
        )
        return MasterNotebook(notebook, cells)


def record_submission(
    db_url: str,
    assignment: str,
    student: str,
    notebooks: Mapping[str, NotebookGrades],
    timestamp: str | None = None,
) -> None:
    """Write one submission's grades, comments and flags (one commit for all its notebooks)."""
    with warnings.catch_warnings(), Gradebook(db_url) as gb:
        # nbgrader's own autoflush warning when a submission is created ("Object of type
        # <SubmittedAssignment> not in session"): harmless, and it would bury the progress.
        warnings.filterwarnings("ignore", message="Object of type <Submitted", category=SAWarning)
        gb.update_or_create_student(student)
        if timestamp:
            gb.update_or_create_submission(assignment, student, timestamp=timestamp)
        else:
            gb.update_or_create_submission(assignment, student)
        try:
            for name, graded in notebooks.items():
                submitted = gb.find_submission_notebook(name, assignment, student)
                submitted.flagged = graded.flagged
                submitted.late_submission_penalty = None
                for grade_id, cell_grade in graded.grades.items():
                    grade = gb.find_grade(grade_id, name, assignment, student)
                    grade.auto_score = cell_grade.auto_score
                    grade.needs_manual_grade = (
                        cell_grade.needs_manual_grade or grade.manual_score is not None
                    )
                for grade_id, text in graded.comments.items():
                    comment = gb.find_comment(grade_id, name, assignment, student)
                    comment.auto_comment = text
            gb.db.commit()
        except BaseException:
            gb.db.rollback()
            raise


def recorded_scores(db_url: str, assignment: str, student: str) -> dict[str, dict[str, float]]:
    """Auto scores per notebook and grade id, as stored (for checks and tests)."""
    with Gradebook(db_url) as gb:
        submission = gb.find_submission(assignment, student)
        return {
            nb.name: {g.name: g.auto_score for g in nb.grades if g.cell.type == "GradeCell"}
            for nb in submission.notebooks
        }


def due_date(db_url: str, assignment: str, student: str | None = None) -> datetime.datetime | None:
    """The assignment's due date (naive, UTC, as nbgrader stores it), or None when it has none
    or is not in the gradebook; for ``student``, with the extension the instructor granted
    them (nbgrader's ``grant_extension``, once they have a submission in the gradebook)."""
    with Gradebook(db_url) as gb:
        try:
            if student is not None:
                try:
                    return gb.find_submission(assignment, student).duedate
                except MissingEntry:
                    pass  # no submission yet: no extension either
            return gb.find_assignment(assignment).duedate
        except MissingEntry:
            return None
