"""Finding and ending the classroom's processes by a mark in their environment.

Everything the hub starts carries ``GRADER_HUB_SETTINGS`` (the hub, the proxy, each user's
server and kernels, the grading service); the grading service adds ``GRADER_HUB_SERVICE`` for
its own children (Dask workers, the zygote). A process keeps its environment when its parent
dies, so a mark finds what a killed parent left behind.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import time
from pathlib import Path

log = logging.getLogger(__name__)

#: The grading service's own mark (its children inherit it).
SERVICE_ENV = "GRADER_HUB_SERVICE"


def marked(name: str, value: str) -> list[int]:
    """Processes (other than this one) whose environment has ``name=value``."""
    mark = f"{name}={value}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if mark in (entry / "environ").read_bytes().split(b"\0"):
                found.append(int(entry.name))
        except OSError:  # gone, or not ours to read
            continue
    return found


def end_marked(name: str, value: str, grace_s: float = 10.0) -> list[int]:
    """SIGTERM every process marked ``name=value``, SIGKILL what is left after ``grace_s``;
    returns the processes found."""
    found = marked(name, value)
    for pid in found:
        log.warning("ending process %d (%s), left behind", pid, _command(pid))
        _signal(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    while (left := marked(name, value)) and time.monotonic() < deadline:
        time.sleep(0.2)
    for pid in left:
        _signal(pid, signal.SIGKILL)
    return found


def _command(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()[:120]
    except OSError:
        return "?"


def _signal(pid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signum)
