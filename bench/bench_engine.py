"""Plain ``nbgrader autograde`` vs ``grader autograde`` on the same submissions, same run.

For each assignment (default: ``frameworks`` and ``lab``): a scratch copy of the course, the
released notebooks, the instructor's solution submitted as student ``reference``; then, on two
identical copies, the wall time of ``python -m nbgrader autograde A --force`` and of
``python -m grader.cli autograde A --force`` (the engine's reference run is cached beforehand
and timed on its own: it happens once per assignment version, not per submission).

    python bench/bench_engine.py [--assignments frameworks lab] [--repeat 1]

Prints a Markdown table (times in seconds, ratio engine / nbgrader) for docs/performance.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from grader import course as courses  # noqa: E402
from grader.engine.autograde import GradingOptions, load_course, prepare  # noqa: E402
from grader.engine.gradebook import recorded_scores  # noqa: E402
from grader.engine.kernel import Timeouts  # noqa: E402


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONPATH"] = f"{ROOT}{os.pathsep}{env.get('PYTHONPATH', '')}".rstrip(os.pathsep)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    return env


def _timed(command: list[str], cwd: Path) -> float:
    started = time.perf_counter()
    subprocess.run(command, cwd=cwd, env=_env(), check=True, capture_output=True)
    return time.perf_counter() - started


def _total(root: Path, assignment: str) -> float:
    scores = recorded_scores(load_course(root).db_url, assignment, courses.REFERENCE_STUDENT)
    return sum(s or 0.0 for notebook in scores.values() for s in notebook.values())


def bench(assignment: str, scratch: Path, repeat: int) -> dict[str, float]:
    """Time both graders on the reference submission of ``assignment``."""
    plain = courses.make_course_copy(ROOT, scratch / f"{assignment}-plain", [assignment])
    courses.release(plain, [assignment])
    notebooks = {p.stem: p for p in sorted((plain / "source" / assignment).glob("*.ipynb"))}
    courses.submit(plain, courses.REFERENCE_STUDENT, assignment, notebooks)
    ours = scratch / f"{assignment}-engine"
    shutil.copytree(plain, ours)

    started = time.perf_counter()
    options = GradingOptions(timeouts=Timeouts(cell=600, notebook=3600))
    prepare(load_course(ours), assignment, options)
    reference = time.perf_counter() - started

    nbgrader_cmd = [sys.executable, "-m", "nbgrader", "autograde", assignment, "--force"]
    engine_cmd = [
        sys.executable, "-m", "grader.cli", "autograde", assignment, "--root", str(ours),
        "--force", "--timeout-cell", "600", "--timeout-notebook", "3600",
    ]  # fmt: skip
    plain_times, engine_times = [], []
    for _ in range(repeat):  # alternate, so that machine load hits both alike
        plain_times.append(_timed(nbgrader_cmd, plain))
        engine_times.append(_timed(engine_cmd, ours))
    return {
        "nbgrader": statistics.median(plain_times),
        "engine": statistics.median(engine_times),
        "reference": reference,
        "nbgrader_score": _total(plain, assignment),
        "engine_score": _total(ours, assignment),
    }


def main() -> int:
    """Run the benchmark and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assignments", nargs="+", default=["frameworks", "lab"])
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    machine = f"{os.cpu_count()} cores, {platform.platform()}"
    print(f"machine: {machine}, Python {platform.python_version()}")
    print()
    print(
        "| assignment | nbgrader autograde (s) | grader autograde (s) | ratio | "
        "reference run, once (s) | scores (nbgrader / engine) |"
    )
    print("|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory(prefix="bench-engine-") as scratch:
        for assignment in args.assignments:
            r = bench(assignment, Path(scratch), args.repeat)
            print(
                f"| {assignment} | {r['nbgrader']:.1f} | {r['engine']:.1f} | "
                f"{r['engine'] / r['nbgrader']:.2f} | {r['reference']:.1f} | "
                f"{r['nbgrader_score']:g} / {r['engine_score']:g} |",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
