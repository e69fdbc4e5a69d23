"""The accuracy thresholds in the notebooks are the calibrated ones (docs/thresholds.md)."""

from __future__ import annotations

import importlib.util
import json
import re
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


def test_every_accuracy_check_is_calibrated() -> None:
    entries = calibrate.load_entries([])
    assert {f"{e.notebook}/{e.check}" for e in entries} == set(SAVED)
    assert all(len(v["accuracies"]) >= 5 for v in SAVED.values()), "at least five seeds"


@pytest.mark.parametrize("key", sorted(SAVED))
def test_notebook_uses_the_calibrated_threshold(key: str) -> None:
    notebook, check = key.split("/", 1)
    entry = calibrate.Entry(notebook, check, SAVED[key]["dataset"], "", None)
    expected = calibrate.Calibrated(entry, SAVED[key]["accuracies"]).threshold
    source = nbformat.read(calibrate.notebook_path(notebook), as_version=4)
    pattern = re.compile(rf"['\"]{re.escape(check)}['\"][\s\S]*?threshold\s*=\s*([0-9.]+)")
    found = [float(m.group(1)) for c in source.cells for m in pattern.finditer(c.source)]
    assert found == [expected], f"{notebook} uses {found} for {check}; calibrated: {expected}"
    table = (ROOT / "docs" / "thresholds.md").read_text(encoding="utf-8")
    assert f"`{check}`" in table and f"**{expected:.2f}**" in table
