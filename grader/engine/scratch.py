"""The engine's scratch folders: named after the process that made them, swept when it is gone.

A submission is staged, a kernel runs and a zygote listens in folders of the temporary
directory (``grader-<kind>-<pid>-<random>``). Each is removed when its work ends; a grader that
is killed (SIGKILL, out of memory, a machine that lost power) cannot remove them, and they
would keep students' files on the machine. :func:`sweep`, called as a grading session or a
Dask worker starts, removes the folders whose process no longer exists.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

log = logging.getLogger(__name__)

#: What the engine keeps in scratch folders.
KINDS = ("submission", "kernel", "zygote")

_NAME = re.compile(r"grader-(?P<kind>[a-z]+)-(?P<pid>[0-9]+)-")

#: The longest path a Unix socket may have (Linux: 108 bytes with the final NUL), and the
#: longest name the engine gives a socket inside a scratch folder ("/socket", "/k-5").
SOCKET_PATH_MAX = 107
SOCKET_NAME_ROOM = len("/socket")


class ScratchError(OSError):
    """A scratch folder cannot serve: its path leaves no room for the kernels' sockets."""


def make(kind: str, where: Path | None = None) -> Path:
    """A new scratch folder for ``kind`` (one of :data:`KINDS`) in ``where`` (the temporary
    directory), owned by this process: the caller removes it.

    Raises :class:`ScratchError` when the folder's path is too long for the sockets the kernel
    and the zygote listen on inside it (a long ``TMPDIR``), rather than failing later in ZeroMQ.
    """
    assert kind in KINDS, kind
    made = Path(tempfile.mkdtemp(prefix=f"grader-{kind}-{os.getpid()}-", dir=where))
    base, name = len(os.fsencode(made.parent)), len(made.name) + 1
    longest = SOCKET_PATH_MAX - SOCKET_NAME_ROOM - name
    if base > longest:
        made.rmdir()
        raise ScratchError(
            f"the temporary folder {made.parent} is too long for the kernels' sockets "
            f"({base} bytes; at most {longest}): set TMPDIR to a shorter path"
        )
    return made


@contextlib.contextmanager
def folder(kind: str) -> Iterator[Path]:
    """A scratch folder for ``kind``, removed on leaving the block."""
    with tempfile.TemporaryDirectory(prefix=f"grader-{kind}-{os.getpid()}-") as made:
        yield Path(made)


def owner(path: Path) -> int | None:
    """The process id a scratch folder is named after; None for any other name."""
    found = _NAME.match(path.name)
    if found is None or found["kind"] not in KINDS:
        return None
    return int(found["pid"])


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def sweep(where: Path | None = None) -> list[Path]:
    """Remove the scratch folders in ``where`` (the temporary directory) whose process is gone;
    the folders removed. Only root sweeps other users' folders (kernel folders belong to the
    sandbox's users); a folder named after a live process, or after one whose number has been
    given to another, is kept."""
    base = where or Path(tempfile.gettempdir())
    mine = os.geteuid()
    removed: dict[Path, int] = {}
    for path in sorted(base.glob("grader-*-*-*")):
        pid = owner(path)
        if pid is None or _alive(pid):
            continue
        try:
            if mine != 0 and path.lstat().st_uid != mine:
                continue
        except FileNotFoundError:  # its own process removed it meanwhile
            continue
        shutil.rmtree(path, ignore_errors=True)
        if path.exists():
            log.warning("could not remove %s, left by a grader that stopped (pid %d)", path, pid)
        else:
            removed[path] = pid
    if removed:
        log.info(
            "removed %d scratch folder(s) left by graders that were stopped (pid %s)",
            len(removed),
            ", ".join(str(p) for p in sorted(set(removed.values()))),
        )
    return list(removed)
