"""The validity suite on the Hebrew Overfitting (overfitting-he)."""

from __future__ import annotations

from pathlib import Path

from tests.validity.hebrew import check_hebrew_notebook


def test_hebrew_overfitting_grades_like_the_english(tmp_path: Path) -> None:
    check_hebrew_notebook("overfitting-he", "Overfitting", tmp_path)
