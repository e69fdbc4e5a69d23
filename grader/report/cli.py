"""``grader report``, ``grader similarity`` and ``grader export``: thin commands over
:mod:`grader.report`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from grader.report import ReportError
from grader.report.labels import LABELS

if TYPE_CHECKING:
    from grader.course import Course

REPORTS = "reports"
EXPORTS = "exports"


def _course(root: str) -> Course:
    from grader.course import load_course

    return load_course(Path(root))


def run_report(args: argparse.Namespace) -> int:
    """Write the class report of the assignments given (or of the whole course)."""
    from grader.engine.gradebook import GradebookError
    from grader.quiz.bank import QuizError
    from grader.quiz.config import db_url_from
    from grader.report.render import write_report

    course = _course(args.root)
    name = "-".join(args.assignments) if args.assignments else "course"
    output = Path(args.output) if args.output else course.root / REPORTS / f"{name}.html"
    quiz_db = None if args.no_quizzes else db_url_from(db_url=args.quiz_db)
    try:
        written = write_report(
            course,
            output,
            args.assignments or None,
            quiz_db_url=quiz_db,
            bank_dir=Path(args.bank) if args.bank else None,
            lang=args.lang,
            similarity=not args.no_similarity,
            archive=Path(args.archive) if args.archive else None,
        )
    except (ReportError, GradebookError, QuizError) as error:
        print(f"grader report: {error}", file=sys.stderr)
        return 2
    print(written)
    return 0


def run_similarity(args: argparse.Namespace) -> int:
    """Print the pairs of students with similar answers and the groups with identical wrong
    outputs of one assignment (for the instructor: it names students)."""
    from grader.report.similarity import find_similarity, summary_lines

    course = _course(args.root)
    try:
        found = find_similarity(
            course, args.assignment, Path(args.archive) if args.archive else None
        )
    except ReportError as error:
        print(f"grader similarity: {error}", file=sys.stderr)
        return 2
    for line in summary_lines(found):
        print(line)
    return 0


def _canvas_ids(pairs: list[str]) -> dict[str, str]:
    ids = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name or not value.strip().isdigit():
            raise ReportError(f"--canvas-id wants ASSIGNMENT=NUMBER, got {pair!r}")
        ids[name] = value.strip()
    return ids


def run_export(args: argparse.Namespace) -> int:
    """Write the Canvas, Moodle and per-test CSV files of the course."""
    from grader.report.exports import course_grades, export_course, identity_warnings

    course = _course(args.root)
    folder = Path(args.output_dir) if args.output_dir else course.root / EXPORTS
    try:
        written = export_course(
            course,
            folder,
            args.assignments or None,
            canvas_ids=_canvas_ids(args.canvas_id or []),
            section=args.section,
            bom=args.bom,
        )
    except ReportError as error:
        print(f"grader export: {error}", file=sys.stderr)
        return 2
    for kind, path in written.items():
        print(f"{kind}: {path}")
    for warning in identity_warnings(course_grades(course, args.assignments or None)):
        print(f"grader export: warning: {warning}", file=sys.stderr)
    return 0


def register(commands: argparse._SubParsersAction) -> None:
    """Add ``report``, ``similarity`` and ``export`` to the top-level parser."""
    parser = commands.add_parser(
        "report", help="write the class report (HTML with figures) of assignments or the course"
    )
    parser.add_argument("assignments", nargs="*", help="assignments (default: the whole course)")
    parser.add_argument("--root", default=".", help="course directory (default: .)")
    parser.add_argument("--output", help=f"HTML file (default: {REPORTS}/<assignment>.html)")
    parser.add_argument(
        "--quiz-db", help="quiz database URL (default: $GRADER_QUIZ_DB, else the quiz default)"
    )
    parser.add_argument("--no-quizzes", action="store_true", help="leave the quizzes out")
    parser.add_argument("--bank", help="quiz bank folder (default: the course's quizzes/)")
    parser.add_argument(
        "--lang", choices=sorted(LABELS), default="en", help="language of the page (default: en)"
    )
    parser.add_argument(
        "--no-similarity", action="store_true", help="leave out the similar-work section"
    )
    parser.add_argument(
        "--archive",
        metavar="FOLDER",
        help="earlier years' submissions (FOLDER/<student>/<assignment>/) to compare with",
    )
    parser.set_defaults(func=run_report)

    parser = commands.add_parser(
        "similarity",
        help="pairs of students with similar answers and groups with identical wrong outputs",
    )
    parser.add_argument("assignment", help="the assignment to compare")
    parser.add_argument("--root", default=".", help="course directory (default: .)")
    parser.add_argument(
        "--archive",
        metavar="FOLDER",
        help="earlier years' submissions (FOLDER/<student>/<assignment>/) to compare with",
    )
    parser.set_defaults(func=run_similarity)

    parser = commands.add_parser(
        "export", help="write CSV files for Canvas and Moodle gradebooks and per-test results"
    )
    parser.add_argument("assignments", nargs="*", help="assignments (default: all)")
    parser.add_argument("--root", default=".", help="course directory (default: .)")
    parser.add_argument("--output-dir", help=f"folder for the CSV files (default: {EXPORTS}/)")
    parser.add_argument(
        "--canvas-id",
        action="append",
        metavar="ASSIGNMENT=ID",
        help="the Canvas assignment id of an assignment (repeat); without it Canvas creates "
        "a new assignment column on import",
    )
    parser.add_argument("--section", default="", help="Canvas section written on every row")
    parser.add_argument(
        "--bom", action="store_true", help="start files with a UTF-8 byte-order mark (Excel)"
    )
    parser.set_defaults(func=run_export)
