"""The validity suite on the Hebrew IntroKeras (frameworks-he)."""

from __future__ import annotations

from pathlib import Path

from tests.validity.hebrew import check_hebrew_notebook


def test_hebrew_intro_keras_grades_like_the_english(tmp_path: Path) -> None:
    check_hebrew_notebook("frameworks-he", "IntroKeras", tmp_path)
