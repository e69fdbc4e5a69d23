"""Commands of grader.engine (registered on the top-level ``grader`` parser).

``grader autograde ASSIGNMENT...`` grades submissions in the sandbox and writes the gradebook,
``autograded/`` and ``results.json``; ``grader feedback ASSIGNMENT`` writes HTML feedback
without the hidden tests. Both are thin: the work is in :mod:`grader.engine.autograde` and
:mod:`grader.engine.feedback`.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import signal
import sys
from collections.abc import Iterator
from pathlib import Path

from grader.engine.kernel import Timeouts
from grader.engine.sandbox import Limits, SandboxPolicy

log = logging.getLogger("grader.engine")


#: Libraries whose routine INFO lines (cluster start, worker plugins) would bury the progress.
QUIET_LOGGERS = ("distributed", "dask", "traitlets", "nbgrader")


def _logging() -> None:
    """The grader's own INFO lines; the libraries' warnings and errors only."""
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="[grader] %(levelname)s: %(message)s")
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


def run_autograde(args: argparse.Namespace) -> int:
    """``grader autograde``: grade a class, showing progress; a table at the end.

    Exit status: 0 when every submission was graded; 1 when any needs attention (not gradable,
    flagged, or its grading failed); 130 when interrupted (what finished is recorded; a rerun
    grades the rest). Errors that stop grading from starting (no gradebook, no sandbox, no
    cluster) reach the top-level handler of ``grader`` (one line, exit status 2).
    """
    from grader.course import load_course
    from grader.engine.autograde import autograde_all
    from grader.engine.outputs import OutputLimits
    from grader.engine.progress import Progress
    from grader.engine.schedule import ClusterOptions
    from grader.engine.task import GradingOptions

    _logging()
    course = load_course(Path(args.root))
    limits = Limits(memory_bytes=int(args.memory_mb) * 2**20 if args.memory_mb else None)
    cluster = None
    if not args.serial:
        cluster = ClusterOptions(workers=args.workers, scheduler=args.scheduler)
    options = GradingOptions(
        timeouts=Timeouts(cell=args.timeout_cell, notebook=args.timeout_notebook),
        policy=SandboxPolicy(
            exposed=tuple(args.expose or ()), limits=limits, enabled=not args.no_sandbox
        ),
        force=args.force,
        output_limits=OutputLimits(
            max_lines=args.max_output_lines, max_bytes=args.max_output_bytes
        ),
        threads_per_kernel=args.threads,
        warm=not args.cold,
    )
    several = len(args.assignments) > 1
    progress: dict[str, Progress] = {}

    def progress_for(assignment: str) -> Progress:
        if several:
            print(f"{assignment}:", file=sys.stderr)
        progress[assignment] = Progress(total=0)
        return progress[assignment]

    try:
        with stop_on_termination():
            autograde_all(course, args.assignments, options, args.student, cluster, progress_for)
    except KeyboardInterrupt:
        where = ", ".join(f"{a} {p.done}/{p.total}" for a, p in progress.items())
        for report in progress.values():
            report.close()
        print(
            f"grader autograde: interrupted after {where or 'no'} submissions; "
            "what finished is recorded, run the command again to grade the rest",
            file=sys.stderr,
        )
        return 130
    for assignment, report in progress.items():
        print(f"{assignment}:\n{report.summary()}" if several else report.summary())
    return 1 if any(report.needs_attention for report in progress.values()) else 0


@contextlib.contextmanager
def stop_on_termination() -> Iterator[None]:
    """Turn SIGTERM (and SIGHUP) into KeyboardInterrupt while grading, so that a terminated
    grader unwinds like Ctrl-C: kernels shut down, the cluster closes, nothing is left."""
    previous = {}

    def interrupt(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt(signal.Signals(signum).name)

    for signum in (signal.SIGTERM, signal.SIGHUP):
        previous[signum] = signal.signal(signum, interrupt)
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def run_feedback(args: argparse.Namespace) -> int:
    """``grader feedback``: HTML feedback per student from the autograded results."""
    from grader.course import load_course
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
    auto.add_argument(
        "assignments",
        nargs="+",
        metavar="ASSIGNMENT",
        help="one or more assignments, graded one after the other in one session (one "
        "zygote for the libraries of them all, one cluster)",
    )
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
        "--no-sandbox",
        action="store_true",
        help="grade without namespaces or user switch (limits stay); without it, grading "
        "refuses to start where the sandbox cannot be applied",
    )
    auto.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help="worker processes of the local Dask cluster (default: the number of cores)",
    )
    auto.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="grade on an existing Dask cluster (e.g. tcp://host:8786) instead of a local one",
    )
    auto.add_argument(
        "--serial", action="store_true", help="grade in this process, one submission at a time"
    )
    auto.add_argument(
        "--cold",
        action="store_true",
        help="start every kernel from scratch instead of forking it from a zygote that "
        "imported the assignment's libraries once",
    )
    auto.add_argument(
        "--threads",
        type=int,
        metavar="N",
        help="numeric-library threads per kernel (default: each machine's cores / its kernels "
        "at once)",
    )
    auto.add_argument(
        "--max-output-lines",
        type=int,
        default=1000,
        metavar="N",
        help="lines of output kept per cell (1000)",
    )
    auto.add_argument(
        "--max-output-bytes",
        type=int,
        default=1_000_000,
        metavar="B",
        help="bytes of output kept per cell (1000000)",
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
