"""The accuracy bars are the calibrated ones, and a student is told exactly those.

Each accuracy check's threshold is written three times in its notebook: the hidden test's
``threshold=``, the visible check's ``valid_accuracy >= ...`` on the validation split, and the
bold number in the exercise's instructions. All three, and ``docs/thresholds.md``, must be the
threshold calibrated from the reference (``bench/calibration-results.json``).
"""

from __future__ import annotations

import importlib.util
import json
import math
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
SAVED = json.loads((ROOT / "bench" / "calibration-results.json").read_text(encoding="utf-8"))


def _calibration_module():
    spec = importlib.util.spec_from_file_location(
        "calibrate_thresholds", ROOT / "bench" / "calibrate_thresholds.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


calibrate = _calibration_module()


def test_every_accuracy_check_is_calibrated_on_both_splits() -> None:
    entries = calibrate.load_entries([])
    assert {f"{e.notebook}/{e.check}" for e in entries} == set(SAVED)
    for key, value in SAVED.items():
        assert len(value["accuracies"]) >= 5, f"{key}: at least five seeds"
        assert len(value["valid_accuracies"]) == len(value["accuracies"]), key


def test_the_threshold_is_met_by_the_reference_on_both_splits() -> None:
    for key, value in SAVED.items():
        result = calibrate.saved_result(*key.split("/", 1), value)
        worst = min(value["accuracies"] + value["valid_accuracies"])
        assert result.threshold < worst, f"{key}: the reference itself would fail"


def test_a_model_as_good_as_the_reference_fails_at_most_one_sample_in_twenty() -> None:
    """On each split, the bar in samples k = ceil(threshold * n) is missed by a model of the
    reference's mean accuracy with binomial probability at most 1/20 (small splits count)."""
    from scipy.stats import binom

    from grader import data

    for key, value in SAVED.items():
        threshold = calibrate.saved_result(*key.split("/", 1), value).threshold
        splits = {
            "hidden": (value["accuracies"], len(data.hidden_split(value["dataset"]))),
            "validation": (value["valid_accuracies"], len(data.load(value["dataset"]).valid)),
        }
        for split, (accuracies, n) in splits.items():
            needed = math.ceil(threshold * n - 1e-9)
            chance = binom.cdf(needed - 1, n, sum(accuracies) / len(accuracies))
            assert chance <= 0.05, f"{key}: {split} split, fails {chance:.1%} of fresh samples"


@pytest.mark.parametrize("key", sorted(SAVED))
def test_notebook_states_and_uses_the_calibrated_threshold(key: str) -> None:
    notebook, check = key.split("/", 1)
    expected = calibrate.saved_result(notebook, check, SAVED[key]).threshold
    source = nbformat.read(calibrate.notebook_path(notebook), as_version=4)
    stated = calibrate.stated_thresholds(source, check)
    for place, numbers in stated.items():
        assert numbers, f"{notebook}: the {place} of {check} states no threshold"
        assert set(numbers) == {expected}, (
            f"{notebook}: the {place} of {check} says {numbers}; calibrated: {expected}"
        )
    table = (ROOT / "docs" / "thresholds.md").read_text(encoding="utf-8")
    row = next((line for line in table.splitlines() if f"| `{check}` |" in line), "")
    assert row.startswith(f"| {notebook} |") and row.endswith(f"| **{expected:.2f}** |"), row


def test_no_exercise_with_an_accuracy_bar_hides_a_vaguer_target() -> None:
    """Words like "about 0.9 is reachable" promise less than the bar; none is left."""
    for key in SAVED:
        notebook, check = key.split("/", 1)
        source = nbformat.read(calibrate.notebook_path(notebook), as_version=4)
        instructions, _ = calibrate.threshold_cells(source, check)
        assert "about 0." not in instructions.source, f"{notebook}: {instructions.source}"
