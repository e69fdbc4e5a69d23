"""Feedback on submit, measured: from a student's ``nbgrader submit`` to the feedback being
fetchable, on a real ``grader hub`` (accounts, exchange, grading service) on this machine.

1. **One submission**: a student submits the lab (the reference's answers); the latency is the
   time from the end of ``nbgrader submit`` to the service recording the feedback as released,
   against the notebook's own compute time (``execution_time`` of its ``results.json``).
   Goal: compute time + 10 s at most.
2. **A deadline burst**: ``--burst`` students (60) submit the lab within ``--within`` seconds
   (60), evenly spread, each as their own Unix user. Reported: the last feedback's delay after
   the last submission, against the class's total compute divided by the cores, plus 30 s
   (the goal); submissions lost (not released) and graded more than once (from the service's
   log).

The service is warm before either (it prepares released assignments when it starts).
Root only (it makes Unix accounts). Prints a Markdown table for docs/performance.md.

    python bench/bench_submit.py [--burst 60] [--within 60] [--json results.json]
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import platform
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.hub import (
    ASSIGNMENT,
    Classroom,
    classroom,
    fetch,
    submit,
)

POLICY = "c.FeedbackPolicy.poll_seconds = 0.5"


def execution_time(hub: Classroom, student: str) -> float:
    """The notebook's own compute time in the student's graded submission."""
    path = hub.course / "autograded" / student / ASSIGNMENT / "results.json"
    return float(json.loads(path.read_text())["execution_time"])


def wait_warm(hub: Classroom, timeout: float = 300) -> None:
    """Until the service has prepared the lab (its zygote is up)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if (
            hub.settings.service_log.exists()
            and "zygote ready" in hub.settings.service_log.read_text()
        ):
            return
        time.sleep(0.5)
    raise SystemExit("the grading service did not warm up")


def released_at(hub: Classroom) -> dict[str, float]:
    """Submission name -> when its feedback was released (the ledger's clock)."""
    return {e.name: e.released_at for e in hub.ledger() if e.released_at}


def one_submission(hub: Classroom, student: str) -> dict[str, float]:
    fetch(hub, student)
    submit(hub, student)
    submitted = time.time()
    (entry,) = hub.wait_for(student, {"released", "released_public"})
    assert entry.released_at is not None
    latency = entry.released_at - submitted
    compute = execution_time(hub, student)
    return {"latency_s": latency, "compute_s": compute, "goal_s": compute + 10}


def burst(hub: Classroom, students: list[str], within: float) -> dict[str, float]:
    with concurrent.futures.ThreadPoolExecutor(4) as pool:  # fetched before the clock starts
        list(pool.map(lambda s: fetch(hub, s), students))
    start = time.time()
    done: dict[str, float] = {}

    def submit_at(index: int, student: str) -> None:
        delay = start + index * within / len(students) - time.time()
        if delay > 0:
            time.sleep(delay)
        submit(hub, student)
        done[student] = time.time()

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda pair: submit_at(*pair), enumerate(students)))
    last_submit = max(done.values())
    deadline = time.monotonic() + 1800
    while time.monotonic() < deadline:
        entries = [e for e in hub.ledger() if e.student in done]
        finished = [e for e in entries if e.released_at or e.state == "failed"]
        if len(finished) == len(students):
            break
        time.sleep(1)
    entries = [e for e in hub.ledger() if e.student in done]
    released = [e for e in entries if e.released_at]
    log = hub.settings.service_log.read_text()
    times_graded = {
        e.name: len(re.findall(re.escape(e.name) + r": [0-9.None]+/", log)) for e in entries
    }
    compute = sum(execution_time(hub, s) for s in done)
    cores = os.cpu_count() or 1
    return {
        "submissions": len(students),
        "submitted_within_s": last_submit - start,
        "last_feedback_after_last_submit_s": max(e.released_at or 0 for e in released)
        - last_submit,
        "total_compute_s": compute,
        "cores": cores,
        "goal_s": compute / cores + 30,
        "lost": len(students) - len(released),
        "graded_twice": sum(1 for n in times_graded.values() if n > 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--burst", type=int, default=60)
    parser.add_argument("--within", type=float, default=60.0)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("bench_submit makes Unix accounts: run it as root")
    students = [f"bench-{i:03d}" for i in range(args.burst)]
    folder = Path(tempfile.mkdtemp(prefix="grader-bench-submit-"))
    folder.chmod(0o755)
    try:
        with classroom(folder, "bench-teacher", ["bench-one", *students], POLICY) as hub:
            wait_warm(hub)
            single = one_submission(hub, "bench-one")
            many = burst(hub, students, args.within)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    print(f"machine: {machine}")
    print("| measure | seconds | goal |")
    print("|---|---|---|")
    print(
        f"| one submission: submit -> feedback released | {single['latency_s']:.1f} | "
        f"<= {single['goal_s']:.1f} (compute {single['compute_s']:.1f} + 10) |"
    )
    print(
        f"| burst of {many['submissions']} in {many['submitted_within_s']:.0f} s: last feedback "
        f"after the last submission | {many['last_feedback_after_last_submit_s']:.1f} | "
        f"<= {many['goal_s']:.1f} (compute {many['total_compute_s']:.0f} / {many['cores']} "
        "cores + 30) |"
    )
    print(f"not released: {many['lost']}, graded more than once: {many['graded_twice']}")
    if args.json:
        args.json.write_text(
            json.dumps({"machine": machine, "single": single, "burst": many}, indent=2) + "\n"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
