"""Commands of grader.engine (registered on the top-level ``grader`` parser).

``grader autograde ASSIGNMENT`` grades submissions in the sandbox and writes the gradebook,
``autograded/`` and ``results.json``; ``grader feedback ASSIGNMENT`` writes HTML feedback
without the hidden tests. Both are thin: the work is in :mod:`grader.engine.autograde` and
:mod:`grader.engine.feedback`.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from grader.engine.kernel import Timeouts
from grader.engine.sandbox import Limits, SandboxPolicy

log = logging.getLogger("grader.engine")


def _logging() -> None:
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="[grader] %(levelname)s: %(message)s")


def run_autograde(args: argparse.Namespace) -> int:
    """``grader autograde``: grade, record, report; exit status 0 when all went through."""
    from grader.engine.autograde import GradingOptions, autograde, load_course
    from grader.engine.gradebook import GradebookError
    from grader.engine.reference import ReferenceFailure
    from grader.engine.sandbox import SandboxError

    _logging()
    course = load_course(Path(args.root))
    limits = Limits(memory_bytes=int(args.memory_mb) * 2**20 if args.memory_mb else None)
    options = GradingOptions(
        timeouts=Timeouts(cell=args.timeout_cell, notebook=args.timeout_notebook),
        policy=SandboxPolicy(
            exposed=tuple(args.expose or ()), limits=limits, enabled=not args.no_sandbox
        ),
        force=args.force,
    )

    def report(student: str, results: object) -> None:
        if results is None:
            print(f"{student}: already graded (use --force to regrade)")
            return
        document = results.to_json()  # type: ignore[attr-defined]
        state = "" if document["gradable"] else "  NOT GRADABLE: " + "; ".join(document["reasons"])
        flags = f"  FLAGGED: {'; '.join(document['flags'])}" if document["flags"] else ""
        print(f"{student}: {document['score']:g}/{document['max_score']:g}{state}{flags}")

    try:
        autograde(course, args.assignment, options, args.student, on_result=report)
    except (GradebookError, ReferenceFailure, SandboxError) as error:
        print(f"grader autograde: {error}", file=sys.stderr)
        return 2
    return 0


def run_feedback(args: argparse.Namespace) -> int:
    """``grader feedback``: HTML feedback per student from the autograded results."""
    from grader.engine.autograde import load_course
    from grader.engine.feedback import write_feedback

    _logging()
    course = load_course(Path(args.root))
    written = write_feedback(course, args.assignment, args.student)
    for path in written:
        print(path)
    if not written:
        print(f"grader feedback: nothing autograded for {args.assignment}", file=sys.stderr)
        return 1
    return 0


def register(commands: argparse._SubParsersAction) -> None:
    """Add this room's commands (``autograde``, ``feedback``) to the top-level parser."""
    auto = commands.add_parser(
        "autograde",
        help="grade submissions in a sandbox; write the gradebook, autograded/ and results.json",
        description="Grade submitted notebooks in a sandbox, judge their evidence against the "
        "reference run, and write the gradebook, autograded/ and results.json.",
    )
    auto.add_argument("assignment", metavar="ASSIGNMENT")
    auto.add_argument("--root", default=".", help="course directory (default: current)")
    auto.add_argument(
        "--student", action="extend", nargs="+", metavar="ID", help="grade only these students"
    )
    auto.add_argument(
        "--timeout-cell", type=float, default=120.0, metavar="S", help="seconds per cell (120)"
    )
    auto.add_argument(
        "--timeout-notebook",
        type=float,
        default=1800.0,
        metavar="S",
        help="seconds per notebook (1800)",
    )
    auto.add_argument("--force", action="store_true", help="regrade submissions already graded")
    auto.add_argument(
        "--memory-mb", type=int, default=6144, metavar="MB", help="address space per process"
    )
    auto.add_argument(
        "--expose", action="append", metavar="PATH", help="extra read-only path for kernels"
    )
    auto.add_argument(
        "--no-sandbox", action="store_true", help="no namespaces or user switch (limits stay)"
    )
    auto.set_defaults(func=run_autograde)

    feedback = commands.add_parser(
        "feedback",
        help="write HTML feedback (no hidden tests) for autograded submissions",
        description="Write feedback/<student>/ASSIGNMENT/<notebook>.html from autograded "
        "results, without hidden tests.",
    )
    feedback.add_argument("assignment", metavar="ASSIGNMENT")
    feedback.add_argument("--root", default=".", help="course directory (default: current)")
    feedback.add_argument("--student", action="extend", nargs="+", metavar="ID")
    feedback.set_defaults(func=run_feedback)
