"""What the tests and the benchmarks share: servers they start (PostgreSQL, uvicorn), free
ports, the browser, the quiz suite's secrets and answers, the engine's demo course.

Test modules and ``bench/`` import from here, never from a ``conftest.py`` or another test
module; the ``conftest.py`` files hold only fixtures.
"""

from __future__ import annotations

import os
from pathlib import Path

#: The repository's root folder.
ROOT = Path(__file__).resolve().parents[2]


def cores_per_worker() -> int:
    """This machine's cores shared among the test run's pytest-xdist workers (at least one):
    what one test may use without slowing the others (kernel threads, grading workers)."""
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    return max(1, (os.cpu_count() or 1) // workers)
