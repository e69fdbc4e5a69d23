"""The ``grader`` command: a thin front over the functions of each room.

Each room exposes ``register(subparsers)``, which adds its commands and sets ``func`` on them.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence
from pathlib import Path

#: Each room's command module and the commands it registers. A command imports its own room
#: only: the others' imports (the quiz's database layer, the report's tables) would add most of
#: a second to every start of ``grader autograde``, which services and scripts run often.
ROOMS: dict[str, tuple[str, ...]] = {
    "grader.course_cli": ("release", "demo"),
    "grader.engine.cli": ("autograde", "feedback"),
    "grader.hub.cli": ("hub", "hub-status"),
    "grader.i18n.cli": ("translate",),
    "grader.quiz.cli": ("quiz",),
    "grader.report.cli": ("report", "similarity", "export"),
}


def rooms_for(argv: Sequence[str]) -> list[str]:
    """The command modules to register for ``argv``: the room of the command it names, or every
    room when it names none the rooms know (``--help``, a typing mistake), so that argparse
    lists them all."""
    command = next((arg for arg in argv if not arg.startswith("-")), None)
    named = [module for module, commands in ROOMS.items() if command in commands]
    return named or list(ROOMS)


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The argument parser for ``argv`` (default: this process's arguments), with the commands
    of the rooms it needs (:func:`rooms_for`) registered."""
    parser = argparse.ArgumentParser(
        prog="grader",
        description='Release, grade and quiz the course "Neural network frameworks".',
    )
    parser.add_argument(
        "--debug", action="store_true", help="show the full traceback when a command fails"
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in rooms_for(sys.argv[1:] if argv is None else argv):
        importlib.import_module(module).register(commands)
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
    args = build_parser(argv).parse_args(argv)
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
