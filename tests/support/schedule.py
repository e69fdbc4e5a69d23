"""The order in which the test run hands its modules to the pytest-xdist workers: longest first.

``make test`` runs ``--dist loadfile``: a worker takes a whole module, then asks for the next,
in the order the modules were collected (``--no-loadscope-reorder``; xdist's own order, most
tests first, put the one-test Hebrew validity modules of 40 to 90 s last, and one worker
went on alone for a minute and a half after the other had run out of work). Handing out the
longest modules first and the short ones at the end (the longest-processing-time rule) lets
the two workers finish within seconds of each other.

How long each module takes is measured, not guessed: ``pytest --write-module-seconds PATH``
writes every module's seconds (setup, call and teardown of its tests) at the end of a run;
``tests/module_seconds.json`` holds those of a whole run on the reference machine. A module
missing from it (a new one) goes first: its cost is unknown, and a short module run early
costs nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Protocol, TypeVar

from tests.support import ROOT

#: Seconds per test module in a whole run of the suite (``--write-module-seconds``).
MODULE_SECONDS = ROOT / "tests" / "module_seconds.json"


class _HasNodeId(Protocol):
    @property
    def nodeid(self) -> str: ...


Item = TypeVar("Item", bound=_HasNodeId)


def module_of(nodeid: str) -> str:
    """The module (file) part of a test's node id: ``tests/a/test_b.py::test_c[x]`` ->
    ``tests/a/test_b.py``."""
    return nodeid.split("::", 1)[0]


def read_module_seconds(path: Path = MODULE_SECONDS) -> dict[str, float]:
    """The measured seconds per module; empty (every module's cost unknown) when the file is
    missing. A malformed file raises ``ValueError`` naming it rather than reordering by
    nonsense."""
    if not path.is_file():
        return {}
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        seconds = {str(module): float(value) for module, value in document.items()}
    except (ValueError, TypeError, AttributeError) as error:
        raise ValueError(f"{path}: not a JSON object of module -> seconds ({error})") from error
    return seconds


def longest_first(items: Sequence[Item], seconds: Mapping[str, float]) -> list[Item]:
    """``items`` with their modules in the order to hand them out: modules of unknown cost
    first, then by measured seconds, longest first; ties and the tests within a module keep
    their collected order."""
    first_seen = {}
    for index, item in enumerate(items):
        first_seen.setdefault(module_of(item.nodeid), index)

    def rank(item: Item) -> tuple[bool, float, int]:
        module = module_of(item.nodeid)
        known = module in seconds
        return (known, -seconds.get(module, 0.0), first_seen[module])

    return sorted(items, key=rank)  # stable: a module's tests stay in order


def module_seconds(durations: Iterable[tuple[str, float]]) -> dict[str, float]:
    """Seconds per module from (node id, duration) pairs of every setup, call and teardown,
    rounded to a tenth, longest first."""
    totals: dict[str, float] = {}
    for nodeid, duration in durations:
        module = module_of(nodeid)
        totals[module] = totals.get(module, 0.0) + duration
    return {m: round(s, 1) for m, s in sorted(totals.items(), key=lambda kv: (-kv[1], kv[0]))}


def write_module_seconds(path: Path, seconds: Mapping[str, float]) -> None:
    """Write ``seconds`` as the JSON that :func:`read_module_seconds` reads."""
    path.write_text(json.dumps(dict(seconds), indent=1) + "\n", encoding="utf-8")
