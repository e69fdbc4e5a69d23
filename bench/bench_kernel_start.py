"""A sandboxed kernel's life, measured: start, two one-line cells, end.

Each graded notebook pays it once, so it bounds how fast a class of small notebooks grades (and
how fast the attack tests run). Measured on both kernel paths, forked from a zygote that
preloaded NumPy and ``ipykernel`` and cold (a fresh interpreter behind the launcher), with the
engine's start and end (:func:`grader.engine.kernel._until_ready`, :func:`_killed`) and, in the
same run, with jupyter_client's own (its ``wait_for_ready``, which also waits for 0.2 s of
silence on IOPub, and its kill, which polls every 100 ms): the baseline. Runs alternate between
the two so that a slower minute of the machine falls on both.

Root only (the sandbox's user and namespaces). Prints a Markdown table for docs/performance.md.

    python bench/bench_kernel_start.py [--runs 12]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import statistics
import sys
import time
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import nbformat
from nbclient import NotebookClient

from grader.engine import kernel
from grader.engine.sandbox import Sandbox, SandboxPolicy, interpreter_paths, probe
from grader.engine.warm import KERNEL_IMPORTS, zygote

NOTEBOOK = nbformat.v4.new_notebook(
    cells=[nbformat.v4.new_code_cell("x = 1"), nbformat.v4.new_code_cell("print(x)")]
)


@contextlib.contextmanager
def jupyter_clients_own() -> Iterator[None]:
    """The baseline: nbclient's kernel start (jupyter_client's ``wait_for_ready``) and
    jupyter_client's kill, in place of the engine's."""
    engine_start, engine_kill = kernel.BoundedClient.async_start_new_kernel_client, kernel._killed

    async def not_killed(km: object) -> bool:  # shutdown_kernel(now=True) kills, as before
        return False

    kernel.BoundedClient.async_start_new_kernel_client = (  # type: ignore[method-assign]
        NotebookClient.async_start_new_kernel_client
    )
    kernel._killed = not_killed  # type: ignore[assignment]
    try:
        yield
    finally:
        kernel.BoundedClient.async_start_new_kernel_client = engine_start  # type: ignore[method-assign]
        kernel._killed = engine_kill  # type: ignore[assignment]


def one_run(sandbox: Sandbox, socket: str | None) -> float:
    """Seconds from staging to the kernel's end, for the two-cell notebook."""
    started = time.perf_counter()
    with sandbox.run({}, zygote=socket) as prepared:
        run = kernel.execute_notebook(
            nbformat.from_dict(NOTEBOOK), prepared, kernel.Timeouts(cell=60), interpreter_paths()
        )
    assert run.cells[1].status == "ok", run.cells[1].message
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=12, help="runs of each kind (default 12)")
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench_kernel_start.py needs root (the sandbox's user and namespaces)")
    policy = SandboxPolicy()
    sandbox = Sandbox(policy, probe(policy))
    seconds: dict[tuple[str, str], list[float]] = {}
    with zygote(("numpy", *KERNEL_IMPORTS)) as ready:
        socket = ready()
        if socket is None:
            sys.exit("the zygote did not start")
        for path, chosen in (("forked", socket), ("cold", None)):
            one_run(sandbox, chosen)  # warm the page cache and the imports
            for _ in range(args.runs):
                with jupyter_clients_own():
                    seconds.setdefault((path, "jupyter_client's"), []).append(
                        one_run(sandbox, chosen)
                    )
                seconds.setdefault((path, "the engine's"), []).append(one_run(sandbox, chosen))
    print(f"Machine: {platform.platform()}, {os.cpu_count()} cores; {args.runs} runs each\n")
    print("| kernel | start and end | median s | min s | max s |")
    print("|---|---|---|---|---|")
    for (path, how), values in seconds.items():
        print(
            f"| {path} | {how} | {statistics.median(values):.3f} | {min(values):.3f} | "
            f"{max(values):.3f} |"
        )


if __name__ == "__main__":
    main()
