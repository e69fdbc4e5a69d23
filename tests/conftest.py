"""Settings for the whole test run: each worker's kernels get its share of the cores, and the
modules are handed to the workers longest first.

``make test`` runs the suite on pytest-xdist workers (two on two cores), and every worker starts
kernels that train small networks. Left to their defaults, PyTorch's and TensorFlow's thread
pools each take every core, and the workers' kernels spin against one another: two Overfitting
notebooks run at once took 42 s each instead of 8. Every kernel, nbgrader's and the engine's,
inherits this process's environment, so each is held to its worker's share of the cores, by
the rule the engine applies to its own concurrent kernels
(:func:`grader.engine.task.thread_environment`). No test looks at a figure a kernel draws, so
every kernel draws with matplotlib's Agg backend, as the engine's own kernels do
(``grader.engine.sandbox``): plain nbgrader's kernels would otherwise render each figure to a
PNG for nothing (0.5 to 1 s of a notebook run). A variable already set is left alone.

The order of the modules (:mod:`tests.support.schedule`) comes from ``tests/module_seconds.json``;
``--write-module-seconds PATH`` measures a run's own.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from grader.engine.task import thread_environment
from tests.support import cores_per_worker
from tests.support.schedule import (
    longest_first,
    module_seconds,
    read_module_seconds,
    write_module_seconds,
)

for _name, _value in thread_environment(cores_per_worker()).items():
    os.environ.setdefault(_name, _value)
os.environ.setdefault("MPLBACKEND", "Agg")


class _ModuleSeconds:
    """With ``--write-module-seconds PATH``, on the controller (which sees every worker's
    reports): adds up each module's setup, call and teardown times and writes them at the end."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.durations: list[tuple[str, float]] = []

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self.durations.append((report.nodeid, report.duration))

    def pytest_sessionfinish(self) -> None:
        write_module_seconds(self.path, module_seconds(self.durations))


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--write-module-seconds",
        metavar="PATH",
        help="at the end of the run, write each test module's seconds to PATH "
        "(tests/module_seconds.json orders the modules of the next runs)",
    )


def pytest_configure(config: pytest.Config) -> None:
    path = config.getoption("--write-module-seconds")
    if path and not hasattr(config, "workerinput"):  # not on an xdist worker
        config.pluginmanager.register(_ModuleSeconds(Path(path)), "module-seconds")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    items[:] = longest_first(items, read_module_seconds())
