"""Time and memory of ``grader similarity`` on a simulated class of 200 ``frameworks``
submissions (three notebooks each).

The class is the simulated class (``grader/demo/class_sim.py``, copiers included) repeated
with fresh ids until it has ``--students`` students; each copy of a profile draws its own
mistakes. Run from the repository root::

    python bench/bench_similarity.py [--students 200]

Prints the seconds and the peak resident memory of the comparison (building the class is
not counted) and how many pairs and groups it reported.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from grader.course import load_course
from grader.demo.class_sim import COPIERS, ROSTER, simulate_class, write_submissions
from grader.report.similarity import find_similarity, settings_of

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    """Build the class in a temporary course folder, then time the comparison."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=200)
    args = parser.parse_args()
    base = ROSTER + COPIERS
    roster = [
        replace(base[i % len(base)], id=f"{base[i % len(base)].id}-{i // len(base):02d}")
        for i in range(args.students)
    ]
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder) / "course"
        for part in ("release", "source"):
            shutil.copytree(ROOT / part / "frameworks", root / part / "frameworks")
        submissions = simulate_class(
            ROOT,
            ROOT / "tests" / "mutants",
            ROOT / "tests" / "alternatives",
            assignments=("frameworks",),
            roster=roster,
        )
        write_submissions(submissions, root / "submitted")
        course = load_course(root)
        settings = settings_of(load_course(ROOT))
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        start = time.perf_counter()
        found = find_similarity(course, "frameworks", settings=settings)
        seconds = time.perf_counter() - start
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        f"{found.students} students, {found.cells} answer cells: {seconds:.1f} s, "
        f"peak RSS {peak / 1024:.0f} MB (before the comparison {before / 1024:.0f} MB); "
        f"{len(found.pairs)} pairs, {len(found.groups)} groups, {len(found.skipped)} left out"
    )


if __name__ == "__main__":
    main()
