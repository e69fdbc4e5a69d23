"""The validity suite on the Hebrew LabFrameworks (lab-he)."""

from __future__ import annotations

from pathlib import Path

from tests.validity.hebrew import check_hebrew_notebook


def test_hebrew_lab_frameworks_grades_like_the_english(tmp_path: Path) -> None:
    check_hebrew_notebook("lab-he", "LabFrameworks", tmp_path)
