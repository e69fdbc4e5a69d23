"""Calibrate the accuracy thresholds of the hidden tests from the reference solutions.

For every entry of ``bench/calibration.yaml`` the reference notebook's answer and set-up cells
run once in a real kernel; then the entry's model is trained with seeds 0..N-1 and scored on
the hidden split. The threshold is ``mean - 3 sd``, but never above the worst seed minus a
margin of two samples (or 0.02, whichever is larger), rounded down to 0.01: a reference that
scores the same on every seed (sd 0) must not leave a correct student no room at all.
``docs/thresholds.md`` is rewritten with every number; with ``--write`` the literal
``threshold=`` of each check in ``source/`` is updated too.

    python bench/calibrate_thresholds.py [--seeds 5] [--write] [NOTEBOOK ...]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import re
import statistics
import tempfile
from dataclasses import dataclass
from pathlib import Path

import nbformat
import yaml
from nbclient import NotebookClient

from grader import data
from grader.course import COURSE

ROOT = Path(__file__).resolve().parents[1]
MARK = "CALIBRATION-RESULT:"


@dataclass(frozen=True)
class Entry:
    notebook: str
    check: str
    dataset: str
    model: str
    transform: str | None


@dataclass(frozen=True)
class Calibrated:
    entry: Entry
    accuracies: list[float]

    @property
    def mean(self) -> float:
        return statistics.fmean(self.accuracies)

    @property
    def sd(self) -> float:
        return statistics.stdev(self.accuracies) if len(self.accuracies) > 1 else 0.0

    @property
    def threshold(self) -> float:
        margin = max(2 / len(data.hidden_split(self.entry.dataset)), 0.02)
        value = min(self.mean - 3 * self.sd, min(self.accuracies) - margin)
        return math.floor(value * 100) / 100


def notebook_path(name: str) -> Path:
    for assignment, names in COURSE.items():
        if name in names:
            return ROOT / "source" / assignment / f"{name}.ipynb"
    raise KeyError(f"unknown notebook {name!r}")


def load_entries(names: list[str]) -> list[Entry]:
    spec = yaml.safe_load((ROOT / "bench" / "calibration.yaml").read_text(encoding="utf-8")) or {}
    return [
        Entry(notebook, e["check"], e["dataset"], e["model"], e.get("transform"))
        for notebook, entries in spec.items()
        if not names or notebook in names
        for e in entries
    ]


def _probe(entry: Entry, seed: int) -> str:
    transform = entry.transform or "None"
    return (
        "import json as _json\n"
        "from grader import data as _data\n"
        "from grader.checks import predict_labels as _predict\n"
        f"SEED = {seed}\n"
        f"_model = {entry.model}\n"
        f"_transform = {transform}\n"
        f"_x = _data.hidden_inputs({entry.dataset!r}).copy()\n"
        "_x = _x if _transform is None else _transform(_x)\n"
        f"_y = _data.hidden_split({entry.dataset!r}).y\n"
        f"print({MARK!r}, _json.dumps(float((_predict(_model, _x) == _y).mean())))\n"
    )


def _result(cell: nbformat.NotebookNode) -> float:
    for output in cell.outputs:
        if output.get("output_type") == "stream" and MARK in output.get("text", ""):
            return float(output["text"].split(MARK, 1)[1].split()[0])
        if output.get("output_type") == "error":
            raise RuntimeError(f"{output['ename']}: {output['evalue']}")
    raise RuntimeError("the probe printed no result")


def calibrate_notebook(name: str, entries: list[Entry], seeds: int) -> list[Calibrated]:
    """Run one reference notebook's set-up and answers, then every entry for every seed."""
    notebook = nbformat.read(notebook_path(name), as_version=4)
    setup = [
        c
        for c in notebook.cells
        if c.cell_type == "code" and not c.metadata.get("nbgrader", {}).get("grade", False)
    ]
    with tempfile.TemporaryDirectory() as scratch:
        client = NotebookClient(
            notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": scratch}}
        )
        with client.setup_kernel():
            for index, cell in enumerate(setup):
                client.execute_cell(cell, index)
            results = []
            for entry in entries:
                accuracies = []
                for seed in range(seeds):
                    probe = nbformat.v4.new_code_cell(_probe(entry, seed))
                    client.execute_cell(probe, len(setup))
                    accuracies.append(_result(probe))
                results.append(Calibrated(entry, accuracies))
    return results


def merge_saved(results: list[Calibrated]) -> list[Calibrated]:
    """Merge new results into ``bench/calibration-results.json`` (kept per check) and return all.

    Calibrating one notebook then leaves the other notebooks' figures in place.
    """
    saved_path = ROOT / "bench" / "calibration-results.json"
    saved = json.loads(saved_path.read_text()) if saved_path.exists() else {}
    for r in results:
        saved[f"{r.entry.notebook}/{r.entry.check}"] = {
            "dataset": r.entry.dataset,
            "accuracies": r.accuracies,
        }
    saved_path.write_text(json.dumps(saved, indent=1, sort_keys=True) + "\n")
    merged = []
    for key, value in saved.items():
        notebook, check = key.split("/", 1)
        merged.append(
            Calibrated(Entry(notebook, check, value["dataset"], "", None), value["accuracies"])
        )
    order = {name: i for i, name in enumerate(n for names in COURSE.values() for n in names)}
    return sorted(merged, key=lambda r: (order.get(r.entry.notebook, 99), r.entry.check))


def write_table(results: list[Calibrated], seeds: int) -> None:
    lines = [
        "# Accuracy thresholds",
        "",
        "Each accuracy test trains the student's model with a fixed seed and measures it on the",
        "hidden split of its dataset (sizes in `grader/data.py`). Thresholds come from the",
        f"reference solution trained with seeds 0..{seeds - 1}: `min(mean - 3 sd, worst - m)`",
        "rounded down to 0.01, where the margin m is two samples of the hidden split (2/n) or",
        "0.02, whichever is larger, so that a reference scoring the same on every seed still",
        "leaves a correct student some room. Regenerate with",
        "`make calibrate` (`bench/calibrate_thresholds.py --write`).",
        "",
        f"Calibrated on {platform.machine()} with Python {platform.python_version()}.",
        "",
        "| notebook | check | dataset | hidden n | accuracies (seed 0..) | mean | sd | threshold |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        n = len(data.hidden_split(r.entry.dataset))
        accs = ", ".join(f"{a:.3f}" for a in r.accuracies)
        lines.append(
            f"| {r.entry.notebook} | `{r.entry.check}` | {r.entry.dataset} | {n} | {accs} "
            f"| {r.mean:.3f} | {r.sd:.3f} | **{r.threshold:.2f}** |"
        )
    (ROOT / "docs" / "thresholds.md").write_text("\n".join(lines) + "\n", encoding="utf-8")


def write_thresholds(results: list[Calibrated]) -> None:
    """Replace the literal ``threshold=`` following each check's name in its test cell."""
    for name in {r.entry.notebook for r in results}:
        path = notebook_path(name)
        notebook = nbformat.read(path, as_version=4)
        for r in (r for r in results if r.entry.notebook == name):
            pattern = re.compile(
                rf"(['\"]{re.escape(r.entry.check)}['\"][\s\S]*?threshold\s*=\s*)[0-9.]+"
            )
            cells = [c for c in notebook.cells if pattern.search(c.source)]
            if len(cells) != 1:
                raise SystemExit(f"{name}: cannot find exactly one threshold for {r.entry.check}")
            cells[0].source = pattern.sub(rf"\g<1>{r.threshold:.2f}", cells[0].source, count=1)
        nbformat.write(notebook, path)


def main() -> None:
    # The same environment as grading (nbgrader_config.py), so thresholds match what it sees.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--write", action="store_true", help="update thresholds in source/")
    args = parser.parse_args()
    entries = load_entries(args.notebooks)
    results = []
    for name in dict.fromkeys(e.notebook for e in entries):
        done = calibrate_notebook(name, [e for e in entries if e.notebook == name], args.seeds)
        for r in done:
            print(
                json.dumps(
                    {"check": r.entry.check, "accuracies": r.accuracies, "threshold": r.threshold}
                )
            )
        results += done
    write_table(merge_saved(results), args.seeds)
    if args.write:
        write_thresholds(results)


if __name__ == "__main__":
    main()
