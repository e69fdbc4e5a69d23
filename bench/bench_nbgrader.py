"""Time plain `nbgrader autograde` of each notebook's reference solution.

Each notebook is graded on its own, in a scratch course, as a single submission, so the time
is what one student's notebook costs: kernel start, imports, every cell, nbgrader's own work.
A kernel start with nothing in it is timed in the same run as the baseline.

    python bench/bench_nbgrader.py [--repeat 2] [NOTEBOOK ...]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

import nbformat

from grader import course

ROOT = Path(__file__).resolve().parents[1]


def time_notebook(assignment: str, name: str, source: Path, repeat: int) -> list[float]:
    """Seconds for `nbgrader autograde` of one reference notebook, `repeat` times."""
    with tempfile.TemporaryDirectory(prefix="bench-") as scratch:
        root = Path(scratch)
        (root / "source" / assignment).mkdir(parents=True)
        (root / "nbgrader_config.py").write_bytes((ROOT / "nbgrader_config.py").read_bytes())
        (root / "source" / assignment / f"{name}.ipynb").write_bytes(source.read_bytes())
        course.release(root, [assignment])
        course.submit(root, course.REFERENCE_STUDENT, assignment, {name: source})
        times = []
        for _ in range(repeat):
            start = time.perf_counter()
            course.autograde(root, assignment)
            times.append(time.perf_counter() - start)
        return times


def empty_notebook(folder: Path) -> Path:
    notebook = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("x = 1")
    cell.metadata["nbgrader"] = {
        "grade": True, "grade_id": "t", "locked": True, "points": 1, "schema_version": 3,
        "solution": False, "task": False,
    }  # fmt: skip
    notebook.cells = [cell]
    path = folder / "Empty.ipynb"
    nbformat.write(notebook, path)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*")
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    print(f"{'notebook':<16} {'median s':>9} {'runs':>20}")
    with tempfile.TemporaryDirectory() as folder:
        baseline = time_notebook("empty", "Empty", empty_notebook(Path(folder)), args.repeat)
    runs_text = str([round(r, 1) for r in baseline])
    print(f"{'(empty kernel)':<16} {statistics.median(baseline):>9.1f} {runs_text:>20}")
    for assignment, names in course.COURSE.items():
        for name in names:
            if args.notebooks and name not in args.notebooks:
                continue
            source = ROOT / "source" / assignment / f"{name}.ipynb"
            runs = time_notebook(assignment, name, source, args.repeat)
            ratio = statistics.median(runs) / statistics.median(baseline)
            print(
                f"{name:<16} {statistics.median(runs):>9.1f} {[round(r, 1) for r in runs]!s:>20}"
                f"  ({ratio:.1f}x the empty notebook)"
            )


if __name__ == "__main__":
    main()
