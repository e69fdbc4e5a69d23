"""The instructor's day, run for real on one machine, in a scratch course folder.

A copy of the course (``make_course_copy``) gets an nbgrader exchange folder of its own; the
instructor generates and releases the assignments through nbgrader's exchange; each simulated
student (:mod:`grader.demo.class_sim`) fetches them into a home folder of its own, hands in its
files and submits as its own nbgrader user (``--student``, with its own submission cache); the
deadline passes and the late students submit; the instructor collects, grades with
``grader autograde``, writes feedback with ``grader feedback`` and releases it with nbgrader;
each student fetches its feedback. Then the quizzes (through the quiz service), the class
report and the exports. Every nbgrader call goes through :func:`grader.course.run_nbgrader`
and every ``grader`` step runs as the command an instructor types, so what the day shows is
what the commands do.

Each step is one function; :func:`run_day` runs them in order with one progress line a step.
"""

from __future__ import annotations

import csv
import os
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TextIO

from grader.course import (
    NbgraderFailed,
    assignments_in,
    load_course,
    make_course_copy,
    release,
    run_nbgrader,
)
from grader.demo.class_sim import ROSTER, SimStudent, Submission, simulate_class

#: Assignments the day runs by default: one notebook each, so the whole day stays short.
DAY_ASSIGNMENTS = ("overfitting", "lab")
#: The folder (under the repository) that holds the day's course; git ignores it.
DAY_FOLDER = "demo-day"
#: A file that marks a folder as the day's, so that a rerun may empty it and nothing else.
MARKER = ".grader-demo-day"
#: Files that stay with the instructor and must never reach a student.
INSTRUCTOR_ONLY = ("results.json",)


class DayFailed(RuntimeError):
    """A step of the day could not be done; the message says which and why."""


@dataclass(frozen=True)
class Day:
    """Where the day happens: the scratch course, the students' homes, the quiz database."""

    folder: Path
    repo: Path
    assignments: tuple[str, ...]
    roster: tuple[SimStudent, ...]
    seed: int = 0
    grade_options: tuple[str, ...] = ()  # more options for `grader autograde`

    @property
    def course(self) -> Path:
        """The scratch course directory (nbgrader's root)."""
        return self.folder / "course"

    @property
    def exchange(self) -> Path:
        """The nbgrader exchange shared by the instructor and the students."""
        return self.folder / "exchange"

    def home(self, student: str) -> Path:
        """A student's own folder: what it fetches lands here."""
        return self.folder / "students" / student

    @property
    def quiz_db(self) -> str:
        """The SQLAlchemy URL of the day's quiz database."""
        return f"sqlite:///{self.folder / 'quiz.db'}"

    @property
    def report(self) -> Path:
        """The class report of the whole course."""
        return self.course / "reports" / "course.html"

    @property
    def exports(self) -> Path:
        """The folder of the LMS exports."""
        return self.course / "exports"


@dataclass
class FeedbackCheck:
    """What the students found after ``fetch_feedback``."""

    received: dict[str, list[Path]] = field(default_factory=dict)  # student -> HTML pages
    missing: list[str] = field(default_factory=list)  # "student/assignment/Notebook.html"
    leaked: list[Path] = field(default_factory=list)  # instructor-only files a student got


class Steps:
    """Prints one numbered line per step, and the step's time when it ends."""

    def __init__(self, total: int, out: TextIO) -> None:
        self.total = total
        self.number = 0
        self.title = ""
        self.out = out

    def say(self, text: str) -> None:
        """One line of detail under the current step."""
        print(f"      {text}", file=self.out, flush=True)

    @contextmanager
    def step(self, title: str) -> Iterator[None]:
        """Announce a step, run it, and print how long it took."""
        self.number += 1
        self.title = title
        print(f"[{self.number}/{self.total}] {title}", file=self.out, flush=True)
        started = time.monotonic()
        yield
        self.say(f"done in {time.monotonic() - started:.0f} s")


def prepare_folder(folder: Path) -> None:
    """Empty ``folder`` for a new day; refuse a folder the day did not make (loses nothing)."""
    if folder.exists() and any(folder.iterdir()):
        if not (folder / MARKER).is_file():
            raise DayFailed(
                f"{folder} exists and is not a folder made by `grader demo`; "
                "choose another --folder or remove it yourself"
            )
        shutil.rmtree(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / MARKER).write_text("made by `grader demo`; emptied when the demo runs again\n")


def configure_exchange(day: Day) -> None:
    """Point the scratch course's nbgrader config at the day's own exchange folder."""
    day.exchange.mkdir(parents=True, exist_ok=True)
    config = day.course / "nbgrader_config.py"
    with config.open("a", encoding="utf-8") as handle:
        handle.write(
            "\n# The demo day's exchange, shared by the instructor and the simulated students.\n"
            f"c.Exchange.root = {str(day.exchange)!r}\n"
        )


def add_students(day: Day) -> None:
    """Put the roster into the gradebook: names and e-mails for the report, and an LMS id
    (made up, like the class) so that the Canvas export can match every row to a student."""
    roster = day.folder / "roster.csv"
    with roster.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "first_name", "last_name", "email", "lms_user_id"])
        for number, student in enumerate(day.roster, start=1):
            row = [student.id, student.first_name, student.last_name, student.email]
            writer.writerow([*row, str(20260000 + number)])
    run_nbgrader(day.course, "db", "student", "import", str(roster))


def set_up_course(day: Day) -> list[str]:
    """Copy the course, give it an exchange, generate the student versions, add the roster."""
    make_course_copy(day.repo, day.course, list(day.assignments))
    configure_exchange(day)
    done = release(day.course, list(day.assignments))
    add_students(day)
    return done


def release_assignments(day: Day) -> None:
    """``nbgrader release_assignment``: put the student versions into the exchange."""
    for assignment in day.assignments:
        run_nbgrader(day.course, "release_assignment", assignment, "--force")


def student_options(day: Day, student: str) -> list[str]:
    """nbgrader options that make a command run as ``student``: its id, its own folder and its
    own submission cache (where ``fetch_feedback`` later finds what it submitted)."""
    home = day.home(student)
    return [
        f"--student={student}",
        f"--Exchange.assignment_dir={home}",
        f"--Exchange.cache={home / '.nbgrader_cache'}",
    ]


def hand_in(folder: Path, files: dict[str, bytes]) -> None:
    """Replace the notebooks of a fetched assignment with what the student hands in."""
    for old in folder.glob("*.ipynb"):
        old.unlink()
    for name, content in files.items():
        (folder / name).write_bytes(content)


def student_works(day: Day, student: str, submissions: Sequence[Submission]) -> str:
    """One student's part: fetch each assignment it hands in, replace the notebooks with its
    own files, ``nbgrader submit`` (each submission in order). Returns a line for the log."""
    home = day.home(student)
    home.mkdir(parents=True, exist_ok=True)
    options = student_options(day, student)
    fetched: set[str] = set()
    for submission in submissions:
        if submission.assignment not in fetched:
            run_nbgrader(day.course, "fetch_assignment", submission.assignment, *options)
            fetched.add(submission.assignment)
        hand_in(home / submission.assignment, dict(submission.files))
        run_nbgrader(day.course, "submit", submission.assignment, *options)
    handed = "; ".join(f"{s.assignment}: {describe(s)}" for s in submissions)
    return f"{student}: {handed or 'nothing submitted'}"


def describe(submission: Submission, width: int = 60) -> str:
    """What a submission holds, in a few words: the simulation's notes, the file-level mishaps
    first, cut to ``width``."""
    text = ", ".join(reversed(submission.notes)) or "as released"  # mishaps come last
    return text if len(text) <= width else text[: width - 3] + "..."


def in_parallel(jobs: Sequence[Callable[[], str]], steps: Steps) -> None:
    """Run independent jobs (one student each) a few at a time, one line as each ends."""
    workers = max(1, min(len(jobs), os.cpu_count() or 1))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for line in pool.map(lambda job: job(), jobs):
            steps.say(line)


def by_student(submissions: Sequence[Submission]) -> dict[str, list[Submission]]:
    """Submissions grouped by student, in the order they are handed in."""
    grouped: dict[str, list[Submission]] = {}
    for submission in submissions:
        grouped.setdefault(submission.student, []).append(submission)
    return grouped


def students_submit(
    day: Day, submissions: Sequence[Submission], students: Sequence[str], steps: Steps
) -> None:
    """The given students fetch and submit, each as itself, several at once."""
    grouped = by_student(submissions)
    jobs = [(lambda s=student: student_works(day, s, grouped.get(s, []))) for student in students]
    in_parallel(jobs, steps)


def deadline_passes(day: Day) -> datetime:
    """Set every assignment's due date to the next whole second and wait until it has passed:
    everything submitted before is on time, everything submitted after is late.

    The due date is given to nbgrader in whole seconds while submissions are stamped to the
    microsecond, so the deadline is rounded up, never down: rounded down, a submission made
    earlier in the same second would count as a fraction of a second late.
    """
    due = (datetime.now(UTC) + timedelta(seconds=1)).replace(microsecond=0)
    stamp = due.strftime("%Y-%m-%d %H:%M:%S UTC")
    for assignment in day.assignments:
        run_nbgrader(day.course, "db", "assignment", "add", assignment, f"--duedate={stamp}")
    while (left := (due - datetime.now(UTC)).total_seconds()) >= 0:
        time.sleep(left + 0.01)
    return due


def collect(day: Day) -> None:
    """``nbgrader collect``: the latest submission of each student into ``submitted/``."""
    for assignment in day.assignments:
        run_nbgrader(day.course, "collect", assignment)


def run_grader(day: Day, *args: str, accept: Sequence[int] = (0,)) -> int:
    """Run a ``grader`` command on the scratch course as an instructor would, its output shown
    as it comes; raise :class:`DayFailed` on an exit status not in ``accept``."""
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    command = [sys.executable, "-m", "grader.cli", *args]
    done = subprocess.run(command, cwd=day.course, env=env, stdin=subprocess.DEVNULL, check=False)
    if done.returncode not in accept:
        raise DayFailed(f"`grader {' '.join(args)}` stopped with exit status {done.returncode}")
    return done.returncode


def grade(day: Day) -> None:
    """``grader autograde`` of every assignment in one run, one session (1 is expected: some
    submissions need a person)."""
    run_grader(
        day,
        "autograde",
        *day.assignments,
        "--root",
        str(day.course),
        *day.grade_options,
        accept=(0, 1),
    )


def give_feedback(day: Day) -> None:
    """``grader feedback`` writes the pages, ``nbgrader release_feedback`` puts them in the
    exchange."""
    for assignment in day.assignments:
        run_grader(day, "feedback", assignment, "--root", str(day.course))
        run_nbgrader(day.course, "release_feedback", assignment)


def fetch_feedback(day: Day, student: str) -> str:
    """One student's ``nbgrader fetch_feedback`` of every assignment it submitted."""
    options = student_options(day, student)
    for assignment in day.assignments:
        if (day.home(student) / assignment).is_dir():
            run_nbgrader(day.course, "fetch_feedback", assignment, *options)
    pages = sorted(day.home(student).glob("*/feedback/*/*.html"))
    return f"{student}: {len(pages)} feedback page(s)"


def students_fetch_feedback(day: Day, steps: Steps) -> None:
    """Every student fetches its feedback, several at once."""
    jobs = [(lambda s=student.id: fetch_feedback(day, s)) for student in day.roster]
    in_parallel(jobs, steps)


def check_feedback(day: Day) -> FeedbackCheck:
    """Compare what the instructor released with what the students fetched: every page of
    ``feedback/<student>/<assignment>/`` should be in the student's folder, and no
    instructor-only file (``results.json``) anywhere under the students' folders."""
    check = FeedbackCheck()
    course = load_course(day.course)
    for student in day.roster:
        home = day.home(student.id)
        check.received[student.id] = sorted(home.glob("*/feedback/*/*.html"))
        for assignment in day.assignments:
            released = course.feedback_dir(student.id, assignment)
            for page in sorted(released.glob("*.html")):
                fetched = list(home.glob(f"{assignment}/feedback/*/{page.name}"))
                if not fetched:
                    check.missing.append(f"{student.id}/{assignment}/{page.name}")
        students = day.folder / "students"
        check.leaked = sorted(p for name in INSTRUCTOR_ONLY for p in students.rglob(name))
    return check


def take_quizzes(day: Day) -> int:
    """The class takes the pre- and post-lecture quizzes through the quiz service."""
    from grader.demo.class_sim import simulate_quizzes
    from grader.quiz.bank import load_bank

    bank = load_bank(day.repo / "quizzes")
    return simulate_quizzes(day.quiz_db, bank, day.roster, seed=day.seed)


def write_report(day: Day) -> None:
    """``grader report``: the class report of the whole course, quizzes included."""
    run_grader(
        day,
        "report",
        "--root",
        str(day.course),
        "--output",
        str(day.report),
        "--quiz-db",
        day.quiz_db,
        "--bank",
        str(day.repo / "quizzes"),
    )


def write_exports(day: Day) -> None:
    """``grader export`` (Canvas, Moodle, per-test CSV) and ``nbgrader export`` (grades.csv)."""
    run_grader(day, "export", "--root", str(day.course), "--output-dir", str(day.exports))
    run_nbgrader(day.course, "export", f"--to={day.exports / 'nbgrader-grades.csv'}")


def what_to_open(day: Day, check: FeedbackCheck, out: TextIO) -> None:
    """The closing lines: the report, one student's feedback, the quiz dashboard, exports."""
    pages = [p for pages in check.received.values() for p in pages]
    lines = [
        "",
        "The day is done. Open:",
        f"  class report:       {day.report}",
    ]
    if pages:
        lines.append(f"  a student's feedback (as it fetched it): {shlex.quote(str(pages[0]))}")
    lines += [
        f"  quiz dashboard:     {Path(sys.executable).parent / 'grader'} quiz serve "
        f"--db {day.quiz_db}",
        "                      then the 'Instructor dashboard' link it prints "
        "(http://127.0.0.1:8000/instructor)",
        f"  exports:            {day.exports}/ "
        f"({', '.join(sorted(p.name for p in day.exports.glob('*.csv')))})",
        f"  the course itself:  {day.course} (nbgrader's folders; the exchange: {day.exchange})",
    ]
    if check.missing:
        lines.append(
            "  feedback that did not reach its student (nbgrader matches feedback to the "
            f"notebook's name): {', '.join(check.missing)}"
        )
    print("\n".join(lines), file=out, flush=True)


STEP_COUNT = 11


def run_day(
    repo: Path,
    folder: Path,
    assignments: Sequence[str] = DAY_ASSIGNMENTS,
    roster: Sequence[SimStudent] = ROSTER,
    seed: int = 0,
    out: TextIO = sys.stdout,
    grade_options: Sequence[str] = (),
) -> tuple[Day, FeedbackCheck]:
    """Run the whole day in ``folder`` (emptied first when a previous day made it) on a copy
    of the course at ``repo``; returns where it happened and what the students received.
    ``grade_options`` go to ``grader autograde`` (``--timeout-cell 600`` on a busy machine).

    Raises :class:`DayFailed` when a step cannot be done, or when an instructor-only file
    reached a student."""
    known = assignments_in(repo)
    unknown = [a for a in assignments if a not in known]
    if unknown or not assignments:
        raise DayFailed(
            f"no assignment {', '.join(unknown) or '(none given)'} in {repo / 'source'}; "
            f"choose among {', '.join(known)}"
        )
    day = Day(
        folder.resolve(),
        repo.resolve(),
        tuple(assignments),
        tuple(roster),
        seed,
        tuple(grade_options),
    )
    steps = Steps(STEP_COUNT, out)
    try:
        return _run_steps(day, steps, out)
    except NbgraderFailed as error:
        raise DayFailed(failure_message(steps, day, str(error))) from error


def failure_message(steps: Steps, day: Day, output: str, tail: int = 8) -> str:
    """What failed (the step and nbgrader's last lines), where, and what to do."""
    lines = output.strip().splitlines()
    shown = "\n".join(["  " + line for line in lines[1:][-tail:]])
    return (
        f"step {steps.number}/{steps.total} ({steps.title}): {lines[0] if lines else output}\n"
        f"{shown}\nEverything so far is in {day.folder}; `grader demo` starts the day over."
    )


def _run_steps(day: Day, steps: Steps, out: TextIO) -> tuple[Day, FeedbackCheck]:
    print(f"The instructor's day in {day.folder}", file=out, flush=True)
    prepare_folder(day.folder)
    with steps.step(f"copy the course, generate {', '.join(day.assignments)}, add the roster"):
        set_up_course(day)
    with steps.step("release the assignments to the exchange (nbgrader release_assignment)"):
        release_assignments(day)
    with steps.step("simulate the class's work"):
        submissions = simulate_class(
            day.course,
            day.repo / "tests" / "mutants",
            day.repo / "tests" / "alternatives",
            seed=day.seed,
            assignments=day.assignments,
            roster=day.roster,
        )
        steps.say(f"{len(submissions)} submissions of {len(day.roster)} students")
    on_time = [s.id for s in day.roster if s.profile != "late"]
    late = [s.id for s in day.roster if s.profile == "late"]
    with steps.step(f"students fetch and submit ({len(on_time)})"):
        students_submit(day, submissions, on_time, steps)
    with steps.step(f"the deadline passes; late students submit ({len(late)})"):
        due = deadline_passes(day)
        steps.say(f"due date set to {due:%Y-%m-%d %H:%M:%S} UTC")
        students_submit(day, submissions, late, steps)
    with steps.step("collect the submissions (nbgrader collect)"):
        collect(day)
    with steps.step("grade (grader autograde)"):
        grade(day)
    with steps.step("feedback (grader feedback, nbgrader release_feedback)"):
        give_feedback(day)
    with steps.step(f"students fetch their feedback ({len(day.roster)})"):
        students_fetch_feedback(day, steps)
        check = check_feedback(day)
        if check.leaked:
            raise DayFailed(f"instructor-only files reached students: {check.leaked}")
        steps.say(f"no {', '.join(INSTRUCTOR_ONLY)} among the students' files")
    with steps.step("quizzes before and after the lecture (through the quiz service)"):
        steps.say(f"{take_quizzes(day)} attempts stored in {day.quiz_db}")
    with steps.step("class report and exports (grader report, grader export, nbgrader export)"):
        write_report(day)
        write_exports(day)
    what_to_open(day, check, out)
    return day, check
