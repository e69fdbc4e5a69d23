"""nbgrader's exchange as the classroom uses it.

- :class:`PrivateSubmit` (a student's server submits with it): nbgrader's own submit, after
  which the submission belongs to its student alone (folder ``0700``, files ``0600``). Plain
  nbgrader leaves a submission world-readable and its folder world-writable, hidden only by an
  unguessable name; here another student cannot read or change it even knowing the name. The
  grading service (root) collects it.
- :func:`submissions`: the submissions waiting in ``inbound/``, parsed from nbgrader's names.
- :func:`collect`: one submission copied to ``submitted/<student>/<assignment>/``: its plain
  files and folders only. The student owns the submission's folder (anyone may create one in
  ``inbound/``), and the service copies as root: a link would copy what it points to (another
  student's work, the instructor's solutions, ``/etc/shadow``) into the student's feedback,
  a device or a pipe would never end. Such a submission is refused (:class:`NotAccepted`).
- :func:`release`: one submission's feedback pages published under nbgrader's secret-derived
  names, owned by the student alone, so that the student's Assignments tab fetches them.
"""

from __future__ import annotations

import os
import pwd
import shutil
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from nbgrader.exchange.default.submit import ExchangeSubmit
from nbgrader.utils import notebook_hash

#: nbgrader's bookkeeping files in a submission.
TIMESTAMP = "timestamp.txt"
SECRET = "submission_secret.txt"
#: Largest submission the service copies (all its files together), in bytes.
MAX_SUBMISSION_BYTES = 200 * 2**20
#: Longest secret read (nbgrader writes a 32-character hex token).
MAX_SECRET_BYTES = 256

#: Opening a student's file as root: never through a link, never waiting on a pipe.
_NO_FOLLOW = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK


class NotAccepted(Exception):
    """A submission the service will not copy: why (``reason``: ``not-a-file`` or
    ``too-large``, a reason of the service's notices) and its values."""

    def __init__(self, reason: str, **values: object) -> None:
        super().__init__(f"{reason}: {values}")
        self.reason, self.values = reason, values


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

    @classmethod
    def in_folder(cls, folder: Path) -> Submission | None:
        """The submission nbgrader's folder name describes, or None for another name."""
        parts = folder.name.split("+")
        return cls(parts[0], parts[1], parts[2], folder) if len(parts) >= 3 else None

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
        item = Submission.in_folder(folder)
        if item is not None and folder.is_dir() and (folder / SECRET).is_file():
            found.append(item)
    return sorted(found, key=lambda s: (s.timestamp, s.name))


def collect(
    submission: Submission, destination: Path, max_bytes: int = MAX_SUBMISSION_BYTES
) -> None:
    """Copy the submission's plain files and folders to the course's
    ``submitted/<student>/<assignment>/`` (replacing an earlier one), as nbgrader's collect
    does. Raises :class:`NotAccepted` for a link, a device or a pipe anywhere in it (the
    submission's own folder included) or for more than ``max_bytes``; nothing is copied then."""
    staging = destination.parent / f".{destination.name}.collecting"
    shutil.rmtree(staging, ignore_errors=True)
    try:
        folder = os.open(submission.folder, _NO_FOLLOW | os.O_DIRECTORY)
    except OSError as error:
        if submission.folder.is_symlink():
            raise NotAccepted("not-a-file", name=submission.folder.name) from error
        raise
    try:
        _copy_folder(folder, staging, "", [max_bytes])
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    finally:
        os.close(folder)
    shutil.rmtree(destination, ignore_errors=True)
    os.replace(staging, destination)


def _copy_folder(folder: int, target: Path, where: str, left: list[int]) -> None:
    """Copy the open folder ``folder`` (its entries opened relative to it, without following
    links) to ``target``; ``where``: its path in the submission, for messages; ``left``: the
    bytes the submission may still hold."""
    target.mkdir(parents=True)
    with os.scandir(folder) as entries:
        names = sorted(entry.name for entry in entries)
    for name in names:
        path = f"{where}{name}"
        try:
            opened = os.open(name, _NO_FOLLOW, dir_fd=folder)
        except OSError as error:  # ELOOP: a link (or something that cannot be opened)
            raise NotAccepted("not-a-file", name=path) from error
        try:
            info = os.fstat(opened)
            if stat.S_ISDIR(info.st_mode):
                _copy_folder(opened, target / name, f"{path}/", left)
            elif stat.S_ISREG(info.st_mode):
                left[0] -= info.st_size
                if left[0] < 0:
                    raise NotAccepted("too-large", limit=MAX_SUBMISSION_BYTES // 2**20)
                os.set_blocking(opened, True)
                with open(target / name, "wb") as copy:
                    _copy_bytes(opened, copy, info.st_size)
                os.chmod(target / name, stat.S_IMODE(info.st_mode))
                os.utime(target / name, ns=(info.st_atime_ns, info.st_mtime_ns))
            else:
                raise NotAccepted("not-a-file", name=path)
        finally:
            os.close(opened)


def _copy_bytes(source: int, copy: BinaryIO, size: int) -> None:
    """The first ``size`` bytes of the open file ``source`` (what was counted: a file that
    grows while it is copied brings no more) into ``copy``."""
    while size > 0:
        chunk = os.read(source, min(size, 2**20))
        if not chunk:
            return
        copy.write(chunk)
        size -= len(chunk)


def read_secret(folder: Path) -> str:
    """A submission's secret (its feedback pages' names derive from it), read as root from a
    folder its student owns: a plain file, short, ASCII; ``ValueError`` or ``OSError`` else."""
    opened = os.open(folder / SECRET, _NO_FOLLOW)
    try:
        if not stat.S_ISREG(os.fstat(opened).st_mode):
            raise ValueError(f"{SECRET} is not a plain file")
        raw = os.read(opened, MAX_SECRET_BYTES + 1)
    finally:
        os.close(opened)
    if len(raw) > MAX_SECRET_BYTES:
        raise ValueError(f"{SECRET} is longer than {MAX_SECRET_BYTES} bytes")
    return raw.decode("ascii")


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
