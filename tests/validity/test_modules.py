"""Every Hebrew notebook of the course has its validity module (one per notebook)."""

from __future__ import annotations

import re
from pathlib import Path

from grader import course


def test_every_hebrew_notebook_is_validated() -> None:
    here = Path(__file__).parent
    covered = set()
    for module in here.glob("test_hebrew_*.py"):
        covered |= set(
            re.findall(r'check_hebrew_notebook\("([^"]+)", "([^"]+)"', module.read_text())
        )
    expected = {(f"{a}-he", n) for a, names in course.COURSE.items() for n in names}
    assert covered == expected
