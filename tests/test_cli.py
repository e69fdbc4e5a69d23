"""The ``grader`` command's top level: one readable line on failure, tracebacks on request."""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.cli import describe, main
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
