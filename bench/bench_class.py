"""A class graded two ways in one run: plain ``nbgrader autograde`` vs ``grader autograde``.

For each assignment (default ``lab`` and ``frameworks``): a scratch copy of the course with
``--students`` submissions (half the instructor's solution, half the untouched release), then,
on two identical copies,

- ``python -m nbgrader autograde A --force`` (one command, as an instructor runs it), and
- ``grader autograde A --force`` with its defaults (a local Dask cluster, one worker per core,
  kernels forked from a zygote that imported the assignment's libraries once), and the same
  with ``--cold`` (every kernel started from scratch), after the engine's reference run is
  cached (it runs once per assignment version).

Reports both wall times, the throughput ratio, whether the scores agree on honest work, and
where the engine's time goes: the notebooks' own execution time (summed from ``results.json``)
against the wall time, which gives the per-submission overhead beyond the notebooks' compute.
``--scheduler ADDRESS`` also grades a copy on an existing Dask cluster; ``--scaling`` starts
a Dask cluster the way an instructor does by hand (``dask scheduler``, then ``dask worker
--nworkers K``) with 1 and then 2 workers and grades a copy on each.

    python bench/bench_class.py [--assignments lab frameworks] [--students 8] [--scheduler A]
                                [--scaling]

``--students 8,32,128`` draws the class curve instead: ``grader autograde`` of the first
assignment at each size (and plain nbgrader at the sizes up to ``--nbgrader-up-to``, 32 by
default, for the ratio, in the same run), with the throughput (submissions per minute) and a
least-squares split of the wall time into a fixed cost per run and a cost per submission.

Prints a Markdown table for docs/performance.md.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from grader import course as courses  # noqa: E402
from grader.engine.autograde import GradingOptions, load_course, prepare  # noqa: E402
from grader.engine.gradebook import recorded_scores  # noqa: E402
from grader.engine.kernel import Timeouts  # noqa: E402
from tests.support.net import free_port  # noqa: E402


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    return env


def _timed(command: list[str], cwd: Path) -> float:
    started = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env=_env(), capture_output=True, text=True)
    if done.returncode not in (0, 1):  # 1: some submission needs attention (still graded)
        raise RuntimeError(f"{' '.join(command[:4])} failed:\n{done.stdout}\n{done.stderr}")
    return time.perf_counter() - started


def build_class(assignment: str, folder: Path, students: int) -> Path:
    """A scratch course with ``students`` submissions: solutions and untouched releases."""
    root = courses.make_course_copy(ROOT, folder, [assignment])
    courses.release(root, [assignment])
    for number in range(students):
        kind = "source" if number % 2 == 0 else "release"
        notebooks = {p.stem: p for p in sorted((root / kind / assignment).glob("*.ipynb"))}
        courses.submit(root, f"{kind}-{number:02d}", assignment, notebooks)
    return root


def scores(root: Path, assignment: str) -> dict[str, float]:
    """Each student's total autograded score, from the gradebook."""
    db_url = load_course(root).db_url
    return {
        student.name: sum(
            s or 0.0
            for notebook in recorded_scores(db_url, assignment, student.name).values()
            for s in notebook.values()
        )
        for student in sorted((root / "submitted").iterdir())
    }


def notebook_seconds(root: Path, assignment: str) -> float:
    """The notebooks' own execution time, summed over the class (from results.json)."""
    total = 0.0
    for path in (root / "autograded").glob(f"*/{assignment}/results.json"):
        total += json.loads(path.read_text())["execution_time"]
    return total


def bench(assignment: str, scratch: Path, students: int, scheduler: str | None) -> dict:
    """Grade one class both ways; times in seconds."""
    plain = build_class(assignment, scratch / f"{assignment}-plain", students)
    ours = scratch / f"{assignment}-engine"
    shutil.copytree(plain, ours)
    cold = scratch / f"{assignment}-cold"
    shutil.copytree(plain, cold)
    copies = [ours, cold]
    if scheduler:
        copies.append(scratch / f"{assignment}-cluster")
        shutil.copytree(plain, copies[-1])
    for copy in copies:  # the engine's reference run, once per assignment version
        started = time.perf_counter()
        prepare(load_course(copy), assignment, GradingOptions(timeouts=Timeouts()))
        reference = time.perf_counter() - started
    grader = [str(Path(sys.executable).parent / "grader"), "autograde", assignment, "--force"]
    nbgrader = [sys.executable, "-m", "nbgrader", "autograde", assignment, "--force"]
    result = {
        "assignment": assignment,
        "students": students,
        "reference_run": reference,
        "nbgrader": _timed(nbgrader, plain),
        "engine": _timed(grader, ours),
        "cold": _timed([*grader, "--cold"], cold),
    }
    result["notebooks"] = notebook_seconds(ours, assignment)
    result["same_scores"] = scores(plain, assignment) == scores(ours, assignment)
    if scheduler:
        result["cluster"] = _timed([*grader, "--scheduler", scheduler], copies[-1])
    return result


@contextlib.contextmanager
def hand_cluster(workers: int, scratch: Path) -> Iterator[str]:
    """``dask scheduler`` and ``dask worker --nworkers WORKERS``, as started by hand."""
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    dask = str(Path(sys.executable).parent / "dask")
    log = (scratch / f"cluster-{workers}.log").open("wb")
    scheduler = subprocess.Popen(
        [dask, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
        env=_env(),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    worker = subprocess.Popen(
        [dask, "worker", address, "--nworkers", str(workers), "--nthreads", "1"],
        env=_env(),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        from distributed import Client

        with Client(address, timeout=60) as client:
            client.wait_for_workers(workers, timeout=120)
        yield address
    finally:
        for process in (worker, scheduler):
            process.terminate()
            process.wait(timeout=60)
        log.close()


def scaling(assignment: str, scratch: Path, students: int) -> dict[int, tuple[float, float]]:
    """Wall time of ``grader autograde --scheduler`` on hand-started clusters of 1 and 2
    workers, and the notebooks' own compute time in each."""
    base = build_class(assignment, scratch / f"{assignment}-scaling", students)
    prepare(load_course(base), assignment, GradingOptions(timeouts=Timeouts()))
    times = {}
    for workers in (1, 2):
        copy = scratch / f"{assignment}-scaling-{workers}"
        shutil.copytree(base, copy)
        grader = [str(Path(sys.executable).parent / "grader"), "autograde", assignment]
        with hand_cluster(workers, scratch) as address:
            wall = _timed([*grader, "--force", "--scheduler", address], copy)
        times[workers] = (wall, notebook_seconds(copy, assignment))
    return times


def curve(assignment: str, scratch: Path, sizes: list[int], nbgrader_up_to: int) -> list[dict]:
    """``grader autograde`` of a class of each size (plain nbgrader too, up to a size)."""
    rows = []
    for students in sizes:
        base = build_class(assignment, scratch / f"{assignment}-{students}", students)
        prepare(load_course(base), assignment, GradingOptions(timeouts=Timeouts()))
        grader = [str(Path(sys.executable).parent / "grader"), "autograde", assignment, "--force"]
        row: dict = {"students": students, "engine": _timed(grader, base)}
        row["notebooks"] = notebook_seconds(base, assignment)
        if students <= nbgrader_up_to:
            plain = scratch / f"{assignment}-{students}-plain"
            shutil.copytree(base, plain)
            shutil.rmtree(plain / "autograded", ignore_errors=True)
            nbgrader = [sys.executable, "-m", "nbgrader", "autograde", assignment, "--force"]
            row["nbgrader"] = _timed(nbgrader, plain)
        shutil.rmtree(base.parent, ignore_errors=True)
        rows.append(row)
        print(json.dumps(row), file=sys.stderr)
    return rows


def fit_costs(rows: list[dict], key: str = "engine") -> tuple[float, float]:
    """(fixed seconds per run, seconds per submission): least squares over the sizes."""
    points = [(r["students"], r[key]) for r in rows if key in r]
    count = len(points)
    mean_n = sum(n for n, _ in points) / count
    mean_t = sum(t for _, t in points) / count
    spread = sum((n - mean_n) ** 2 for n, _ in points)
    per = sum((n - mean_n) * (t - mean_t) for n, t in points) / spread if spread else 0.0
    return mean_t - per * mean_n, per


def print_curve(assignment: str, rows: list[dict]) -> None:
    """The class curve as a Markdown table, then the fitted costs."""
    print(f"\n{assignment}: {platform.machine()}, {os.cpu_count()} cores\n")
    print("| students | engine s | submissions / min | nbgrader s | nbgrader / min | ratio |")
    print("|---|---|---|---|---|---|")
    for row in rows:
        plain = row.get("nbgrader")
        rate = 60 * row["students"] / row["engine"]
        line = f"| {row['students']} | {row['engine']:.1f} | {rate:.1f} |"
        if plain:
            line += (
                f" {plain:.1f} | {60 * row['students'] / plain:.1f} | {plain / row['engine']:.2f} |"
            )
        else:
            line += " - | - | - |"
        print(line)
    fixed, per = fit_costs(rows)
    print(f"\nengine: fixed {fixed:.1f} s a run, {per:.2f} s a submission (least squares)")
    if sum("nbgrader" in r for r in rows) >= 2:
        fixed, per = fit_costs(rows, "nbgrader")
        print(f"nbgrader: fixed {fixed:.1f} s a run, {per:.2f} s a submission")


def main() -> int:
    """Run the benchmark and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assignments", nargs="+", default=["lab", "frameworks"])
    parser.add_argument(
        "--students", default="8", help="a class size, or sizes such as 8,32,128 for the curve"
    )
    parser.add_argument("--nbgrader-up-to", type=int, default=32)
    parser.add_argument("--scheduler", help="also grade on this Dask cluster")
    parser.add_argument("--scaling", action="store_true", help="hand-started clusters of 1, 2")
    args = parser.parse_args()
    sizes = [int(size) for size in str(args.students).split(",")]
    if len(sizes) > 1:
        with tempfile.TemporaryDirectory(prefix="bench-curve-") as scratch:
            assignment = args.assignments[0]
            print_curve(assignment, curve(assignment, Path(scratch), sizes, args.nbgrader_up_to))
        return 0
    args.students = sizes[0]
    rows = []
    scaled: dict[str, dict[int, tuple[float, float]]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-class-") as scratch:
        for assignment in args.assignments:
            rows.append(bench(assignment, Path(scratch), args.students, args.scheduler))
            print(json.dumps(rows[-1]), file=sys.stderr)
            if args.scaling:
                scaled[assignment] = scaling(assignment, Path(scratch), args.students)
                print(json.dumps(scaled[assignment]), file=sys.stderr)
    cores = os.cpu_count()
    print(f"\n{platform.machine()}, {cores} cores, Python {platform.python_version()}\n")
    header = "| assignment | students | nbgrader s | engine s | throughput x | cold kernels s "
    header += "| notebooks' compute s | overhead s / submission | same scores |"
    if args.scheduler:
        header += " cluster s |"
    print(header)
    print("|" + "---|" * (header.count("|") - 1))
    for row in rows:
        workers = cores or 1
        overhead = (row["engine"] - row["notebooks"] / workers) / row["students"]
        line = (
            f"| {row['assignment']} | {row['students']} | {row['nbgrader']:.1f} | "
            f"{row['engine']:.1f} | {row['nbgrader'] / row['engine']:.2f} | {row['cold']:.1f} | "
            f"{row['notebooks']:.1f} | {overhead:.2f} | {row['same_scores']} |"
        )
        if args.scheduler:
            line += f" {row['cluster']:.1f} |"
        print(line)
    if scaled:
        print(
            "\n| assignment | 1 hand-started worker s | 2 workers s | speed-up "
            "| notebooks' compute s (1 / 2) |"
        )
        print("|---|---|---|---|---|")
        for assignment, times in scaled.items():
            (one, compute1), (two, compute2) = times[1], times[2]
            print(
                f"| {assignment} | {one:.1f} | {two:.1f} | {one / two:.2f} "
                f"| {compute1:.1f} / {compute2:.1f} |"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
