"""Execute a notebook cell by cell in a sandboxed kernel, recording what happened to each cell.

:func:`execute_notebook` starts the kernel behind the sandbox's wrapper (IPC transport, so the
kernel needs no network), runs each code cell with a per-cell and a per-notebook time budget,
snapshots each cell's outputs the moment it finishes (later ``update_display_data`` messages
cannot change what is judged) and runs the tamper probe after every cell. It survives a dead
kernel or a timeout: the cells that finished keep their outputs and the others are recorded as
not run, with the reason ("timed out after 60 s in cell train-model").
"""

from __future__ import annotations

import asyncio
import copy
import json
import logging
import queue
import signal
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat
import zmq
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError

from grader.engine import tamper, words
from grader.engine.outputs import OutputBudget, OutputLimits
from grader.engine.sandbox import PreparedRun, python_executable

KERNEL_NAME = "grader-sandboxed"

logger = logging.getLogger(__name__)

#: How long an interrupted cell may take to give control back before the kernel is killed.
INTERRUPT_GRACE_S = 5.0
#: How long the kernel may take to answer the tamper probe.
PROBE_TIMEOUT_S = 15.0
#: Kernel start budget (imports in a cold sandbox can be slow on a loaded machine).
STARTUP_TIMEOUT_S = 60.0
#: How long a killed kernel's process may take to be gone before shutdown goes on regardless.
KILL_WAIT_S = 5.0

#: Signals whose end of a kernel has words of its own (``exit-<NAME>`` in :mod:`words`).
SIGNAL_WORDS = frozenset(
    {signal.SIGKILL, signal.SIGSEGV, signal.SIGABRT, signal.SIGXCPU, signal.SIGXFSZ, signal.SIGBUS}
)


@dataclass(frozen=True)
class Timeouts:
    """Time budgets in seconds."""

    cell: float = 120.0
    notebook: float = 1800.0


@dataclass
class CellRun:
    """What happened to one code cell."""

    index: int
    status: str  # "ok", "error", "timeout", "died", "not_run", "skipped"
    seconds: float = 0.0
    message: str = ""
    outputs: list[dict[str, Any]] = field(default_factory=list)  # snapshot at completion
    tampered: list[words.Message] = field(default_factory=list)  # found right after this cell


@dataclass
class NotebookRun:
    """The executed notebook and the record of every code cell (by cell index)."""

    notebook: nbformat.NotebookNode
    cells: dict[int, CellRun]
    seconds: float
    kernel_problem: str = ""  # why execution stopped early, if it did
    tampering: list[words.Message] = field(default_factory=list)  # all, first seen first
    first_tampered_index: int | None = None


def describe_exit(code: int | None, language: str = "en") -> str:
    """The kernel's exit status in words ("exited with status 3", "crashed with ..."), in
    ``language``."""
    if code is None:
        return words.say(language, "exit-unresponsive")
    if code < 0 or code > 128:
        number = -code if code < 0 else code - 128
        try:
            sig = signal.Signals(number)
        except ValueError:
            return words.say(language, "exit-signal-number", number=number)
        if sig in SIGNAL_WORDS:
            return words.say(language, f"exit-{sig.name}")
        return words.say(language, "exit-signal-name", signal=sig.name)
    return words.say(language, "exit-status", code=code, calls="sys.exit, os._exit, exit()")


def _exit_code(km: AsyncKernelManager) -> int | None:
    provisioner = km.provisioner
    process = getattr(provisioner, "process", None)
    if process is None:
        return None
    return process.poll()


def _write_kernelspec(run: PreparedRun) -> KernelSpecManager:
    spec_dir = run.runtime_dir / "kernels" / KERNEL_NAME
    spec_dir.mkdir(parents=True, exist_ok=True)
    argv = [
        *run.prefix,
        python_executable(),
        "-P",  # the kernel's own modules from the installed packages, never the working folder
        "-m",
        "ipykernel_launcher",
        "-f",
        "{connection_file}",
        "--HistoryManager.hist_file=:memory:",
    ]
    spec = {"argv": argv, "display_name": "sandboxed", "language": "python", "env": {}}
    (spec_dir / "kernel.json").write_text(json.dumps(spec), encoding="utf-8")
    return KernelSpecManager(kernel_dirs=[str(run.runtime_dir / "kernels")])


def _kernel_manager(run: PreparedRun) -> AsyncKernelManager:
    km = AsyncKernelManager(
        kernel_name=KERNEL_NAME,
        kernel_spec_manager=_write_kernelspec(run),
        transport="ipc",
        ip=str(run.runtime_dir / "k"),
        connection_file=str(run.runtime_dir / "kernel.json"),
    )
    km.write_connection_file()
    if run.uid is not None:
        import os

        os.chown(run.runtime_dir / "kernel.json", run.uid, run.gid or 0)
    return km


async def _request(client: NotebookClient, timeout: float, **content: Any) -> dict | None:
    """Send a silent execute request and wait for its reply; None when none came in time."""
    kc = client.kc
    if kc is None:
        return None
    msg_id = kc.execute("", silent=True, store_history=False, **content)
    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return None
        try:
            msg = await kc.get_shell_msg(timeout=remaining)  # type: ignore[attr-defined]
        except (queue.Empty, zmq.ZMQError, RuntimeError):  # no answer, or a closed channel
            return None
        if msg.get("parent_header", {}).get("msg_id") == msg_id:
            return msg["content"]


class NoAnswer(words.MessageError, RuntimeError):
    """The kernel ended, or stayed silent, before answering: why, as a message of
    :mod:`grader.engine.words` (``message``)."""


async def _until_ready(kc: Any, timeout: float) -> None:
    """Wait until the kernel answers on its shell channel and is heard on IOPub.

    jupyter_client's ``wait_for_ready`` does the same, then waits for 0.2 s of silence on IOPub
    to drop the start's messages: a third of a forked kernel's start, spent idle. Every message
    of a cell or of the probe is matched to its own request here (nbclient reads a cell's
    outputs by its request's id), so those early messages cannot be mistaken for a cell's.
    Raises :class:`NoAnswer` when the kernel ends or does not answer within ``timeout``
    seconds."""
    deadline = time.monotonic() + timeout
    while True:
        kc.kernel_info()
        try:
            reply = await kc.get_shell_msg(timeout=1)
        except queue.Empty:
            reply = None
        if reply is not None and reply["msg_type"] == "kernel_info_reply":  # any request's
            try:
                await kc.get_iopub_msg(timeout=0.2)  # IOPub is connected: it hears the kernel
                return
            except queue.Empty:
                pass  # not yet subscribed: ask again
        if not await kc.is_alive():
            raise NoAnswer("ended-before-answering")
        if time.monotonic() > deadline:
            raise NoAnswer("silent-at-start", seconds=round(timeout))


async def _killed(km: AsyncKernelManager) -> bool:
    """Kill the kernel's process and reap it, polling every 5 ms (jupyter_client's own kill
    polls every 100 ms, most of which is idle once the process is gone); whether it is gone."""
    provisioner = km.provisioner
    if provisioner is None or not km.has_kernel:
        return False
    await provisioner.kill()
    deadline = time.monotonic() + KILL_WAIT_S
    while await provisioner.poll() is None:
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.005)
    return True


class BoundedClient(NotebookClient):
    """nbclient's client with every cell's outputs bounded as they arrive (:mod:`outputs`), and
    a kernel start that does not wait for silence (:func:`_until_ready`)."""

    def __init__(
        self, nb: nbformat.NotebookNode, limits: OutputLimits, language: str, **kw: Any
    ) -> None:
        super().__init__(nb, **kw)
        self.limits = limits
        self.language = language  # of the notes on what was cut
        self.budgets: dict[int, OutputBudget] = {}

    async def async_start_new_kernel_client(self) -> Any:
        """Connect to the kernel started by :attr:`km` and wait until it answers."""
        assert self.km is not None
        self.kc = self.km.client()
        self.kc.start_channels()
        await _until_ready(self.kc, self.startup_timeout)
        self.kc.allow_stdin = False
        return self.kc

    def output(
        self,
        outs: list[nbformat.NotebookNode],
        msg: dict[str, Any],
        display_id: str | None,
        cell_index: int,
    ) -> nbformat.NotebookNode | None:
        """Let nbclient build the output, then keep only what the cell's budget allows."""
        out = super().output(outs, msg, display_id, cell_index)
        if out is None or not outs or outs[-1] is not out:
            return out
        outs.pop()
        if not outs:  # nothing held (first output, or after clear_output): a fresh budget
            self.budgets[cell_index] = OutputBudget(self.limits, self.language)
        budget = self.budgets.setdefault(cell_index, OutputBudget(self.limits, self.language))
        budget.admit(out, outs)
        return out


class _Recorder:
    """Collects execute replies through nbclient's ``on_cell_executed`` hook."""

    def __init__(self) -> None:
        self.replies: dict[int, dict[str, Any]] = {}

    def __call__(self, cell: Any, cell_index: int, execute_reply: dict[str, Any]) -> None:
        self.replies[cell_index] = execute_reply.get("content", {}) if execute_reply else {}


class _Execution:
    """One notebook's run in one kernel: the kernel, its client, and what happened so far.

    :meth:`run` starts the kernel, takes the probe's baseline, runs each code cell
    (:meth:`_run_cell`) until the notebook ends or a cell stops it, and always shuts the kernel
    down; cells never reached are recorded as not run, with the reason.
    """

    def __init__(
        self,
        nb: nbformat.NotebookNode,
        run: PreparedRun,
        timeouts: Timeouts,
        trusted_prefixes: Sequence[str],
        log_path: Path,
        limits: OutputLimits,
        language: str,
    ) -> None:
        self.nb = nb
        self.language = language  # of the messages on cells that did not end well
        self.run_dir = run.runtime_dir
        self.env = run.env
        self.timeouts = timeouts
        self.log_path = log_path
        self.started = time.monotonic()
        self.deadline = self.started + timeouts.notebook
        self.recorder = _Recorder()
        self.km = _kernel_manager(run)
        self.client = BoundedClient(
            nb,
            limits,
            language,
            km=self.km,
            timeout=int(timeouts.cell),
            allow_errors=True,
            interrupt_on_timeout=False,
            raise_on_iopub_timeout=False,
            iopub_timeout=4,
            startup_timeout=int(STARTUP_TIMEOUT_S),
            record_timing=False,
            on_cell_executed=self.recorder,
        )
        self.cells: dict[int, CellRun] = {}
        self.tampering: list[words.Message] = []
        self.first_tampered: int | None = None
        self.problem = ""
        self.expression = tamper.probe_expression([*trusted_prefixes, f"{run.runtime_dir}/pylib/"])
        self.baseline: dict[str, Any] | None = None
        self.code_indices = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"]

    async def run(self) -> NotebookRun:
        """Run every code cell; the record of each, whatever happened to the kernel."""
        log = self.log_path.open("wb")
        try:
            await self.client.async_start_new_kernel(
                cwd=str(self.run_dir), env=self.env, stdout=log, stderr=log
            )
            await self.client.async_start_new_kernel_client()
            await self._probe(None)
            for index in self.code_indices:
                problem = await self._run_cell(index)
                if problem is not None:
                    self.problem = problem
                    break
        except RuntimeError as error:  # the kernel did not start
            why = error.message.text(self.language) if isinstance(error, NoAnswer) else error
            log.flush()
            tail = self.log_path.read_bytes()[-400:].decode("utf-8", "replace").strip()
            if tail:
                said = self._say("kernel-not-started-log", error=why, log=tail.splitlines()[-1])
            else:
                said = self._say("kernel-not-started", error=why)
            self.problem = self.problem or said
        finally:
            await self._shut_down()
            log.close()
        return self._result()

    async def _probe(self, after: int | None) -> None:
        """Ask the kernel the integrity probe; the first answer is the baseline, later ones'
        new findings are recorded on cell ``after``."""
        reply = await _request(
            self.client, PROBE_TIMEOUT_S, user_expressions={"probe": self.expression}
        )
        try:
            if reply is None:
                raise tamper.ProbeError("probe-no-answer")
            report = tamper.parse_reply(reply)
        except tamper.ProbeError as error:
            found = [error.message]
        else:
            if self.baseline is None:
                self.baseline = report
            found = tamper.findings(self.baseline, report)
        new = [f for f in found if f not in self.tampering]
        if after is not None and new:
            self.cells[after].tampered = new
            self.tampering.extend(new)
            if self.first_tampered is None:
                self.first_tampered = after

    async def _run_cell(self, index: int) -> str | None:
        """Run code cell ``index`` and record it; why the notebook stops here, or None."""
        cell = self.nb.cells[index]
        if not cell.source.strip():
            self.cells[index] = CellRun(index, "skipped")
            return None
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            return self._say("notebook-time-reached", seconds=self.timeouts.notebook)
        budget = min(self.timeouts.cell, remaining)
        self.client.timeout = max(1, int(budget + 0.999))
        t0 = time.monotonic()
        try:
            await self.client.async_execute_cell(cell, index, store_history=True)
        except CellTimeoutError:
            return await self._timed_out(index, budget, time.monotonic() - t0)
        except DeadKernelError:
            seconds = time.monotonic() - t0
            await asyncio.sleep(0.2)
            how = describe_exit(_exit_code(self.km), self.language)
            what = self._say("kernel-died-in", how=how, cell=_label(cell, index))
            self.cells[index] = CellRun(index, "died", seconds, what, copy.deepcopy(cell.outputs))
            return what
        seconds = time.monotonic() - t0
        reply = self.recorder.replies.get(index, {})
        status = "ok" if reply.get("status") == "ok" else "error"
        message = ""
        if status == "error":
            message = f"{reply.get('ename', 'Error')}: {reply.get('evalue', '')}".strip()
        self.cells[index] = CellRun(index, status, seconds, message, copy.deepcopy(cell.outputs))
        await self._probe(index)
        if not await self.km.is_alive():
            how = describe_exit(_exit_code(self.km), self.language)
            return self._say("kernel-died-after", how=how, index=index)
        return None

    async def _timed_out(self, index: int, budget: float, seconds: float) -> str | None:
        """Record cell ``index`` as timed out; interrupt the kernel when the cell's own budget
        (not the notebook's) ran out, and stop when it does not answer within the grace."""
        cell = self.nb.cells[index]
        by_notebook = budget < self.timeouts.cell
        label = _label(cell, index)
        what = (
            self._say("notebook-time-ran-out", seconds=self.timeouts.notebook, cell=label)
            if by_notebook
            else self._say("cell-timed-out", seconds=budget, cell=label)
        )
        self.cells[index] = CellRun(index, "timeout", seconds, what, copy.deepcopy(cell.outputs))
        if by_notebook:
            return what
        await self.km.interrupt_kernel()
        if await _request(self.client, INTERRUPT_GRACE_S) is None:
            return self._say("not-interruptible", what=what)
        return None

    def _say(self, message_id: str, /, **fields: Any) -> str:
        return words.say(self.language, message_id, **fields)

    async def _shut_down(self) -> None:
        try:
            if self.km.has_kernel:
                if await _killed(self.km):  # no signal to a process group that is gone
                    await self.km.cleanup_resources()
                else:
                    await self.km.shutdown_kernel(now=True)
        except (RuntimeError, OSError) as error:  # already gone
            logger.debug("kernel shutdown: %s", error)
        if self.client.kc is not None:
            self.client.kc.stop_channels()

    def _result(self) -> NotebookRun:
        for index in self.code_indices:
            if index not in self.cells:
                message = self.problem or self._say("not-run")
                self.cells[index] = CellRun(index, "not_run", message=message)
        return NotebookRun(
            notebook=self.nb,
            cells=self.cells,
            seconds=time.monotonic() - self.started,
            kernel_problem=self.problem,
            tampering=self.tampering,
            first_tampered_index=self.first_tampered,
        )


def _label(cell: nbformat.NotebookNode, index: int) -> str:
    """How messages name a cell: its grade id, else its position."""
    return cell.metadata.get("nbgrader", {}).get("grade_id") or f"#{index}"


def execute_notebook(
    nb: nbformat.NotebookNode,
    run: PreparedRun,
    timeouts: Timeouts,
    trusted_prefixes: Sequence[str],
    limits: OutputLimits | None = None,
    language: str = "en",
) -> NotebookRun:
    """Run every code cell of ``nb`` (modified in place) in the prepared sandbox, each cell's
    outputs bounded by ``limits``; what went wrong is worded in ``language``, the notebook's."""
    log_path = run.runtime_dir / "kernel.log"
    execution_limits = limits or OutputLimits()

    async def in_loop() -> NotebookRun:
        # the kernel manager and its client are made inside the event loop that runs them
        execution = _Execution(
            nb, run, timeouts, trusted_prefixes, log_path, execution_limits, language
        )
        return await execution.run()

    return asyncio.run(in_loop())
