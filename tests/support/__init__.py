"""What the tests and the benchmarks share: servers they start (PostgreSQL, uvicorn), free
ports, the browser, the quiz suite's secrets and answers, the engine's demo course.

Test modules and ``bench/`` import from here, never from a ``conftest.py`` or another test
module; the ``conftest.py`` files hold only fixtures.
"""

from __future__ import annotations

from pathlib import Path

#: The repository's root folder.
ROOT = Path(__file__).resolve().parents[2]
