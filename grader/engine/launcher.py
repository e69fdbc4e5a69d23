"""Sandbox launcher: the first program run inside a submission's namespaces.

The engine starts it as ``python -I launcher.py SETTINGS -- KERNEL ARGV...`` behind
``unshare`` (see :mod:`grader.engine.sandbox`), ``SETTINGS`` being a :class:`SandboxSettings`
written as JSON. It runs with the grader's privileges inside the fresh mount, PID, IPC and
network namespaces and, in :func:`enter`, before anything of the student runs:

1. hides folders (course root, home folders, ``/tmp``) under empty tmpfs mounts, binds back
   read-only only what the kernel needs (interpreter, virtual environment, the runtime folder,
   its sealed data), then masks dataset files inside what came back (scikit-learn's bundled
   datasets) under empty read-only tmpfs mounts;
2. builds a fresh, size-limited working folder from a staged copy;
3. forks the kernel and, in its process, sets a clean signal state, resource limits, and where
   configured another user, no capabilities, then ``no_new_privs`` (:func:`drop_privileges`),
   before it execs the kernel;
4. stays behind as PID 1 of the namespace: it reaps orphans, and when the kernel ends it kills
   everything left in the namespace (a fork bomb's children included) and exits with the
   kernel's status (``128 + signal`` when a signal ended it);
5. dies with its parent (``PR_SET_PDEATHSIG``): when the grader goes, however it goes, the
   launcher goes, and as PID 1 it takes the whole namespace with it.

:func:`enter` is the one way into the sandbox: the zygote (:mod:`grader.engine.zygote`) calls
it too for every kernel it forks, from the same settings, so that a forked kernel and a cold
one get the same mounts, limits, user, capabilities and ``no_new_privs``.

It imports only the standard library (``-I`` keeps the environment's paths out), so nothing of
the course or of the student's environment can change what it does.
"""

from __future__ import annotations

import contextlib
import ctypes
import dataclasses
import errno as errnos
import json
import os
import re
import resource
import shutil
import signal
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_NOEXEC = 8
MS_REMOUNT = 32
MS_BIND = 4096
MS_REC = 16384
MS_PRIVATE = 1 << 18

#: The namespaces every sandboxed kernel gets: ``unshare(1)``'s option and ``clone(2)``'s flag
#: for each (the cold path passes the options to ``unshare``, the zygote the flags to libc).
NAMESPACES = {
    "network": ("-n", 0x40000000),
    "mount": ("-m", 0x00020000),
    "pid": ("-p", 0x20000000),
    "ipc": ("-i", 0x08000000),
}

PR_SET_PDEATHSIG = 1
PR_CAPBSET_DROP = 24
PR_SET_NO_NEW_PRIVS = 38
PR_CAP_AMBIENT = 47
PR_CAP_AMBIENT_CLEAR_ALL = 4
LINUX_CAPABILITY_VERSION_3 = 0x20080522
#: Capability numbers tried when dropping the bounding set (the kernel answers EINVAL past its
#: last one).
CAPABILITY_CEILING = 64

_SIZE = re.compile(r"[1-9][0-9]*[kmg]?")
_MODE = re.compile(r"[0-7]{3,4}")


class SettingsError(ValueError):
    """The sandbox settings are malformed (the message names the field and what is wrong)."""


@dataclass(frozen=True)
class Hidden:
    """A folder covered by an empty tmpfs (a file: by ``/dev/null``)."""

    path: str
    mode: str = "0755"  # of the tmpfs, octal
    size: str = "1m"  # of the tmpfs: digits, then k, m or g


@dataclass(frozen=True)
class Exposed:
    """A path bound back into the hidden folders at the same place."""

    path: str
    readonly: bool = True


@dataclass(frozen=True)
class ResourceLimits:
    """``setrlimit`` limits of the kernel (soft = hard); None leaves a limit as it is."""

    address_space: int | None = None  # RLIMIT_AS, bytes
    processes: int | None = None  # RLIMIT_NPROC (counted per user)
    file_size: int | None = None  # RLIMIT_FSIZE, bytes
    cpu_seconds: int | None = None  # RLIMIT_CPU
    open_files: int | None = None  # RLIMIT_NOFILE
    core_size: int | None = None  # RLIMIT_CORE, bytes

    def __post_init__(self) -> None:
        for item in dataclasses.fields(self):
            value = getattr(self, item.name)
            if value is not None and value < 0:
                raise SettingsError(f"limits.{item.name}: must be 0 or more, not {value}")


#: Each field of :class:`ResourceLimits` -> its ``resource`` constant.
RLIMITS = {
    "address_space": resource.RLIMIT_AS,
    "processes": resource.RLIMIT_NPROC,
    "file_size": resource.RLIMIT_FSIZE,
    "cpu_seconds": resource.RLIMIT_CPU,
    "open_files": resource.RLIMIT_NOFILE,
    "core_size": resource.RLIMIT_CORE,
}


@dataclass(frozen=True)
class SandboxSettings:
    """Everything :func:`enter` applies to one kernel: the one description of its sandbox.

    Written by the engine as JSON (:meth:`to_json`) and read by the launcher or the zygote
    (:meth:`from_json`), which refuses unknown fields, wrong types and impossible values.
    """

    workdir: str  # the kernel's working folder
    mount: bool = False  # hide, expose, mask and a tmpfs working folder (a mount namespace)
    init: bool = False  # stay behind as PID 1 of the namespace and fork the kernel
    stage: str | None = None  # files copied into the working folder
    work_size: str = "512m"  # tmpfs size of the working folder
    hide: tuple[Hidden, ...] = ()
    expose: tuple[Exposed, ...] = ()
    mask: tuple[str, ...] = ()  # dataset folders covered by empty read-only tmpfs mounts
    uid: int | None = None  # the sandbox user (None: the kernel keeps the launcher's user)
    gid: int | None = None
    drop_caps: bool = False  # empty bounding, permitted, effective and inheritable sets
    limits: ResourceLimits = field(default_factory=ResourceLimits)

    def __post_init__(self) -> None:
        paths = [("workdir", self.workdir)]
        paths += [(f"hide[{i}].path", h.path) for i, h in enumerate(self.hide)]
        paths += [(f"expose[{i}].path", e.path) for i, e in enumerate(self.expose)]
        paths += [(f"mask[{i}]", m) for i, m in enumerate(self.mask)]
        if self.stage is not None:
            paths.append(("stage", self.stage))
        for name, path in paths:
            if not path.startswith("/") or "\0" in path:
                raise SettingsError(f"{name}: must be an absolute path, not {path!r}")
        for name, size in [("work_size", self.work_size)] + [
            (f"hide[{i}].size", h.size) for i, h in enumerate(self.hide)
        ]:
            if not _SIZE.fullmatch(size):
                raise SettingsError(f"{name}: must be a size such as 512m, not {size!r}")
        for i, hidden in enumerate(self.hide):
            if not _MODE.fullmatch(hidden.mode):
                raise SettingsError(f"hide[{i}].mode: must be octal like 0755, not {hidden.mode!r}")
        if (self.uid is None) != (self.gid is None):
            raise SettingsError("uid and gid: give both or neither")
        for name, value in (("uid", self.uid), ("gid", self.gid)):
            if value is not None and value <= 0:
                raise SettingsError(f"{name}: the sandbox user must not be root (got {value})")
        if self.init and not self.mount:
            raise SettingsError("init: a PID 1 needs its namespaces (mount is false)")

    def to_json(self) -> str:
        """The settings as a JSON object (read back by :meth:`from_json`)."""
        return json.dumps(dataclasses.asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> SandboxSettings:
        """Read settings written by :meth:`to_json`; :class:`SettingsError` says what is wrong."""
        try:
            data = json.loads(text)
        except ValueError as error:
            raise SettingsError(f"not JSON: {error}") from None
        return _build(cls, data, "")

    @classmethod
    def load(cls, path: str) -> SandboxSettings:
        """Read settings from the file ``path``."""
        with open(path, encoding="utf-8") as handle:
            return cls.from_json(handle.read())


_RECORDS: dict[str, type] = {
    "Hidden": Hidden,
    "Exposed": Exposed,
    "ResourceLimits": ResourceLimits,
}


def _decode(value: Any, kind: str, where: str) -> Any:
    """``value`` (parsed JSON) as the annotated type ``kind`` of a settings field."""
    if kind.endswith(" | None"):
        return None if value is None else _decode(value, kind[: -len(" | None")], where)
    if kind.startswith("tuple[") and kind.endswith(", ...]"):
        if not isinstance(value, list):
            raise SettingsError(f"{where}: expected a list, got {type(value).__name__}")
        item = kind[len("tuple[") : -len(", ...]")]
        return tuple(_decode(v, item, f"{where}[{i}]") for i, v in enumerate(value))
    if kind in _RECORDS:
        return _build(_RECORDS[kind], value, f"{where}.")
    expected = {"str": str, "int": int, "bool": bool}[kind]
    if type(value) is not expected:  # exactly: JSON's true is not an int here
        raise SettingsError(f"{where}: expected {kind}, got {json.dumps(value)}")
    return value


def _build(cls: type, data: Any, prefix: str) -> Any:
    """An instance of the settings record ``cls`` from a parsed JSON object."""
    where = prefix.rstrip(".") or "settings"
    if not isinstance(data, dict):
        raise SettingsError(f"{where}: expected an object, got {type(data).__name__}")
    known = {item.name: item for item in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise SettingsError(f"{where}: unknown field(s) {', '.join(unknown)}")
    values = {}
    for name, item in known.items():
        if name in data:
            values[name] = _decode(data[name], str(item.type), f"{prefix}{name}")
        elif item.default is dataclasses.MISSING and item.default_factory is dataclasses.MISSING:
            raise SettingsError(f"{prefix}{name}: missing")
    return cls(**values)


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


def setup_mounts(settings: SandboxSettings) -> None:
    """Hide, expose and build the working folder (needs CAP_SYS_ADMIN in the namespace)."""
    mount(None, "/", None, MS_REC | MS_PRIVATE, None)
    # Keep handles on what must come back before it disappears under a tmpfs.
    exposed = []
    for item in settings.expose:
        if os.path.exists(item.path):
            fd = os.open(item.path, os.O_PATH | os.O_CLOEXEC)
            exposed.append((item.path, fd, os.path.isdir(item.path), item.readonly))
    staged = os.open(settings.stage, os.O_PATH | os.O_CLOEXEC) if settings.stage else None
    for hidden in sorted(settings.hide, key=lambda h: _depth(h.path)):
        path = hidden.path
        if os.path.isdir(path) and not os.path.islink(path):
            data = f"mode={hidden.mode},size={hidden.size}"
            mount("tmpfs", path, "tmpfs", MS_NOSUID | MS_NODEV, data)
        elif os.path.isfile(path):
            mount("/dev/null", path, None, MS_BIND, None)
    for path, fd, is_dir, readonly in sorted(exposed, key=lambda e: _depth(e[0])):
        _make_target(path, is_dir)
        mount(f"/proc/self/fd/{fd}", path, None, MS_BIND | MS_REC, None)
        if readonly:
            mount(None, path, None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID, None)
        os.close(fd)
    mask(list(settings.mask))
    workdir = settings.workdir
    os.makedirs(workdir, mode=0o755, exist_ok=True)
    mount("tmpfs", workdir, "tmpfs", MS_NOSUID | MS_NODEV, f"mode=0755,size={settings.work_size}")
    if staged is not None:
        shutil.copytree(f"/proc/self/fd/{staged}", workdir, dirs_exist_ok=True)
        os.close(staged)
    if settings.uid is not None and settings.gid is not None:
        for base, dirs, files in os.walk(workdir):
            for name in [*dirs, *files]:
                os.lchown(os.path.join(base, name), settings.uid, settings.gid)
        os.chown(workdir, settings.uid, settings.gid)


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def _prctl(option: int, argument: int, what: str, tolerated: tuple[int, ...] = ()) -> bool:
    """``prctl(option, argument)``; False when it failed with an errno of ``tolerated``."""
    if _libc().prctl(option, argument, 0, 0, 0) == 0:
        return True
    errno = ctypes.get_errno()
    if errno in tolerated:
        return False
    raise OSError(errno, f"{what}: {os.strerror(errno)}")


def die_with_parent() -> None:
    """Ask the kernel to SIGKILL this process when its parent ends (``PR_SET_PDEATHSIG``).

    Kept across ``exec``; the grader's own death then takes the launcher, and, as PID 1 of the
    namespace, everything the student started. Exits at once if the parent is already gone.
    """
    parent = os.getppid()
    _prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), "prctl(PR_SET_PDEATHSIG)")
    if os.getppid() != parent:  # the parent died before the signal was armed
        os._exit(128 + int(signal.SIGKILL))


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [
        ("effective", ctypes.c_uint32),
        ("permitted", ctypes.c_uint32),
        ("inheritable", ctypes.c_uint32),
    ]


def _clear_capabilities() -> None:
    """Empty the effective, permitted, inheritable and ambient sets of this thread."""
    header = _CapHeader(LINUX_CAPABILITY_VERSION_3, 0)
    empty = (_CapData * 2)()
    if _libc().capset(ctypes.byref(header), empty) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"capset: {os.strerror(errno)}")
    _prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, "prctl(PR_CAP_AMBIENT)", (errnos.EINVAL,))


def drop_privileges(settings: SandboxSettings) -> None:
    """In the kernel's process, in this order: resource limits, the bounding set emptied, the
    sandbox user (no supplementary groups), every capability gone, then ``no_new_privs``
    (kept across ``exec``: no setuid program or file capability can give any of it back)."""
    for name, number in RLIMITS.items():
        value = getattr(settings.limits, name)
        if value is not None:
            resource.setrlimit(number, (value, value))
    if settings.drop_caps:
        for capability in range(CAPABILITY_CEILING):
            if not _prctl(PR_CAPBSET_DROP, capability, "prctl(PR_CAPBSET_DROP)", (errnos.EINVAL,)):
                break  # past the kernel's last capability
    if settings.uid is not None and settings.gid is not None:
        os.setgroups([])
        os.setgid(settings.gid)
        os.setuid(settings.uid)  # from root to another user: every capability goes
    if settings.drop_caps:
        _clear_capabilities()
    _prctl(PR_SET_NO_NEW_PRIVS, 1, "prctl(PR_SET_NO_NEW_PRIVS)")


def _kernel(settings: SandboxSettings, start: Callable[[], object]) -> None:
    """The kernel's process: a clean signal state, no privileges, then ``start``."""
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGPIPE, signal.SIGCHLD):
        signal.signal(signum, signal.SIG_DFL)
    # ipykernel would watch this pid and, seeing its parent is pid 1 of the namespace instead,
    # shut down at once; PID 1 kills the kernel itself when the grader goes.
    os.environ.pop("JPY_PARENT_PID", None)
    drop_privileges(settings)
    start()


def enter(
    settings: SandboxSettings,
    start: Callable[[], object],
    forwarded: tuple[signal.Signals, ...],
) -> int:
    """Enter the sandbox described by ``settings`` and run ``start`` (the kernel) inside it.

    The one way into the sandbox, for cold kernels (the launcher, ``start`` execs the kernel)
    and forked ones (the zygote, ``start`` becomes the kernel in-process). Called inside the
    fresh namespaces (:data:`NAMESPACES`): dies with its parent; with ``settings.mount`` hides,
    exposes, masks and builds the working folder, and as PID 1 mounts a ``/proc`` of the new
    PID namespace; then, in the kernel's process, applies :func:`drop_privileges` and calls
    ``start``. With ``settings.init`` the kernel is a child and this process stays PID 1
    (:func:`supervise`, passing on ``forwarded`` signals); returns the kernel's exit status.
    Without it the kernel is this process (``start`` should not return)."""
    die_with_parent()
    if settings.mount:
        setup_mounts(settings)
        if os.getpid() == 1:
            mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, None)
    os.chdir(settings.workdir)
    if not settings.init:
        _kernel(settings, start)
        return 0
    pid = os.fork()
    if pid == 0:
        try:
            die_with_parent()
            _kernel(settings, start)
        except BaseException as error:  # the kernel could not start: say why
            print(f"sandbox: the kernel could not start: {error}", file=sys.stderr)
            os._exit(127)
        os._exit(0)
    return supervise(pid, forwarded)


def exit_status(wait_status: int) -> int:
    """A wait status as a shell would report it: the exit code, or 128 + the signal."""
    if os.WIFSIGNALED(wait_status):
        return 128 + os.WTERMSIG(wait_status)
    return os.WEXITSTATUS(wait_status)


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
    """Entry point: ``launcher.py SETTINGS -- ARGV...`` (SETTINGS: a JSON file)."""
    args = sys.argv[1:]
    if len(args) < 3 or args[1] != "--":
        print("usage: launcher.py SETTINGS -- ARGV...", file=sys.stderr)
        return 2
    try:
        settings = SandboxSettings.load(args[0])
    except (OSError, SettingsError) as error:
        print(f"sandbox launcher: bad settings {args[0]}: {error}", file=sys.stderr)
        return 2
    argv = args[2:]
    # SIGINT reaches the kernel through its process group; the others are forwarded.
    return enter(
        settings, lambda: os.execv(argv[0], argv), forwarded=(signal.SIGTERM, signal.SIGHUP)
    )


if __name__ == "__main__":
    sys.exit(main())
