"""Warm kernels: a zygote imports the assignment's heavy libraries once and forks every kernel.

Which libraries: those of :data:`PRELOADABLE` that the assignment's source notebooks import
(:func:`preload_for`), plus the kernel itself (``ipykernel``). Where the zygote runs: grading in
this process or on a local cluster, one zygote of the grading process serves every worker of the
machine (:func:`zygote`, a context manager that starts it at once, so that its imports overlap
the cluster's start); on an existing cluster, each worker starts its own (:class:`ZygotePlugin`).
A zygote dies with the process that started it and forks one sandboxed kernel per notebook; no
kernel is ever reused. Grading without a zygote (``--cold``, or where the sandbox runs without
root) starts each kernel from scratch, with the same sandbox and the same results.
"""

from __future__ import annotations

import ast
import asyncio
import contextlib
import functools
import importlib
import logging
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path

from distributed.diagnostics.plugin import WorkerPlugin

from grader.engine import scratch
from grader.engine.sandbox import IMPORT_ENVIRONMENT

log = logging.getLogger(__name__)

ZYGOTE = Path(__file__).with_name("zygote.py")
PLUGIN_NAME = "grader-zygote"
#: What a worker runs for each submission; its imports take seconds, so workers do them early.
GRADING_MODULE = "grader.engine.task"

#: Libraries worth importing once instead of once per notebook (seconds each): the name a
#: notebook imports -> the module the zygote imports.
PRELOADABLE = {
    "numpy": "numpy",
    "torch": "torch",
    "tensorflow": "tensorflow",
    "keras": "keras",
    "lightning": "lightning",
    "sklearn": "sklearn",
    "scipy": "scipy",
    "matplotlib": "matplotlib.pyplot",  # with the kernels' backend (Agg), no figure yet
}
#: Always preloaded: the kernel's own modules.
KERNEL_IMPORTS = ("ipykernel.kernelapp",)
#: How long the zygote may take to import its libraries.
START_TIMEOUT_S = 600.0


def _imported(source: str) -> set[str]:
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module.split(".")[0])
    return found


def preload_for(sources: Iterable[str]) -> tuple[str, ...]:
    """The preloadable libraries that these code sources import, and the kernel's modules."""
    wanted: set[str] = set()
    for source in sources:
        wanted |= _imported(source)
    return (*(module for name, module in PRELOADABLE.items() if name in wanted), *KERNEL_IMPORTS)


def zygote_environment(extra: Mapping[str, str]) -> dict[str, str]:
    """The zygote's environment: what libraries read when imported must already be the kernels'
    (the sandbox's ``IMPORT_ENVIRONMENT``, and the thread counts in ``extra``), whatever the
    grader's own environment says."""
    env = dict(os.environ)
    env.update(IMPORT_ENVIRONMENT)
    env.update(extra)
    return env


def start_zygote(
    modules: Iterable[str], env: Mapping[str, str] | None = None
) -> tuple[subprocess.Popen[str], Path]:
    """Start a zygote importing ``modules``; returns the process and its socket's path. The
    zygote dies with the thread that calls this, so call it from a long-lived one."""
    folder = scratch.make("zygote")
    folder.chmod(0o700)  # only the grader reaches the socket (kernels do not even see /tmp)
    process = subprocess.Popen(
        [sys.executable, str(ZYGOTE), str(folder / "socket"), *modules],
        env=zygote_environment(env or {}),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        text=True,
    )
    return process, folder / "socket"


def wait_ready(process: subprocess.Popen[str], path: Path, modules: Sequence[str]) -> str | None:
    """Block until the zygote has imported its libraries; its socket's path, or None (with a
    warning) when it died first: grading goes on with cold kernels."""
    assert process.stdout is not None
    if process.stdout.readline().strip() != "ready":
        log.warning(
            "the kernel zygote did not start (exit status %s); kernels start without preloaded "
            "libraries",
            process.poll(),
        )
        return None
    log.info("kernel zygote ready with %s", ", ".join(modules))
    return str(path)


def stop_zygote(process: subprocess.Popen[str], path: Path) -> None:
    """Stop the zygote (its kernels end with their own clients) and remove its folder."""
    process.kill()
    process.wait()
    if process.stdout is not None:
        process.stdout.close()
    shutil.rmtree(path.parent, ignore_errors=True)


@contextlib.contextmanager
def zygote(
    modules: Sequence[str], env: Mapping[str, str] | None = None
) -> Iterator[Callable[[], str | None]]:
    """A zygote that starts importing ``modules`` now, while the caller goes on (starting a
    cluster, reading submissions). Yields a function that waits until it is ready and returns
    its socket's path, or None when it could not start (:func:`wait_ready`). Stopped on exit."""
    process, path = start_zygote(modules, env)
    try:
        yield functools.cache(functools.partial(wait_ready, process, path, modules))
    finally:
        stop_zygote(process, path)


class ZygotePlugin(WorkerPlugin):
    """A Dask worker plugin: a zygote for the worker's life (``setup`` / ``teardown``).

    The zygote is started on the worker's event-loop thread (it dies with that thread, that is
    with the worker) and its imports are awaited off the loop, so the worker stays responsive.
    """

    name = PLUGIN_NAME

    def __init__(self, modules: tuple[str, ...], env: Mapping[str, str]) -> None:
        self.modules = modules
        self.env = dict(env)
        self.socket: str | None = None
        self._running: tuple[subprocess.Popen[str], Path] | None = None

    async def setup(self, worker: object) -> None:
        """Start the zygote (called by Dask on each worker), after removing the scratch folders
        of graders killed on this machine before."""
        scratch.sweep()
        self._running = start_zygote(self.modules, self.env)
        loop = asyncio.get_running_loop()
        # the grading code's imports (seconds) overlap the zygote's, not the first submission
        await loop.run_in_executor(None, importlib.import_module, GRADING_MODULE)
        self.socket = await loop.run_in_executor(None, wait_ready, *self._running, self.modules)

    def teardown(self, worker: object) -> None:
        """Stop the zygote."""
        if self._running is not None:
            stop_zygote(*self._running)
        self._running = None
        self.socket = None


def worker_zygote() -> str | None:
    """The socket of this Dask worker's zygote, when this runs in a task that has one."""
    try:
        from distributed import get_worker

        worker = get_worker()
    except (ImportError, ValueError):
        return None
    plugin = worker.plugins.get(PLUGIN_NAME)
    return getattr(plugin, "socket", None)
