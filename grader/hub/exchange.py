"""nbgrader's exchange as the classroom uses it.

- :class:`PrivateSubmit` (a student's server submits with it): nbgrader's own submit, after
  which the submission belongs to its student alone (folder ``0700``, files ``0600``). Plain
  nbgrader leaves a submission world-readable and its folder world-writable, hidden only by an
  unguessable name; here another student cannot read or change it even knowing the name. The
  grading service (root) collects it.
- :func:`submissions`: the submissions waiting in ``inbound/``, parsed from nbgrader's names.
- :func:`collect`: one submission copied to ``submitted/<student>/<assignment>/``.
- :func:`release`: one submission's feedback pages published under nbgrader's secret-derived
  names, owned by the student alone, so that the student's Assignments tab fetches them.
"""

from __future__ import annotations

import os
import pwd
import shutil
from dataclasses import dataclass
from pathlib import Path

from nbgrader.exchange.default.submit import ExchangeSubmit
from nbgrader.utils import notebook_hash

#: nbgrader's bookkeeping files in a submission.
TIMESTAMP = "timestamp.txt"
SECRET = "submission_secret.txt"


class PrivateSubmit(ExchangeSubmit):
    """nbgrader's submit, then the submission made private to the student who made it."""

    def copy_files(self) -> None:
        """Submit as nbgrader does, then close the new submission to everyone else."""
        super().copy_files()
        make_private(Path(self.inbound_path) / self.assignment_filename)


def make_private(folder: Path) -> None:
    """Folders ``0700`` and files ``0600`` under ``folder``: its owner (and root) only."""
    for path in folder.rglob("*"):
        path.chmod(0o700 if path.is_dir() else 0o600)
    folder.chmod(0o700)


@dataclass(frozen=True)
class Submission:
    """One submission in the exchange's ``inbound/``."""

    student: str
    assignment: str
    timestamp: str
    folder: Path

    @property
    def name(self) -> str:
        """nbgrader's folder name (``student+assignment+timestamp+random``): its identity."""
        return self.folder.name


def course_folder(exchange: Path, course_id: str) -> Path:
    """The course's folder in the exchange."""
    return exchange / course_id


def submissions(exchange: Path, course_id: str) -> list[Submission]:
    """Complete submissions in ``inbound/``, oldest first. A folder is complete once nbgrader
    has written its secret (the last file of a submit); others are still being copied."""
    inbound = course_folder(exchange, course_id) / "inbound"
    if not inbound.is_dir():
        return []
    found = []
    for folder in inbound.iterdir():
        parts = folder.name.split("+")
        if len(parts) < 3 or not folder.is_dir() or not (folder / SECRET).is_file():
            continue
        found.append(Submission(parts[0], parts[1], parts[2], folder))
    return sorted(found, key=lambda s: (s.timestamp, s.name))


def collect(submission: Submission, destination: Path) -> None:
    """Copy the submission to the course's ``submitted/<student>/<assignment>/`` (replacing an
    earlier one), as nbgrader's collect does."""
    staging = destination.parent / f".{destination.name}.collecting"
    shutil.rmtree(staging, ignore_errors=True)
    shutil.copytree(submission.folder, staging)
    shutil.rmtree(destination, ignore_errors=True)
    os.replace(staging, destination)


def release(
    exchange: Path, course_id: str, student: str, secret: str, pages: dict[str, str]
) -> list[Path]:
    """Publish feedback pages (notebook name -> HTML) of the submission whose secret is
    ``secret`` where nbgrader's fetch_feedback looks for them; each page is owned by the
    student and readable by no one else."""
    outbound = course_folder(exchange, course_id) / "feedback"
    outbound.mkdir(parents=True, exist_ok=True)
    outbound.chmod(0o711)  # anyone may open a page by its name; no one may list them
    owner = pwd.getpwnam(student)
    written = []
    for notebook, page in pages.items():
        target = outbound / f"{notebook_hash(secret=secret, notebook_id=notebook)}.html"
        staging = target.with_suffix(".partial")
        staging.write_text(page, encoding="utf-8")
        os.chown(staging, owner.pw_uid, owner.pw_gid)
        staging.chmod(0o600)
        os.replace(staging, target)
        written.append(target)
    return written
