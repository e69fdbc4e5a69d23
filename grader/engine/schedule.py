"""Many submissions at once on a Dask cluster: a local one by default, or one given by address.

The unit of work is one submission (:func:`grader.engine.task.grade_files`). The client sends
the assignment's plan to the workers once, submits one task per student and yields each
outcome as it finishes, in the order they finish: a :class:`GradedSubmission`, or a
:class:`GradingFailure` carrying the error and its traceback when the task raised, or its
worker died with it more often than the scheduler allows (``KilledWorker``). A task Dask lost
without an error of its own is submitted again. Nothing here writes: the caller, the only
writer of the gradebook, records each outcome as it comes.

A local cluster has one worker process per core, one thread each; every kernel gets a share of
the cores (:func:`grader.engine.task.thread_environment`). Workers are child processes that exit
the moment the client goes (Dask's parent-alive pipe), and the kernels they start die with them
(:mod:`grader.engine.launcher`), so nothing outlives ``grader autograde``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from grader.engine.task import AssignmentPlan, GradedSubmission, grade_files
from grader.engine.warm import GRADING_MODULE

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ClusterOptions:
    """Where to grade: a local cluster of ``workers`` processes, or the cluster at ``scheduler``."""

    workers: int | None = None  # None: one per core
    scheduler: str | None = None  # e.g. tcp://host:8786 (an existing Dask cluster)
    connect_timeout: float = 30.0

    def local_workers(self) -> int:
        """How many worker processes a local cluster gets."""
        return max(1, self.workers or os.cpu_count() or 1)


@dataclass
class GradingFailure:
    """A submission whose grading raised (engine bug, lost worker, full disk, no sandbox)."""

    student: str
    error: str  # "TypeName: message"
    traceback: str


class ClusterError(RuntimeError):
    """The cluster could not be started or reached."""


@contextlib.contextmanager
def dask_client(options: ClusterOptions) -> Iterator[object]:
    """A ``distributed.Client`` on a fresh local cluster (closed on exit) or on ``scheduler``."""
    import dask
    from distributed import Client, LocalCluster

    with dask.config.set(
        {
            "distributed.worker.daemon": False,  # workers start kernels (child processes)
            "distributed.scheduler.allowed-failures": 1,  # a lost worker: retried once
            "distributed.worker.memory.terminate": False,  # kernels have their own limits
            "distributed.admin.system-monitor.gil.enabled": False,
        }
    ):
        if options.scheduler:
            try:
                client = Client(options.scheduler, timeout=options.connect_timeout)
            except (OSError, TimeoutError) as error:
                raise ClusterError(
                    f"cannot reach the Dask scheduler at {options.scheduler}: {error}"
                ) from error
            with client:
                yield client
            return
        workers = options.local_workers()
        log.info("grading on a local Dask cluster of %d worker(s)", workers)
        with (
            LocalCluster(
                n_workers=workers,
                threads_per_worker=1,
                processes=True,
                # no dashboard is installed; the scheduler's HTTP routes (health) on a free
                # local port, not 8787, which another cluster on the machine may hold
                dashboard_address="127.0.0.1:0",
                silence_logs=logging.ERROR,
                preload=[GRADING_MODULE],  # imported while the workers start, not in a task
            ) as cluster,
            Client(cluster) as client,
        ):
            yield client


def fitting_threads(client: object) -> int:
    """Numeric-library threads per kernel that fit every machine of the cluster: each host's
    cores divided by the kernels it runs at once (its workers' threads), the smallest over the
    hosts. A cluster started by hand gets the same budget a local one does."""
    info = client.scheduler_info()  # type: ignore[attr-defined]
    cores = client.run(os.cpu_count)  # type: ignore[attr-defined]
    kernels: dict[str, int] = {}
    host_cores: dict[str, int] = {}
    for address, worker in info.get("workers", {}).items():
        host = worker.get("host", address)
        kernels[host] = kernels.get(host, 0) + int(worker.get("nthreads", 1))
        host_cores[host] = int(cores.get(address) or 1)
    if not kernels:
        return 1
    return max(1, min(host_cores[h] // max(1, kernels[h]) for h in kernels))


#: How many times a submission whose task Dask lost (not one that raised) is submitted again.
RESUBMITS = 2


def run_tasks(
    client: object,
    plan: AssignmentPlan,
    submissions: Mapping[str, tuple[dict[str, bytes], str]],
    zygote: str | None = None,
) -> Iterator[GradedSubmission | GradingFailure]:
    """Grade ``submissions`` (student -> (files, fingerprint)) on ``client``'s cluster, yielding
    each outcome as it finishes. Kernels are forked from ``zygote`` (a socket on the workers'
    machine) when given, else from each worker's own zygote if it has one. Cancels what is left
    if the caller stops early.

    A task that raised is a failure. A task Dask lost without an error of its own is submitted
    again, up to :data:`RESUBMITS` times: when a worker dies, Dask computes its tasks again
    elsewhere, but the plan is scattered data with no recipe: once its last copy goes (Dask's
    memory manager drops the copies no running task needs), Dask forgets every task waiting
    on it.
    """
    from distributed import as_completed

    if not submissions:
        return
    run = f"{plan.assignment}-{uuid.uuid4().hex[:8]}"

    def scatter() -> object:
        return client.scatter(plan, broadcast=True, hash=False)  # type: ignore[attr-defined]

    shared = scatter()
    futures: dict[str, tuple[str, object]] = {}  # key -> (student, future)
    tries: dict[str, int] = dict.fromkeys(submissions, 0)

    def submit(student: str) -> object:
        files, fp = submissions[student]
        key = f"grade-{run}-{student}-{tries[student]}"
        future = client.submit(  # type: ignore[attr-defined]
            grade_files, shared, student, files, fp, zygote, key=key, pure=False
        )
        futures[key] = (student, future)
        return future

    queue = as_completed([submit(student) for student in submissions])
    try:
        for future in queue:
            student = futures[future.key][0]
            # A future not finished here holds an error, a cancellation, or a result lost with
            # its worker: Dask computes a lost one again on another worker, result() waits.
            try:
                graded = future.result()
            except Exception as raised:  # the task's error, or Dask's cancellation error
                status = future.status
                if status != "error" and tries[student] < RESUBMITS:
                    tries[student] += 1
                    log.warning(
                        "grading of %s was lost by the cluster (%s, %s); submitting it again",
                        student,
                        status,
                        _describe(raised),
                    )
                    if shared.status != "finished":  # type: ignore[attr-defined]
                        shared = scatter()
                    queue.add(submit(student))
                    continue
                yield _failure(student, future, raised)
                continue
            yield graded
    finally:
        client.cancel([f for _, f in futures.values()], force=True)  # type: ignore[attr-defined]


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"


def _failure(student: str, future: object, raised: BaseException) -> GradingFailure:
    """The failure of ``student``'s task: its own error and traceback when it raised, else what
    ``result()`` raised (a cancellation, a lost task) with where it was raised."""
    import traceback

    error: BaseException = raised
    trace = "".join(traceback.format_tb(raised.__traceback__))
    if future.status == "error":  # type: ignore[attr-defined]
        try:
            error = future.exception() or raised  # type: ignore[attr-defined]
            trace = "".join(traceback.format_tb(future.traceback()))  # type: ignore[attr-defined]
        except Exception as lost:  # the scheduler forgot the task's state meanwhile
            log.warning("the error of %s's task is gone: %s", student, _describe(lost))
    return GradingFailure(student, _describe(error), trace)
