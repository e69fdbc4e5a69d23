"""The course model, and course-level operations with plain nbgrader.

:class:`Course` (from :func:`load_course`) is the one place that knows where a course keeps its
things: it reads ``nbgrader_config.py`` (root, ``db_url``, the exchange, nbgrader's folder
layout) and every command of this project asks it, never a hard-coded ``gradebook.db`` or
``submitted/``. nbgrader changes the working directory and shares state between converters, so
nbgrader itself always runs here as a separate process (``python -m nbgrader``) with an explicit
course root.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from nbgrader.coursedir import CourseDirectory
from traitlets.config import Config
from traitlets.config.loader import PyFileConfigLoader

from grader.syllabus import COURSE as COURSE  # the course's assignments, read here too

REFERENCE_STUDENT = "reference"
#: Where the engine caches reference runs, inside ``autograded/`` (a name no student has).
REFERENCE_FOLDER = ".reference"


class NbgraderFailed(RuntimeError):
    """An nbgrader command that exited with an error; carries its output."""


@dataclass(frozen=True)
class TestScore:
    """The score of one graded cell of one notebook."""

    notebook: str
    grade_id: str
    score: float | None
    max_score: float
    manual: bool = False  # a written answer that a person grades; not autograded


@dataclass(frozen=True)
class Course:
    """Paths and settings of one nbgrader course directory (read from its config)."""

    root: Path
    course_id: str
    db_url: str
    coursedir: CourseDirectory
    config: Config

    def source_dir(self, assignment: str) -> Path:
        """``source/<assignment>``."""
        return Path(self.coursedir.format_path(self.coursedir.source_directory, ".", assignment))

    def submitted_dir(self, student: str, assignment: str) -> Path:
        """``submitted/<student>/<assignment>``."""
        return Path(
            self.coursedir.format_path(self.coursedir.submitted_directory, student, assignment)
        )

    def autograded_dir(self, student: str, assignment: str) -> Path:
        """``autograded/<student>/<assignment>``."""
        return Path(
            self.coursedir.format_path(self.coursedir.autograded_directory, student, assignment)
        )

    def feedback_dir(self, student: str, assignment: str) -> Path:
        """``feedback/<student>/<assignment>``."""
        return Path(
            self.coursedir.format_path(self.coursedir.feedback_directory, student, assignment)
        )

    def release_dir(self, assignment: str) -> Path:
        """``release/<assignment>``."""
        return Path(self.coursedir.format_path(self.coursedir.release_directory, ".", assignment))

    def reference_cache(self, assignment: str) -> Path:
        """Where reference runs are cached (inside ``autograded/``, which git ignores)."""
        root = Path(self.coursedir.format_path(self.coursedir.autograded_directory, ".", "."))
        return root.resolve() / REFERENCE_FOLDER / assignment

    @property
    def exchange(self) -> Path | None:
        """nbgrader's exchange folder (``Exchange.root``), when the config sets one."""
        value = self.config.get("Exchange", {}).get("root")
        return Path(value) if value else None

    def assignments(self) -> list[str]:
        """The course's assignments (``source/``), in teaching order."""
        return assignments_in(self.root)

    def students(self, assignment: str) -> list[str]:
        """Students with a submission of ``assignment``, sorted."""
        base = Path(self.coursedir.format_path(self.coursedir.submitted_directory, ".", "."))
        base = base.resolve()
        if not base.is_dir():
            return []
        return sorted(
            p.name
            for p in base.iterdir()
            if (p / assignment).is_dir() and not p.name.startswith(".")
        )

    def timestamp(self, student: str, assignment: str) -> str | None:
        """The submission's ``timestamp.txt``, as nbgrader reads it."""
        value = self.coursedir.get_existing_timestamp(str(self.submitted_dir(student, assignment)))
        return str(value) if value else None


def load_course(root: Path) -> Course:
    """Read ``nbgrader_config.py`` of ``root`` (when present) and resolve the course's paths."""
    root = root.resolve()
    config = Config()
    if (root / "nbgrader_config.py").is_file():
        config = PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config()
    coursedir = CourseDirectory(config=config)
    coursedir.root = str(root)
    return Course(
        root, coursedir.course_id or "default_course", coursedir.db_url, coursedir, config
    )


def tool_environment() -> dict[str, str]:
    """The environment of a course tool run as a command (nbgrader, ``grader``): this
    interpreter's programs first on PATH, TensorFlow's C++ log quiet unless asked for."""
    env = dict(os.environ)
    # nbgrader creates a new gradebook by running `alembic` as a command.
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    return env


def run_nbgrader(root: Path, *args: str) -> str:
    """Run ``nbgrader ARGS`` on the course at ``root``; returns its output, raises on failure.

    The command and its kernels get a temporary folder of their own, removed when it ends: the
    course's nbgrader ends each kernel at once after its last cell (``nbgrader_config.py``), so
    what a kernel leaves in its temporary folder (TensorFlow's generated graph code, for one) is
    never cleaned up by the kernel itself.
    """
    command = [sys.executable, "-m", "nbgrader", *args, f"--CourseDirectory.root={root}"]
    with tempfile.TemporaryDirectory(prefix="nbgrader-run-") as scratch:
        env = tool_environment()
        env["TMPDIR"] = scratch
        done = subprocess.run(
            command,
            cwd=root,
            env=env,
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            check=False,
        )
    output = done.stdout + done.stderr
    if done.returncode != 0:
        raise NbgraderFailed(f"nbgrader {' '.join(args)} failed:\n{output[-4000:]}")
    return output


def assignments_in(root: Path) -> list[str]:
    """Assignments found under ``root/source``, the course's own first, in teaching order."""
    found = sorted(p.name for p in (root / "source").iterdir() if p.is_dir())
    ordered = [a for a in COURSE if a in found]
    return ordered + [a for a in found if a not in ordered]


def release(root: Path, assignments: list[str] | None = None) -> list[str]:
    """Regenerate ``release/`` from ``source/`` for the given assignments (default: all).

    Where the course has translations (``locale/<language>/*.po``), the translated assignments
    (``frameworks-he``, ...) are first rebuilt into ``source/`` from the English notebooks, all
    or nothing (:func:`grader.i18n.build.build_translations`), then released like the others.
    """
    from grader.i18n.build import build_translations, stub_options  # heavy: only when releasing

    chosen = assignments or assignments_in(root)
    translated = build_translations(root, chosen)
    chosen = chosen + [a for a in translated if a not in chosen]
    for assignment in chosen:
        run_nbgrader(root, "generate_assignment", assignment, "--force", *stub_options(assignment))
    return chosen


def submit(root: Path, student: str, assignment: str, notebooks: Mapping[str, Path]) -> None:
    """Place notebooks where nbgrader's ``autograde`` looks for a student's submission."""
    folder = load_course(root).submitted_dir(student, assignment)
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    for name, path in notebooks.items():
        shutil.copyfile(path, folder / f"{name}.ipynb")


def autograde(root: Path, assignment: str, students: list[str] | None = None) -> None:
    """Grade submissions of ``assignment`` with plain ``nbgrader autograde``."""
    extra = [f"--student={s}" for s in students] if students and len(students) == 1 else []
    run_nbgrader(root, "autograde", assignment, "--force", *extra)


def scores(root: Path, assignment: str, student: str) -> list[TestScore]:
    """Per-cell scores of a graded submission, read from the course's gradebook."""
    from nbgrader.api import Gradebook

    with Gradebook(load_course(root).db_url) as gradebook:
        submission = gradebook.find_submission(assignment, student)
        return [
            TestScore(
                notebook.name,
                grade.name,
                grade.score,
                grade.max_score,
                manual=grade.auto_score is None,
            )
            for notebook in submission.notebooks
            for grade in notebook.grades
        ]


def make_course_copy(root: Path, destination: Path, assignments: list[str]) -> Path:
    """A fresh course directory with ``root``'s config and the given source assignments."""
    destination.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(root / "nbgrader_config.py", destination / "nbgrader_config.py")
    for assignment in assignments:
        shutil.copytree(root / "source" / assignment, destination / "source" / assignment)
    return destination
