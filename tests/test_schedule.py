"""The test run hands its modules out longest first (``tests/support/schedule.py``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support import ROOT
from tests.support.schedule import (
    MODULE_SECONDS,
    longest_first,
    module_seconds,
    read_module_seconds,
    write_module_seconds,
)


@dataclass(frozen=True)
class Collected:
    nodeid: str


def ids(items: list[Collected]) -> list[str]:
    return [i.nodeid for i in items]


def test_longest_modules_first_unknown_ones_before_them_tests_kept_in_order() -> None:
    collected = [
        Collected("tests/test_short.py::test_a"),
        Collected("tests/validity/test_hebrew.py::test_one"),
        Collected("tests/test_new.py::test_x"),
        Collected("tests/test_short.py::test_b[1]"),
        Collected("tests/test_long.py::test_c"),
        Collected("tests/test_short.py::test_b[2]"),
        Collected("tests/test_long.py::test_d"),
    ]
    seconds = {"tests/test_short.py": 3.0, "tests/test_long.py": 200.0}
    seconds["tests/validity/test_hebrew.py"] = 90.0
    assert ids(longest_first(collected, seconds)) == [
        "tests/test_new.py::test_x",
        "tests/test_long.py::test_c",
        "tests/test_long.py::test_d",
        "tests/validity/test_hebrew.py::test_one",
        "tests/test_short.py::test_a",
        "tests/test_short.py::test_b[1]",
        "tests/test_short.py::test_b[2]",
    ]


def test_without_times_the_collected_order_stays() -> None:
    collected = [Collected("tests/b.py::t"), Collected("tests/a.py::t"), Collected("tests/b.py::u")]
    assert ids(longest_first(collected, {})) == ["tests/b.py::t", "tests/b.py::u", "tests/a.py::t"]


def test_a_modules_seconds_add_its_tests_setups_calls_and_teardowns(tmp_path: Path) -> None:
    reports = [
        ("tests/test_a.py::test_one", 30.0),  # setup: a module fixture
        ("tests/test_a.py::test_one", 1.25),  # call
        ("tests/test_a.py::test_two[x]", 0.5),
        ("tests/test_b.py::test_three", 40.0),
    ]
    seconds = module_seconds(reports)
    assert seconds == {"tests/test_b.py": 40.0, "tests/test_a.py": 31.8}
    assert list(seconds) == ["tests/test_b.py", "tests/test_a.py"]
    path = tmp_path / "seconds.json"
    write_module_seconds(path, seconds)
    assert read_module_seconds(path) == seconds


def test_a_missing_file_orders_nothing_and_a_malformed_one_is_named(tmp_path: Path) -> None:
    assert read_module_seconds(tmp_path / "absent.json") == {}
    bad = tmp_path / "seconds.json"
    bad.write_text('["tests/test_a.py", 3]', encoding="utf-8")
    with pytest.raises(ValueError, match=r"seconds\.json"):
        read_module_seconds(bad)


def test_the_recorded_times_name_only_modules_that_exist() -> None:
    """A renamed module would keep a stale time and lose its place: run the suite with
    ``--write-module-seconds tests/module_seconds.json`` again."""
    seconds = read_module_seconds(MODULE_SECONDS)
    assert len(seconds) > 40, "tests/module_seconds.json is missing or nearly empty"
    stale = sorted(m for m in seconds if not (ROOT / m).is_file())
    assert not stale, f"tests/module_seconds.json names modules that are gone: {stale}"
