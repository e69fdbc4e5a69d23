"""The engine's scratch folders: named after their process, swept once it is gone."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from grader.engine import scratch


def _ended_pid() -> int:
    """The process id of a process that has ended (and been collected)."""
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    return int(done.stdout)


def test_a_stopped_graders_folders_are_swept_and_nothing_else(tmp_path: Path) -> None:
    dead, alive = _ended_pid(), os.getpid()
    left = [tmp_path / f"grader-{kind}-{dead}-x1y2" for kind in scratch.KINDS]
    kept = [
        tmp_path / f"grader-kernel-{alive}-a1b2",  # a grader still at work
        tmp_path / f"grader-hub-{dead}-c3d4",  # not one of the engine's kinds
        tmp_path / "grader-kernel-e5f6g7h8",  # no process named
        tmp_path / f"other-kernel-{dead}-i9j0",
    ]
    for folder in (*left, *kept):
        (folder / "submission").mkdir(parents=True)
        (folder / "submission" / "answers.ipynb").write_text("{}")
    assert sorted(scratch.sweep(tmp_path)) == sorted(left)
    assert not any(folder.exists() for folder in left)
    assert all(folder.exists() for folder in kept)
    assert scratch.sweep(tmp_path) == []


def test_folders_are_named_after_the_process_that_made_them() -> None:
    made = scratch.make("zygote")
    try:
        assert scratch.owner(made) == os.getpid()
        assert made.name.startswith(f"grader-zygote-{os.getpid()}-")
    finally:
        made.rmdir()
    with scratch.folder("submission") as kept:
        assert scratch.owner(kept) == os.getpid()
    assert not kept.exists()


@pytest.mark.skipif(os.geteuid() != 0, reason="another user's folder needs root to make")
def test_only_root_sweeps_another_users_folders() -> None:
    with tempfile.TemporaryDirectory() as made:  # not pytest's: another user must reach it
        where = Path(made)
        where.chmod(0o777)
        _sweeps_as_root_only(where)


def _sweeps_as_root_only(tmp_path: Path) -> None:
    folder = tmp_path / f"grader-kernel-{_ended_pid()}-k1l2"
    folder.mkdir()
    os.chown(folder, 65534, 65534)  # nobody's, as a kernel folder belongs to a sandbox user
    script = (
        "import os, sys\nfrom pathlib import Path\nfrom grader.engine import scratch\n"
        "os.setgid(65534); os.setuid(65533)\n"  # neither root nor the folder's owner
        "print(len(scratch.sweep(Path(sys.argv[1]))))\n"
    )
    done = subprocess.run([sys.executable, "-c", script, str(tmp_path)],
                          capture_output=True, text=True, check=True)  # fmt: skip
    assert done.stdout.strip() == "0" and folder.exists()
    assert scratch.sweep(tmp_path) == [folder] and not folder.exists()


def test_a_temporary_folder_too_long_for_the_sockets_is_a_clear_error() -> None:
    with tempfile.TemporaryDirectory(prefix="gt-") as made:  # short: pytest's may be too long
        _refuses_a_long_folder(Path(made))


def _refuses_a_long_folder(tmp_path: Path) -> None:
    room = scratch.SOCKET_PATH_MAX - scratch.SOCKET_NAME_ROOM
    name = len(f"/grader-kernel-{os.getpid()}-") + 8  # mkdtemp adds 8 characters
    fits = tmp_path / ("f" * (room - name - len(str(tmp_path)) - 1))
    fits.mkdir()
    made = scratch.make("kernel", fits)
    assert len(str(made / "socket")) <= scratch.SOCKET_PATH_MAX
    made.rmdir()
    too_long = tmp_path / ("t" * (room - name - len(str(tmp_path))))
    too_long.mkdir()
    with pytest.raises(scratch.ScratchError, match=r"too long for the kernels' sockets.*TMPDIR"):
        scratch.make("kernel", too_long)
    assert list(too_long.iterdir()) == []  # nothing left behind
