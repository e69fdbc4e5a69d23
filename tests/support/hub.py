"""One classroom for the hub's tests: ``grader hub`` started as a command, its accounts, and
what a student does in a terminal of their own server (as their Unix user)."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from grader.course import make_course_copy
from grader.hub.ledger import Entry, read_ledger
from grader.hub.settings import HubSettings, read_settings
from tests.support import cores_per_worker
from tests.support.engine import solved
from tests.support.net import free_port

PROJECT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
ASSIGNMENT = "lab"
NOTEBOOK = "LabFrameworks"


@dataclass
class Classroom:
    """A running ``grader hub``: its settings, the accounts' passwords, the command."""

    process: subprocess.Popen
    settings: HubSettings
    passwords: dict[str, str]
    output: Path
    submissions: dict[str, list[str]] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://{self.settings.ip}:{self.settings.port}"

    @property
    def state(self) -> Path:
        return Path(self.settings.state)

    @property
    def inbound(self) -> Path:
        return Path(self.settings.exchange) / self.settings.course_id / "inbound"

    @property
    def feedback(self) -> Path:
        return Path(self.settings.exchange) / self.settings.course_id / "feedback"

    @property
    def course(self) -> Path:
        return Path(self.settings.course_root)

    def ledger(self) -> list[Entry]:
        path = self.settings.ledger
        return read_ledger(path) if path.exists() else []

    def entries_of(self, student: str) -> list[Entry]:
        return [e for e in self.ledger() if e.student == student]

    def wait_for(self, student: str, states: set[str], count: int = 1, timeout: float = 240):
        """The student's ledger entries once ``count`` of them are in ``states``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            entries = self.entries_of(student)
            if sum(e.state in states for e in entries) >= count:
                return entries
            if self.process.poll() is not None:
                raise AssertionError(f"grader hub exited: {self.output.read_text()[-3000:]}")
            time.sleep(0.5)
        log = self.settings.service_log.read_text(errors="replace")[-4000:]
        raise AssertionError(f"{student}: {self.entries_of(student)} not {states}\n{log}")


def course_source(folder: Path, policy: str) -> Path:
    """A copy of the course with only the lab, its released version and ``policy`` appended to
    its ``nbgrader_config.py``."""
    make_course_copy(PROJECT, folder, [ASSIGNMENT])
    shutil.copytree(PROJECT / "release" / ASSIGNMENT, folder / "release" / ASSIGNMENT)
    with (folder / "nbgrader_config.py").open("a", encoding="utf-8") as config:
        config.write("\n" + policy + "\n")
    return folder


@contextmanager
def classroom(
    folder: Path, instructor: str, students: list[str], policy: str
) -> Iterator[Classroom]:
    """``grader hub --demo`` on a fresh copy of the course; SIGTERM and a check that it
    stopped on exit."""
    source = course_source(folder / "source-course", policy)
    state = folder / "state"
    remove_accounts([instructor, *students])  # and what an earlier run left in their homes
    port = free_port()
    output = folder / "hub-output.log"
    command = [
        str(VENV_BIN / "grader"), "hub", "--demo", "--root", str(source), "--state", str(state),
        "--instructor", instructor, "--students", ",".join(students),
        "--assignment", ASSIGNMENT, "--port", str(port),
        "--hub-port", str(free_port()), "--proxy-api-port", str(free_port()),
        "--grading-workers", str(cores_per_worker()),  # this test's share of the cores
    ]  # fmt: skip
    with output.open("wb") as sink:
        process = subprocess.Popen(
            command, stdout=sink, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
    try:
        deadline = time.monotonic() + 240
        while "Ctrl-C stops" not in output.read_text(errors="replace"):
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"grader hub did not start:\n{output.read_text()[-4000:]}")
            time.sleep(0.5)
        text = output.read_text()
        passwords = dict(re.findall(r"^  ([a-z][a-z0-9_-]*): (\S+)$", text, re.M))
        settings = read_settings(state / "settings.json")
        yield Classroom(process, settings, passwords, output)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(90)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        remove_accounts([instructor, *students])


def remove_accounts(names: list[str]) -> None:
    """Delete the test's Unix accounts with their homes (those that exist)."""
    for name in names:
        subprocess.run(
            ["userdel", "--remove", name], capture_output=True, check=False,
            stdin=subprocess.DEVNULL,
        )  # fmt: skip


def run_as(
    classroom: Classroom, user: str, script: str, check: bool = True
) -> subprocess.CompletedProcess[str]:
    """``script`` (bash) run in the user's home as that Unix user, with their server's
    environment (the student's Jupyter config, the course's programs on PATH)."""
    role = "instructor" if user == classroom.settings.instructor else "student"
    env = [
        f"HOME=/home/{user}",
        f"USER={user}",
        f"PATH={VENV_BIN}:/usr/bin:/bin",
        f"JUPYTER_CONFIG_PATH={classroom.settings.user_config(role)}",
        "TF_CPP_MIN_LOG_LEVEL=3",
    ]
    done = subprocess.run(
        ["runuser", "-u", user, "--", "env", "-i", *env, "bash", "-c", f"cd ~ && {script}"],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        check=False,
        timeout=300,
    )
    if check and done.returncode != 0:
        raise AssertionError(f"as {user}: {script}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return done


def python_as(classroom: Classroom, user: str, code: str) -> object:
    """Run Python ``code`` as ``user``; it must print one JSON value, returned."""
    done = run_as(classroom, user, f"python -c {shlex.quote(code)}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def solved_lab(leave_out: str | None = None) -> nbformat.NotebookNode:
    """The released lab with the reference's answers in every solution cell (the written
    answer too) but ``leave_out`` (a grade id), which keeps its starter code."""
    source = nbformat.read(PROJECT / "source" / ASSIGNMENT / f"{NOTEBOOK}.ipynb", 4)
    released = nbformat.read(PROJECT / "release" / ASSIGNMENT / f"{NOTEBOOK}.ipynb", 4)
    answers = {  # code answers without nbgrader's markers; the written answer as it is
        c.metadata["nbgrader"]["grade_id"]: solved(c.source)
        for c in source.cells
        if c.metadata.get("nbgrader", {}).get("solution")
    }
    for cell in released.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in answers and grade_id != leave_out:
            cell.source = answers[grade_id]
    return released


def answer_of(grade_id: str) -> str:
    """The reference's answer to one solution cell of the lab."""
    source = nbformat.read(PROJECT / "source" / ASSIGNMENT / f"{NOTEBOOK}.ipynb", 4)
    for cell in source.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == grade_id:
            return solved(cell.source)
    raise KeyError(grade_id)


def fetch(classroom: Classroom, student: str) -> None:
    """As ``student``: fetch the lab with nbgrader (once)."""
    run_as(classroom, student, f"test -d {ASSIGNMENT} || nbgrader fetch_assignment {ASSIGNMENT}")


def submit(
    classroom: Classroom, student: str, notebook: bytes | None = None, name: str = NOTEBOOK
) -> None:
    """As ``student``: put ``notebook`` (default: solved) in place of the fetched one, under
    ``name``, and submit with nbgrader."""
    staging = Path(f"/home/{student}/.staged.ipynb")
    if notebook is None:
        notebook = nbformat.writes(solved_lab()).encode()
    staging.write_bytes(notebook)
    os.chown(staging, *_ids(student))
    script = f"mv .staged.ipynb {ASSIGNMENT}/{name}.ipynb"
    if name != NOTEBOOK:
        script += f" && rm -f {ASSIGNMENT}/{NOTEBOOK}.ipynb"
    run_as(classroom, student, f"{script} && nbgrader submit {ASSIGNMENT}")


def fetch_and_submit(
    classroom: Classroom, student: str, notebook: bytes | None = None, name: str = NOTEBOOK
) -> None:
    """:func:`fetch`, then :func:`submit`."""
    fetch(classroom, student)
    submit(classroom, student, notebook, name)


def _ids(user: str) -> tuple[int, int]:
    import pwd

    entry = pwd.getpwnam(user)
    return entry.pw_uid, entry.pw_gid


def fetched_feedback(classroom: Classroom, student: str) -> list[str]:
    """As ``student``: fetch the lab's feedback; the pages, newest submission last."""
    run_as(classroom, student, f"nbgrader fetch_feedback {ASSIGNMENT}")
    pages = sorted(Path(f"/home/{student}/{ASSIGNMENT}/feedback").glob("*/*.html"))
    return [p.read_text(encoding="utf-8") for p in pages]
