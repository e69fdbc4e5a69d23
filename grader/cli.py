"""The ``grader`` command: a thin front over the functions of each room.

Each room exposes ``register(subparsers)``, which adds its commands and sets ``func`` on them.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser, with every room's commands registered."""
    from grader import course_cli
    from grader.engine import cli as engine_cli
    from grader.hub import cli as hub_cli
    from grader.i18n import cli as i18n_cli
    from grader.quiz import cli as quiz_cli
    from grader.report import cli as report_cli

    parser = argparse.ArgumentParser(
        prog="grader",
        description='Release, grade and quiz the course "Neural network frameworks".',
    )
    parser.add_argument(
        "--debug", action="store_true", help="show the full traceback when a command fails"
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    course_cli.register(commands)
    engine_cli.register(commands)
    hub_cli.register(commands)
    i18n_cli.register(commands)
    quiz_cli.register(commands)
    report_cli.register(commands)
    return parser


def with_environment_on_path() -> None:
    """Put this interpreter's ``bin/`` first on ``PATH``, so that ``.venv/bin/grader`` works
    without activating the environment (nbgrader's gradebook runs ``alembic`` as a command)."""
    bindir = str(Path(sys.executable).parent)
    path = os.environ.get("PATH", "")
    if bindir not in path.split(os.pathsep):
        os.environ["PATH"] = os.pathsep.join([bindir, path]) if path else bindir


def describe(error: BaseException) -> str:
    """One readable line (or the project's own message) for an error that ends a command."""
    if type(error).__module__.split(".")[0] == "grader":
        return str(error)  # the project's errors say what, where and what to do
    if isinstance(error, OSError) and error.strerror:
        where = f": {error.filename}" if error.filename else ""
        return f"{error.strerror}{where}"
    return (
        f"unexpected error: {type(error).__name__}: {error} "
        "(run again with --debug for the traceback, and please report it)"
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run one ``grader`` command and return its exit status: the command's own, 2 when it
    failed (one line says why; ``--debug`` shows the traceback), 130 when interrupted."""
    with_environment_on_path()
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print(f"grader {args.command}: interrupted", file=sys.stderr)
        return 130
    except Exception as error:
        if args.debug:
            raise
        print(f"grader {args.command}: {describe(error)}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
