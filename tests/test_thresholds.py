"""The accuracy bars are the calibrated ones, and a student is told exactly those.

Each accuracy check's bar is written twice in its notebook: the visible check's
``valid_accuracy >= ...`` on the validation split and the bold number in the exercise's
instructions; both, and ``docs/thresholds.md``, must be the threshold calibrated from the
reference (``bench/calibration-results.json``). The hidden test's ``threshold=`` allows for
both samples: a model that passes the visible check by the smallest margin passes it on the
hidden split's n samples with probability at least 0.95; the instructions state it, with the
count it stands for.
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


@pytest.mark.parametrize(
    ("bar", "n_valid", "n", "k", "written"),
    [
        (0.92, 150, 150, 129, "0.86"),
        (0.91, 150, 150, 127, "0.846"),
        (0.93, 397, 400, 359, "0.897"),
        (0.91, 397, 400, 350, "0.875"),
        (0.80, 30, 30, 18, "0.60"),
    ],
)
def test_the_hidden_threshold_allows_for_both_samples(
    bar: float, n_valid: int, n: int, k: int, written: str
) -> None:
    """A model that just passes the visible check got v = ceil(bar * n_valid) right; k is the
    largest count its hidden count (beta-binomial from v of n_valid, scipy as the witness) falls
    below with probability at most 0.05, and the written threshold accepts exactly k or more."""
    from scipy.stats import betabinom

    from grader import measures

    v = math.ceil(bar * n_valid - 1e-9)
    law = betabinom(n, v + 1, n_valid - v + 1)
    assert measures.passing_floor(bar, n_valid, n) == k
    assert law.cdf(k - 1) <= 0.05 < law.cdf(k)
    assert measures.hidden_threshold(bar, n_valid, n) == written
    accepted = [c for c in range(n + 1) if c / n >= float(written)]
    assert min(accepted) == k
    # Allowing for the hidden sample alone would fail such a model more than 1 time in 20.
    assert law.cdf(measures.sampling_floor(bar, n) - 1) > 0.05


def test_the_binomial_sum_matches_scipy() -> None:
    from scipy.stats import betabinom, binom

    from grader import measures

    for n, p in [(30, 0.8), (150, 0.92), (400, 0.93), (400, 0.5)]:
        for k in range(-1, n + 1, 7):
            assert measures.binomial_cdf(k, n, p) == pytest.approx(binom.cdf(k, n, p), abs=1e-12)
            right = math.ceil(p * n)
            assert measures.predicted_cdf(k, n, right, n) == pytest.approx(
                betabinom.cdf(k, n, right + 1, n - right + 1), abs=1e-9
            )


def _hidden_rule(bar: float, n_valid: int, n: int) -> tuple[str, int]:
    """(the hidden threshold, the count k) for a bar, restated here from the rule itself."""
    from scipy.stats import betabinom

    v = math.ceil(bar * n_valid - 1e-9)
    law = betabinom(n, v + 1, n_valid - v + 1)
    k = max(c for c in range(n + 1) if law.cdf(c - 1) <= 0.05)
    return next(
        t
        for t in (f"{math.floor(k / n * 10**d + 1e-9) / 10**d:.{d}f}" for d in range(2, 8))
        if float(t) > (k - 1) / n
    ), k


def _check_stated(source: nbformat.NotebookNode, key: str) -> tuple[str, int, int]:
    """Assert that the notebook ``source`` writes the bar and the hidden threshold of ``key``
    everywhere by the rule; return (hidden threshold, k, n)."""
    from grader import data

    notebook, check = key.split("/", 1)
    expected = calibrate.saved_result(notebook, check, SAVED[key]).threshold
    n = len(data.hidden_split(SAVED[key]["dataset"]))
    hidden, k = _hidden_rule(expected, len(data.load(SAVED[key]["dataset"]).valid), n)
    stated = calibrate.stated_thresholds(source, check)
    wanted = {
        "visible check": f"{expected:.2f}",
        "instructions": f"{expected:.2f}",
        "hidden test": hidden,
        "instructions on the hidden test": hidden,
        "hidden count": f"{k} of {n}",
    }
    assert set(stated) == set(wanted)
    for place, numbers in stated.items():
        assert numbers, f"{notebook}: the {place} of {check} states no threshold"
        assert set(numbers) == {wanted[place]}, (
            f"{notebook}: the {place} of {check} says {numbers}; the rule gives {wanted[place]}"
        )
    return hidden, k, n


@pytest.mark.parametrize("key", sorted(SAVED))
def test_notebook_states_and_uses_the_calibrated_threshold(key: str) -> None:
    notebook, check = key.split("/", 1)
    expected = calibrate.saved_result(notebook, check, SAVED[key]).threshold
    source = nbformat.read(calibrate.notebook_path(notebook), as_version=4)
    hidden, k, n = _check_stated(source, key)
    table = (ROOT / "docs" / "thresholds.md").read_text(encoding="utf-8")
    row = next((line for line in table.splitlines() if f"| `{check}` |" in line), "")
    assert row.startswith(f"| {notebook} |"), row
    assert row.endswith(f"| **{expected:.2f}** | {hidden} ({k} of {n}) |"), row


@pytest.mark.parametrize(
    ("where", "pattern", "wrong", "message"),
    [
        ("test", "HIDDEN_BAR", r"\g<1>0.93", "hidden test of classifier-accuracy says"),
        ("test", "HIDDEN_BAR", r"\g<1>0.88", "hidden test of classifier-accuracy says"),
        ("instructions", "STATED_HIDDEN", r"\g<1>0.93\g<3>140\g<5>150\g<7>", "instructions on"),
        ("instructions", "STATED_HIDDEN", r"\g<1>0.87\g<3>131\g<5>140\g<7>", "hidden count"),
    ],
)
def test_a_hidden_threshold_off_the_rule_fails(
    where: str, pattern: str, wrong: str, message: str
) -> None:
    """The bar copied into the hidden test, the binomial rule of before (0.88: the hidden
    sample alone), or a
    sentence that states another threshold or count is refused."""
    key = "IntroPyTorch/classifier-accuracy"
    source = nbformat.read(calibrate.notebook_path("IntroPyTorch"), as_version=4)
    _check_stated(source, key)
    instructions, test = calibrate.threshold_cells(source, "classifier-accuracy")
    cell = test if where == "test" else instructions
    cell.source = getattr(calibrate, pattern).sub(wrong, cell.source)
    with pytest.raises(AssertionError, match=message):
        _check_stated(source, key)


def test_no_exercise_with_an_accuracy_bar_hides_a_vaguer_target() -> None:
    """Words like "about 0.9 is reachable" promise less than the bar; none is left."""
    for key in SAVED:
        notebook, check = key.split("/", 1)
        source = nbformat.read(calibrate.notebook_path(notebook), as_version=4)
        instructions, _ = calibrate.threshold_cells(source, check)
        assert "about 0." not in instructions.source, f"{notebook}: {instructions.source}"
