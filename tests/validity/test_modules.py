"""Every notebook of the course has its validity module, which grades its Hebrew translation
too (``suite.grade_variants``)."""

from __future__ import annotations

import re
from pathlib import Path

from grader import course
from tests.validity.suite import ROOT, hebrew_of


def test_every_notebook_and_its_translation_is_validated() -> None:
    here = Path(__file__).parent
    covered = set()
    for module in here.glob("test_*.py"):
        covered |= set(re.findall(r'^NOTEBOOK = "([^"]+)"$', module.read_text(), re.MULTILINE))
    expected = {name for names in course.COURSE.values() for name in names}
    assert covered == expected
    translated = {
        name
        for assignment, names in course.COURSE.items()
        for name in names
        if (ROOT / "source" / hebrew_of(assignment) / f"{name}.ipynb").is_file()
    }
    assert translated == expected, "a course notebook has no Hebrew translation"
