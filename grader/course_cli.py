"""``grader release`` and ``grader demo``: the course-level commands.

They sit above the course model (:mod:`grader.course`), the translation build and the demo day,
which never import this module.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def _release_command(args: argparse.Namespace) -> int:
    from grader.course import release
    from grader.i18n import TranslationError

    try:
        done = release(Path(args.root).resolve(), args.assignments or None)
    except TranslationError as error:
        print(f"grader release: {error}", file=sys.stderr)
        return 1
    print(f"released: {', '.join(done)}")
    return 0


def _demo_command(args: argparse.Namespace) -> int:
    """``grader demo``: the instructor's whole day on a simulated class (grader.demo.day)."""
    from grader.demo.class_sim import SimulationError
    from grader.demo.day import DAY_ASSIGNMENTS, DAY_FOLDER, DayFailed, run_day

    root = Path(args.root).resolve()
    folder = Path(args.folder) if args.folder else root / DAY_FOLDER
    try:
        run_day(root, folder, args.assignments or DAY_ASSIGNMENTS, seed=args.seed)
    except (DayFailed, SimulationError) as error:
        print(f"grader demo: {error}", file=sys.stderr)
        return 1
    return 0


def register(commands: argparse._SubParsersAction) -> None:
    """Add ``release`` and ``demo`` to the top-level parser."""
    parser = commands.add_parser("release", help="regenerate release/ from source/")
    parser.add_argument("assignments", nargs="*", help="assignments (default: all)")
    parser.add_argument("--root", default=".", help="course directory (default: .)")
    parser.set_defaults(func=_release_command)

    parser = commands.add_parser(
        "demo",
        help="the instructor's day on a simulated class, through nbgrader's exchange, "
        "in a scratch copy of the course",
    )
    parser.add_argument("assignments", nargs="*", help="assignments (default: overfitting and lab)")
    parser.add_argument("--root", default=".", help="course directory (default: .)")
    parser.add_argument("--folder", help="where the day happens (default: ROOT/demo-day)")
    parser.add_argument("--seed", type=int, default=0, help="the simulated class's seed")
    parser.set_defaults(func=_demo_command)
