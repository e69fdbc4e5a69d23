"""The ``grader`` command's top level: one readable line on failure, tracebacks on request."""

from __future__ import annotations

import argparse
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

from grader.cli import ROOMS, describe, main, rooms_for
from grader.engine.gradebook import GradebookError


def test_a_failing_command_says_why_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = main(["autograde", "lab", "--root", str(tmp_path)])
    err = capsys.readouterr().err
    assert status == 2
    assert err.startswith("grader autograde: no gradebook at ")
    assert "grader release lab" in err
    assert "Traceback" not in err


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    with pytest.raises(GradebookError):
        main(["--debug", "autograde", "lab", "--root", str(tmp_path)])


def test_unexpected_errors_are_named_and_reported() -> None:
    assert describe(FileNotFoundError(2, "No such file or directory", "x.ipynb")) == (
        "No such file or directory: x.ipynb"
    )
    line = describe(ZeroDivisionError("division by zero"))
    assert line.startswith("unexpected error: ZeroDivisionError: division by zero")
    assert "--debug" in line


@pytest.mark.parametrize("count", ["0", "-1", "two"])
def test_a_classroom_needs_at_least_one_grading_worker(
    count: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as refused:
        main(["hub", "--grading-workers", count])
    assert refused.value.code == 2
    assert f"expected a whole number of 1 or more, got {count!r}" in capsys.readouterr().err


def test_the_rooms_table_names_every_command_each_room_registers() -> None:
    """``ROOMS`` is what the rooms register: a command missing from it would be listed by
    ``--help`` yet refused when typed."""
    for module, names in ROOMS.items():
        commands = argparse.ArgumentParser().add_subparsers()
        importlib.import_module(module).register(commands)
        assert tuple(commands.choices) == names, module


def test_a_command_imports_its_own_room_only() -> None:
    """``grader autograde`` starts without the quiz's and the report's imports; ``--help`` and
    an unknown command still see every command."""
    probe = (
        "import sys; from grader.cli import build_parser; "
        "build_parser(sys.argv[1:]); print(sorted(m for m in sys.modules if m.endswith('cli')))"
    )

    def imported(*argv: str) -> str:
        done = subprocess.run(
            [sys.executable, "-c", probe, *argv], capture_output=True, text=True, check=True
        )
        return done.stdout

    autograde = imported("--debug", "autograde", "lab")
    assert "grader.engine.cli" in autograde
    assert "grader.quiz.cli" not in autograde
    assert "grader.report.cli" not in autograde
    for argv in (["--help"], ["bogus"]):
        every = imported(*argv)
        assert all(module in every for module in ROOMS), argv
    assert rooms_for(["--debug", "quiz", "check"]) == ["grader.quiz.cli"]
