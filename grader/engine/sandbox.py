"""The sandbox one submission's kernel runs in: namespaces, hidden folders, user and limits.

:func:`probe` finds out once what this machine allows (root? ``unshare``? ``setpriv``?);
:class:`Sandbox` is a context manager that prepares one run (a staged working folder, a runtime
folder for the kernel's connection file and IPC sockets, the launcher's settings) and
yields the command line that wraps the kernel. Every protection that cannot be applied is named
in :attr:`Capabilities.missing`; the engine reports those once and carries on.

Layers, outermost first: ``unshare`` (network, mount, PID and IPC namespaces; a user namespace
when not root) -> ``launcher.py`` (tmpfs over hidden folders, read-only binds back of the
interpreter and virtual environment, a tmpfs working folder, PID 1 that kills the namespace
when the kernel ends; in the kernel's process resource limits, another user, no capabilities,
``no_new_privs``: :func:`grader.engine.launcher.enter`, the one way into the sandbox, which the
zygote's forked kernels take too) -> the kernel. Its settings are one typed description,
:class:`grader.engine.launcher.SandboxSettings`, written as JSON for the launcher or zygote.

Sealed data (:mod:`grader.engine.sealed`): every run gets a read-only folder of the course's
datasets without hidden labels, named by ``GRADER_SEALED_DATA``, and the dataset files bundled
with scikit-learn and SciPy, and ``/usr/share/datasets``, are masked by empty tmpfs mounts, so
that neither ``grader.data`` nor ``sklearn.datasets.load_iris()`` can give the kernel the
hidden split's labels.
"""

from __future__ import annotations

import fcntl
import os
import pwd
import shutil
import signal
import subprocess
import sys
import sysconfig
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

from grader.data import SEALED_ENV
from grader.engine import scratch
from grader.engine.launcher import NAMESPACES, Exposed, Hidden, ResourceLimits, SandboxSettings
from grader.engine.sealed import SEALED_DATASETS, write_sealed
from grader.kernel_environment import KERNEL_ENVIRONMENT

LAUNCHER = Path(__file__).with_name("launcher.py")
ZYGOTE_CLIENT = Path(__file__).with_name("zygote_client.py")

#: ``unshare``'s options for the sandbox's namespaces (network, mount, PID, IPC).
UNSHARE_OPTIONS = tuple(option for option, _flag in NAMESPACES.values())

#: Where the system's administration programs live (``useradd``), whatever ``PATH`` says.
SYSTEM_PROGRAMS = "/usr/local/sbin:/usr/sbin:/sbin"

#: Folders hidden from every kernel besides the course root (when they exist).
DEFAULT_HIDDEN = ("/root", "/home", "/tmp", "/var/tmp", "/dev/shm", "/run", "/mnt", "/media")

#: Dataset files shipped inside installed packages (relative to a site-packages folder) that
#: hold the labels of public datasets the course splits; masked in every kernel.
BUNDLED_DATASETS = (
    "sklearn/datasets/data",
    "sklearn/datasets/descr",
    "scipy/io/arff/tests/data",
    "scipy/spatial/tests/data",
)

#: System folders of datasets masked in every kernel (Debian's dataset-* packages).
SYSTEM_DATASETS = ("/usr/share/datasets",)

#: Modules of this package that test cells import inside the kernel; nothing else is copied.
KERNEL_SIDE_FILES = (
    "__init__.py", "evidence.py", "measures.py", "data.py", "datacache.py", "steady.py", "checks"
)  # fmt: skip

#: Environment variables passed from the grader to the kernel (all others are dropped).
PASSED_ENV = (
    "LANG",
    "LC_ALL",
    "TZ",
    "CUDA_VISIBLE_DEVICES",
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "TF_NUM_INTEROP_THREADS",
    "TF_NUM_INTRAOP_THREADS",
    "GRADER_DATA_DIR",
)


#: What the libraries of a sandboxed kernel read when they are imported: the hash seed, the
#: log level, the plotting backend and the course's settings for TensorFlow's numbers. The
#: zygote imports them with the same (:func:`grader.engine.warm.zygote_environment`).
IMPORT_ENVIRONMENT = {
    "PYTHONHASHSEED": "0",
    "PYTHONDONTWRITEBYTECODE": "1",
    "MPLBACKEND": "Agg",
    "TF_CPP_MIN_LOG_LEVEL": "2",
    **KERNEL_ENVIRONMENT,
}


#: Concurrent sandboxed kernels on one machine: each holds its own user (``grader-sandbox-K``),
#: so that the process limit (RLIMIT_NPROC, counted per user) of one student never binds another.
USER_SLOTS = 64
#: How long what is left of a slot user's earlier kernel may take to die.
SLOT_CLEAR_TIMEOUT_S = 10.0
#: Where the slots' lock files live: one folder for the whole machine, whatever ``TMPDIR`` says.
SLOT_LOCKS = Path(
    "/run/lock/grader-sandbox" if os.access("/run/lock", os.W_OK) else "/tmp/grader-sandbox"
)


class SandboxError(RuntimeError):
    """The sandbox could not be prepared (the reason is in the message)."""


@dataclass(frozen=True)
class Limits:
    """Resource limits applied to the kernel and everything it starts (``setrlimit``)."""

    memory_bytes: int | None = 6 * 2**30  # address space per process (RLIMIT_AS)
    processes: int | None = 1024  # threads and processes of the sandbox user (RLIMIT_NPROC)
    file_bytes: int | None = 256 * 2**20  # largest file written (RLIMIT_FSIZE)
    cpu_seconds: int | None = 3600  # CPU time per process (RLIMIT_CPU)
    open_files: int | None = 4096
    work_size: str = "512m"  # tmpfs size of the working folder
    tmp_size: str = "256m"  # tmpfs size of /tmp

    def as_rlimits(self, with_nproc: bool) -> ResourceLimits:
        """The kernel's ``setrlimit`` limits; NPROC only applies to a user of the sandbox's own."""
        return ResourceLimits(
            address_space=self.memory_bytes,
            processes=self.processes if with_nproc else None,
            file_size=self.file_bytes,
            cpu_seconds=self.cpu_seconds,
            open_files=self.open_files,
            core_size=0,
        )


@dataclass(frozen=True)
class SandboxPolicy:
    """What to protect, for one course. Immutable; share it between submissions."""

    hidden: tuple[str, ...] = ()  # course root, gradebook, ... (added to DEFAULT_HIDDEN)
    exposed: tuple[str, ...] = ()  # extra read-only paths the kernel may read (datasets)
    user: str = "grader-sandbox"  # the unprivileged user (created when missing, as root)
    limits: Limits = field(default_factory=Limits)
    enabled: bool = True  # False: no namespaces, no user switch (limits still apply)
    sealed_datasets: tuple[str, ...] = SEALED_DATASETS  # written for grader.data (sealed mode)


@dataclass(frozen=True)
class Capabilities:
    """What this machine lets the sandbox do (found once by :func:`probe`)."""

    root: bool
    unshare: str | None  # path of unshare when namespaces work
    user_namespace: bool  # namespaces need ``unshare -r`` (not root)
    setpriv: str | None
    missing: tuple[str, ...]  # protections that are off, in words
    refusal: str | None = None  # why grading must not start (the sandbox cannot be applied)

    def require(self) -> None:
        """Fail closed: raise :class:`SandboxError` when the sandbox cannot be applied."""
        if self.refusal:
            raise SandboxError(self.refusal)


def _works(argv: Sequence[str]) -> bool:
    try:
        done = subprocess.run(argv, capture_output=True, timeout=20, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def probe(policy: SandboxPolicy) -> Capabilities:
    """Find out which protections work here, by trying them once (costs ~50 ms)."""
    root = os.geteuid() == 0
    unshare = shutil.which("unshare")
    setpriv = shutil.which("setpriv")
    missing: list[str] = []
    user_ns = False
    if not policy.enabled:
        return Capabilities(
            root,
            None,
            False,
            None,
            (
                "sandbox disabled by configuration (no namespaces, no user switch; "
                "dataset files bundled with scikit-learn stay readable, so hidden labels of "
                "public datasets can be looked up)",
            ),
        )
    base = [*UNSHARE_OPTIONS, "-f", "--mount-proc", "--kill-child"]
    if unshare and root and _works([unshare, *base, "true"]):
        pass
    elif unshare and _works([unshare, "-r", *base, "true"]):
        user_ns = True
    else:
        unshare = None
        missing.append(
            "no namespaces (unshare unavailable or not permitted): the kernel could reach the "
            "network, see the course folder and read the dataset files bundled with "
            "scikit-learn (hidden labels of public datasets could be looked up)"
        )
    if not setpriv:
        missing.append("setpriv (util-linux) not found: kernels are not tied to the grader's life")
    if not root:
        missing.append("not running as root: the kernel runs as the grader's own user")
    refusal = None
    if unshare is None or setpriv is None:
        refusal = (
            "the sandbox cannot be applied on this machine: "
            + "; ".join(m for m in missing if not m.startswith("not running as root"))
            + ". Install util-linux (unshare, setpriv) and run as root or with user namespaces "
            "enabled, or pass --no-sandbox to grade without it (student code then runs with "
            "the grader's rights)"
        )
    return Capabilities(root, unshare, user_ns, setpriv, tuple(missing), refusal)


def ensure_user(name: str) -> tuple[int, int]:
    """The uid and gid of the sandbox user, created (no home, no login) when missing."""
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        # root's own programs: also where a service's PATH leaves out the sbin folders
        useradd = shutil.which("useradd") or shutil.which("useradd", path=SYSTEM_PROGRAMS)
        if not useradd:
            raise SandboxError(f"user {name!r} is missing and useradd is not available") from None
        for _attempt in range(50):
            done = subprocess.run(
                [useradd, "-M", "-r", "-s", "/usr/sbin/nologin", name],
                capture_output=True,
                text=True,
                check=False,
            )
            if done.returncode != 10:  # 10: /etc/passwd locked by a concurrent useradd
                break
            time.sleep(0.1)
        if done.returncode not in (0, 9):  # 9: created meanwhile by another worker
            raise SandboxError(f"useradd {name} failed: {done.stderr.strip()}") from None
        entry = pwd.getpwnam(name)
    return entry.pw_uid, entry.pw_gid


@contextmanager
def user_slot(base: str, lock_dir: Path | None = None) -> Iterator[str]:
    """Hold one sandbox user of the pool ``BASE-0`` .. ``BASE-63`` for the length of a run.

    A slot is an exclusive ``flock`` on a file, so concurrent graders (Dask workers are separate
    processes) never run two kernels under one user; the lock goes with the process that held
    it, however it ends.
    """
    folder = lock_dir or SLOT_LOCKS
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    for slot in range(USER_SLOTS):
        handle = (folder / f"{base}-{slot}.lock").open("a")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            continue
        try:
            yield f"{base}-{slot}"
        finally:
            handle.close()  # releases the lock
        return
    raise SandboxError(f"all {USER_SLOTS} sandbox users are busy; run fewer graders at once")


def processes_of(uid: int) -> list[int]:
    """The processes (zombies included) whose ``/proc`` entry belongs to ``uid``."""
    found = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                if entry.stat().st_uid == uid:
                    found.append(int(entry.name))
            except FileNotFoundError:  # it ended while we looked
                continue
    return found


def end_processes_of(uid: int, timeout: float = SLOT_CLEAR_TIMEOUT_S) -> None:
    """Kill what is left under the sandbox user ``uid`` and wait until it is gone, so that each
    kernel starts its user with no process: the children of an earlier kernel (a fork bomb's,
    say) die after their kernel ends, and would count against the next one's process limit.
    Raises :class:`SandboxError` if they outlast ``timeout`` seconds."""
    if uid == 0:
        raise SandboxError("refusing to clear the processes of root")
    deadline = time.monotonic() + timeout
    while left := processes_of(uid):
        if time.monotonic() > deadline:
            raise SandboxError(f"processes of sandbox user {uid} do not end: {left[:5]}")
        for pid in left:
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.05)


def kernel_python_path(staging: Path) -> Path:
    """Copy the kernel-side modules of ``grader`` (checks, evidence, data) into ``staging``.

    The kernel imports ``grader.checks`` from this copy; the engine, the quiz module and the
    rest of the course stay out of its reach.
    """
    package = Path(__file__).resolve().parent.parent
    target = staging / "grader"
    target.mkdir(parents=True, exist_ok=True)
    for name in KERNEL_SIDE_FILES:
        source = package / name
        if source.is_dir():
            shutil.copytree(
                source, target / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
            )
        elif source.is_file():
            shutil.copy2(source, target / name)
    return staging


def python_executable() -> str:
    """The engine's interpreter as an absolute path (the virtual environment's, not resolved)."""
    return os.path.abspath(sys.executable)


def _site_packages() -> set[Path]:
    """The site-packages folders of the virtual environment and of its base interpreter."""
    folders: set[Path] = set()
    for base in {sys.prefix, sys.exec_prefix, sys.base_prefix, sys.base_exec_prefix}:
        paths = sysconfig.get_paths(vars={"base": base, "platbase": base})
        folders.update(Path(paths[key]) for key in ("purelib", "platlib"))
    return folders


def dataset_mask_paths() -> list[str]:
    """Folders of dataset files to mask in the kernel (those that exist on this machine)."""
    found = {
        str(site / relative)
        for site in _site_packages()
        for relative in BUNDLED_DATASETS
        if (site / relative).is_dir()
    }
    found.update(p for p in SYSTEM_DATASETS if Path(p).is_dir())
    return sorted(found)


def interpreter_paths() -> list[str]:
    """The interpreter's and the virtual environment's folders (prefixes, standard library,
    site-packages): bound read-only into the sandbox, trusted by the tamper probe."""
    paths = {sys.prefix, sys.exec_prefix, sys.base_prefix, sys.base_exec_prefix}
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        value = sysconfig.get_paths().get(key)
        if value:
            paths.add(value)
    executable = Path(sys.executable).resolve()
    paths.add(str(executable.parent.parent))
    return sorted(paths)


@dataclass(frozen=True)
class PreparedRun:
    """One sandboxed run, ready to start: the wrapper command line and its folders."""

    prefix: list[str]  # put in front of the kernel's argv
    runtime_dir: Path  # connection file and IPC sockets (shared with the kernel)
    stage_dir: Path  # files copied into the working folder
    workdir: str  # the kernel's working folder, as the kernel sees it
    env: dict[str, str]  # the kernel's whole environment
    uid: int | None
    gid: int | None


class Sandbox:
    """Prepare sandboxed runs under one policy (holds no state between runs).

    ``Sandbox(policy, capabilities).run(files)`` is a context manager that stages ``files``
    (destination name -> source path), yields a :class:`PreparedRun` and removes its temporary
    folders afterwards.
    """

    def __init__(
        self,
        policy: SandboxPolicy,
        capabilities: Capabilities,
        sealed: Mapping[str, bytes] | None = None,
    ) -> None:
        self.policy = policy
        self.capabilities = capabilities
        self.sealed = sealed  # the sealed datasets' files, computed once (else computed here)

    def _user(self, stack: ExitStack) -> tuple[int | None, int | None]:
        """A user of the pool, held until ``stack`` closes (None: no user switch here)."""
        if not (self.capabilities.root and self.capabilities.unshare):
            return None, None
        uid, gid = ensure_user(stack.enter_context(user_slot(self.policy.user)))
        end_processes_of(uid)
        return uid, gid

    def _environment(self, workdir: str, runtime: Path, extra: Mapping[str, str]) -> dict[str, str]:
        bindir = str(Path(python_executable()).parent)
        env = {key: os.environ[key] for key in PASSED_ENV if key in os.environ}
        env.update(
            {
                "PATH": f"{bindir}:/usr/local/bin:/usr/bin:/bin",
                "HOME": workdir,
                "PYTHONPATH": str(runtime / "pylib"),
                "PYTHONNOUSERSITE": "1",
                "MPLCONFIGDIR": f"{workdir}/.config/matplotlib",
                "IPYTHONDIR": f"{workdir}/.ipython",
                "JUPYTER_RUNTIME_DIR": str(runtime),
                "JUPYTER_PLATFORM_DIRS": "1",
                "NBGRADER_EXECUTION": "autograde",
                **IMPORT_ENVIRONMENT,
            }
        )
        env.setdefault("LANG", "C.UTF-8")
        env.update(extra)
        return env

    @contextmanager
    def run(
        self,
        files: Mapping[str, Path],
        env: Mapping[str, str] | None = None,
        zygote: str | None = None,
    ) -> Iterator[PreparedRun]:
        """Stage ``files`` and yield the prepared run; temporary folders go away afterwards.

        With ``zygote`` (the socket of a :mod:`grader.engine.zygote`), the kernel is forked from
        it into the same sandbox instead of started from scratch (root only)."""
        stack = ExitStack()
        try:
            uid, gid = self._user(stack)
        except BaseException:
            stack.close()
            raise
        runtime = scratch.make("kernel")
        sealed = runtime / "sealed"
        try:
            stage = self._stage(runtime, files)
            write_sealed(sealed, self.policy.sealed_datasets, self.sealed)
            namespaced = self.capabilities.unshare is not None
            workdir = "/tmp/work" if namespaced else str(stage)
            if uid is not None and gid is not None:  # the kernel's sockets go here
                os.chown(runtime, uid, gid)
            runtime.chmod(0o755)
            settings = self.settings(runtime, stage, workdir, uid, gid)
            settings_path = runtime / "sandbox.json"
            settings_path.write_text(settings.to_json(), encoding="utf-8")
            yield PreparedRun(
                prefix=self._prefix(settings_path, zygote),
                runtime_dir=runtime,
                stage_dir=stage,
                workdir=workdir,
                env=self._environment(workdir, runtime, {**(env or {}), SEALED_ENV: str(sealed)}),
                uid=uid,
                gid=gid,
            )
        finally:
            if sealed.is_dir():
                sealed.chmod(0o755)  # read-only for the kernel; removable for the grader
            shutil.rmtree(runtime, ignore_errors=True)
            stack.close()

    @staticmethod
    def _stage(runtime: Path, files: Mapping[str, Path]) -> Path:
        """Copy ``files`` into ``runtime/stage`` and the kernel-side modules into
        ``runtime/pylib``; the stage folder."""
        stage = runtime / "stage"
        stage.mkdir()
        for name, source in files.items():
            destination = stage / name
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, destination)
        kernel_python_path(runtime / "pylib")
        return stage

    def settings(
        self, runtime: Path, stage: Path, workdir: str, uid: int | None, gid: int | None
    ) -> SandboxSettings:
        """What the launcher or the zygote applies (:func:`grader.engine.launcher.enter`):
        mounts, masks, the user, capabilities, the limits."""
        namespaced = self.capabilities.unshare is not None
        return SandboxSettings(
            mount=namespaced,
            init=namespaced,
            stage=str(stage) if namespaced else None,
            workdir=workdir,
            work_size=self.policy.limits.work_size,
            hide=tuple(
                Hidden(p, mode="1777", size=self.policy.limits.tmp_size)
                if p in ("/tmp", "/var/tmp", "/dev/shm")
                else Hidden(p)
                for p in sorted({*DEFAULT_HIDDEN, *self.policy.hidden})
            ),
            expose=(
                *(Exposed(p) for p in interpreter_paths()),
                *(Exposed(p) for p in self.policy.exposed),
                Exposed(str(runtime), readonly=False),
                Exposed(str(runtime / "sealed")),
            ),
            mask=tuple(dataset_mask_paths()),
            uid=uid,
            gid=gid,
            drop_caps=namespaced,
            limits=self.policy.limits.as_rlimits(with_nproc=uid is not None),
        )

    def _prefix(self, settings_path: Path, zygote: str | None) -> list[str]:
        """The wrapper put in front of the kernel's command line.

        The whole chain dies with the thread that starts it (the grader): setpriv sets the
        parent-death signal and execs unshare, whose --kill-child takes the launcher, PID 1 of
        the namespace, and with it every process of the student."""
        caps = self.capabilities
        namespaced = caps.unshare is not None
        prefix: list[str] = []
        if caps.setpriv:
            prefix = [caps.setpriv, "--pdeathsig", "KILL", "--"]
        if zygote and namespaced and caps.root:
            prefix += [python_executable(), "-I", str(ZYGOTE_CLIENT), zygote]
            prefix += [str(settings_path), "--"]
        elif namespaced:
            prefix.append(caps.unshare or "unshare")
            if caps.user_namespace:
                prefix.append("-r")
            prefix += [*UNSHARE_OPTIONS, "-f", "--mount-proc", "--kill-child", "--"]
            prefix += [python_executable(), "-I", str(LAUNCHER), str(settings_path), "--"]
        else:
            prefix += [python_executable(), "-I", str(LAUNCHER), str(settings_path), "--"]
        return prefix
