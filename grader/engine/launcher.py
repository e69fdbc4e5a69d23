"""Sandbox launcher: the first program run inside a submission's namespaces.

The engine starts it as ``python -I launcher.py CONFIG -- KERNEL ARGV...`` behind
``unshare`` (see :mod:`grader.engine.sandbox`). It runs with the grader's privileges inside the
fresh mount, PID, IPC and network namespaces and, before anything of the student runs:

1. hides folders (course root, home folders, ``/tmp``) under empty tmpfs mounts, binds back
   read-only only what the kernel needs (interpreter, virtual environment, the runtime folder,
   its sealed data), then masks dataset files inside what came back (scikit-learn's bundled
   datasets) under empty read-only tmpfs mounts;
2. builds a fresh, size-limited working folder from a staged copy;
3. forks the kernel with resource limits, a clean signal state and, where configured, another
   user, no capabilities and ``no_new_privs``;
4. stays behind as PID 1 of the namespace: it reaps orphans, and when the kernel ends it kills
   everything left in the namespace (a fork bomb's children included) and exits with the
   kernel's status (``128 + signal`` when a signal ended it);
5. dies with its parent (``PR_SET_PDEATHSIG``): when the grader goes, however it goes, the
   launcher goes, and as PID 1 it takes the whole namespace with it.

It imports only the standard library (``-I`` keeps the environment's paths out), so nothing of
the course or of the student's environment can change what it does.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import resource
import shutil
import signal
import sys

MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_REMOUNT = 32
MS_BIND = 4096
MS_REC = 16384
MS_PRIVATE = 1 << 18

LIMITS = {
    "as": resource.RLIMIT_AS,
    "nproc": resource.RLIMIT_NPROC,
    "fsize": resource.RLIMIT_FSIZE,
    "cpu": resource.RLIMIT_CPU,
    "nofile": resource.RLIMIT_NOFILE,
    "core": resource.RLIMIT_CORE,
}


def mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None):
    """mount(2) through libc; raises OSError with the paths when it fails."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mount.argtypes = [ctypes.c_char_p] * 3 + [ctypes.c_ulong, ctypes.c_char_p]
    enc = [None if v is None else v.encode() for v in (source, target, fstype, data)]
    if libc.mount(enc[0], enc[1], enc[2], flags, enc[3]) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"mount {source} -> {target}: {os.strerror(errno)}")


def _depth(path: str) -> int:
    return len([p for p in path.split("/") if p])


def _make_target(path: str, is_dir: bool) -> None:
    if is_dir:
        os.makedirs(path, mode=0o755, exist_ok=True)
    else:
        os.makedirs(os.path.dirname(path), mode=0o755, exist_ok=True)
        if not os.path.exists(path):
            with open(path, "w"):
                pass


def mask(paths: list[str]) -> None:
    """Cover each existing folder of ``paths`` with an empty read-only tmpfs (files: /dev/null).

    Runs after the binds, so it reaches into what was bound back (the virtual environment).
    """
    for path in sorted(paths, key=_depth):
        if os.path.isdir(path) and not os.path.islink(path):
            flags = MS_NOSUID | MS_NODEV | MS_RDONLY
            mount("tmpfs", path, "tmpfs", flags, "mode=0555,size=4k")
        elif os.path.isfile(path):
            mount("/dev/null", path, None, MS_BIND, None)


def setup_mounts(config: dict) -> None:
    """Hide, expose and build the working folder (needs CAP_SYS_ADMIN in the namespace)."""
    mount(None, "/", None, MS_REC | MS_PRIVATE, None)
    # Keep handles on what must come back before it disappears under a tmpfs.
    exposed = []
    for item in config.get("expose", []):
        path = item["path"]
        if os.path.exists(path):
            fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
            exposed.append((path, fd, os.path.isdir(path), bool(item.get("readonly", True))))
    staged = os.open(config["stage"], os.O_PATH | os.O_CLOEXEC) if config.get("stage") else None
    for item in sorted(config.get("hide", []), key=lambda i: _depth(i["path"])):
        path = item["path"]
        if os.path.isdir(path) and not os.path.islink(path):
            mode = item.get("mode", "0755")
            size = item.get("size", "1m")
            mount("tmpfs", path, "tmpfs", MS_NOSUID | MS_NODEV, f"mode={mode},size={size}")
        elif os.path.isfile(path):
            mount("/dev/null", path, None, MS_BIND, None)
    for path, fd, is_dir, readonly in sorted(exposed, key=lambda e: _depth(e[0])):
        _make_target(path, is_dir)
        mount(f"/proc/self/fd/{fd}", path, None, MS_BIND | MS_REC, None)
        if readonly:
            mount(None, path, None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID, None)
        os.close(fd)
    mask(config.get("mask", []))
    workdir = config["workdir"]
    os.makedirs(workdir, mode=0o755, exist_ok=True)
    mount("tmpfs", workdir, "tmpfs", MS_NOSUID | MS_NODEV, f"mode=0755,size={config['work_size']}")
    if staged is not None:
        shutil.copytree(f"/proc/self/fd/{staged}", workdir, dirs_exist_ok=True)
        os.close(staged)
    uid, gid = config.get("uid"), config.get("gid")
    if uid is not None and gid is not None:
        for base, dirs, files in os.walk(workdir):
            for name in [*dirs, *files]:
                os.lchown(os.path.join(base, name), uid, gid)
        os.chown(workdir, uid, gid)


PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """Ask the kernel to SIGKILL this process when its parent ends (``PR_SET_PDEATHSIG``).

    Kept across ``exec``; the grader's own death then takes the launcher, and, as PID 1 of the
    namespace, everything the student started. Exits at once if the parent is already gone.
    """
    parent = os.getppid()
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"prctl(PR_SET_PDEATHSIG): {os.strerror(errno)}")
    if os.getppid() != parent:  # the parent died before the signal was armed
        os._exit(128 + int(signal.SIGKILL))


def _child(config: dict, argv: list[str]) -> None:
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGPIPE):
        signal.signal(signum, signal.SIG_DFL)
    # ipykernel would watch this pid and, seeing its parent is pid 1 of the namespace instead,
    # shut down at once; the launcher kills the kernel itself when the grader goes.
    os.environ.pop("JPY_PARENT_PID", None)
    for name, value in config.get("limits", {}).items():
        if value is not None and name in LIMITS:
            soft = hard = int(value)
            resource.setrlimit(LIMITS[name], (soft, hard))
    uid, gid = config.get("uid"), config.get("gid")
    setpriv = config.get("setpriv")
    if setpriv and (uid is not None or config.get("drop_caps")):
        prefix = [setpriv]
        if uid is not None:
            prefix += [f"--reuid={uid}", f"--regid={gid}", "--clear-groups"]
        prefix += ["--inh-caps=-all", "--bounding-set=-all", "--no-new-privs", "--"]
        os.execv(setpriv, prefix + argv)
    if uid is not None and gid is not None:
        os.setgroups([])
        os.setgid(gid)
        os.setuid(uid)
    os.execv(argv[0], argv)


def exit_status(wait_status: int) -> int:
    """A wait status as a shell would report it: the exit code, or 128 + the signal."""
    if os.WIFSIGNALED(wait_status):
        return 128 + os.WTERMSIG(wait_status)
    return os.WEXITSTATUS(wait_status)


def run(config: dict, argv: list[str]) -> int:
    """Set up the sandbox and run ``argv`` in it; returns the kernel's exit status."""
    die_with_parent()
    if config.get("mount"):
        setup_mounts(config)
    os.chdir(config["workdir"])
    if not config.get("init"):
        _child(config, argv)  # does not return
    pid = os.fork()
    if pid == 0:
        try:
            _child(config, argv)
        except BaseException as error:  # the kernel could not start: say why
            print(f"sandbox launcher: {error}", file=sys.stderr)
        os._exit(127)

    # SIGINT reaches the kernel through its process group; the others are forwarded.
    return supervise(pid, forwarded=(signal.SIGTERM, signal.SIGHUP))


def supervise(child: int, forwarded: tuple[signal.Signals, ...]) -> int:
    """Wait for ``child`` as PID 1 of a namespace: reap every orphan, pass the ``forwarded``
    signals on to it (and ignore SIGINT, SIGTERM and SIGHUP otherwise), and when it ends kill
    everything left in the namespace (a fork bomb's children included). Returns the child's
    exit status (``128 + signal`` when a signal ended it)."""

    def forward(signum: int, _frame: object) -> None:
        if signum in forwarded:
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signum)

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, forward)
    status = 0
    while True:
        try:
            done, wait_status = os.wait()
        except ChildProcessError:
            break
        except InterruptedError:
            continue
        if done == child:
            status = exit_status(wait_status)
            if os.getpid() == 1:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(-1, signal.SIGKILL)  # everything else in the namespace
    return status


def main() -> int:
    """Entry point: ``launcher.py CONFIG -- ARGV...``."""
    args = sys.argv[1:]
    if len(args) < 3 or args[1] != "--":
        print("usage: launcher.py CONFIG -- ARGV...", file=sys.stderr)
        return 2
    with open(args[0], encoding="utf-8") as handle:
        config = json.load(handle)
    return run(config, args[2:])


if __name__ == "__main__":
    sys.exit(main())
