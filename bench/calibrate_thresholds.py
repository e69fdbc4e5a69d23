"""Calibrate the accuracy thresholds of the hidden tests from the reference solutions.

For every entry of ``bench/calibration.yaml`` the reference notebook's answer and set-up cells
run once in a real kernel; then the entry's model is trained with seeds 0..N-1 and scored on
the hidden split and on the validation split (the one students measure themselves: the
instructions and the visible check state the same bar). Per split the bound is ``mean - 3 sd``,
but never above the worst seed minus a margin of two samples of that split (or 0.02, whichever
is larger); the threshold is the lower of the two bounds, rounded down to 0.01. A reference that
scores the same on every seed (sd 0) must not leave a correct student no room at all.
That threshold is the exercise's stated bar (instructions, visible check). The hidden test
applies the bar allowed for sampling (:func:`grader.measures.hidden_threshold`): a model that
passes the visible check, however narrowly, passes on the hidden split's n samples with
probability at least 0.95. ``docs/thresholds.md`` is rewritten with every number; with
``--write`` every copy of each threshold in ``source/`` is updated too (see
:func:`write_thresholds`); ``--saved`` rewrites both from ``bench/calibration-results.json``
without training.

    python bench/calibrate_thresholds.py [--seeds 5] [--write] [--saved] [NOTEBOOK ...]
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

from grader import data, measures
from grader.course import COURSE
from grader.kernel_environment import KERNEL_ENVIRONMENT

ROOT = Path(__file__).resolve().parents[1]
MARK = "CALIBRATION-RESULT:"


@dataclass(frozen=True)
class Entry:
    notebook: str
    check: str
    dataset: str
    model: str
    transform: str | None


#: The largest chance that a model exactly as good as the reference fails the bar on a fresh
#: sample of the split's size (1 in 20).
FAIL_CHANCE = measures.SAMPLING_FAIL_CHANCE


def sampling_bound(accuracy: float, n: int) -> float:
    """The highest bar k/n that a model of true ``accuracy`` misses on ``n`` fresh samples with
    probability at most :data:`FAIL_CHANCE` (binomial): the step size of small splits counts."""
    return measures.sampling_floor(accuracy, n, FAIL_CHANCE) / n


def _bound(accuracies: list[float], n: int) -> float:
    """``min(mean - 3 sd, worst - margin, sampling bound)`` for accuracies on ``n`` samples."""
    sd = statistics.stdev(accuracies) if len(accuracies) > 1 else 0.0
    margin = max(2 / n, 0.02)
    mean = statistics.fmean(accuracies)
    return min(mean - 3 * sd, min(accuracies) - margin, sampling_bound(mean, n))


@dataclass(frozen=True)
class Calibrated:
    entry: Entry
    accuracies: list[float]  # on the hidden split, seed 0..
    valid_accuracies: list[float]  # on the validation split, seed 0..

    @property
    def mean(self) -> float:
        return statistics.fmean(self.accuracies)

    @property
    def sd(self) -> float:
        return statistics.stdev(self.accuracies) if len(self.accuracies) > 1 else 0.0

    @property
    def valid_mean(self) -> float:
        return statistics.fmean(self.valid_accuracies)

    @property
    def threshold(self) -> float:
        hidden = _bound(self.accuracies, self.hidden_n)
        valid = _bound(self.valid_accuracies, self.valid_n)
        return math.floor(min(hidden, valid) * 100 + 1e-9) / 100

    @property
    def hidden_n(self) -> int:
        return len(data.hidden_split(self.entry.dataset))

    @property
    def valid_n(self) -> int:
        return len(data.load(self.entry.dataset).valid)

    @property
    def hidden_k(self) -> int:
        """The correct answers of :attr:`hidden_n` that the hidden test demands."""
        return measures.passing_floor(self.threshold, self.valid_n, self.hidden_n)

    @property
    def hidden_threshold(self) -> str:
        """What the hidden test applies: the stated bar allowed for both samples."""
        return measures.hidden_threshold(self.threshold, self.valid_n, self.hidden_n)


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
        f"_valid = _data.load({entry.dataset!r}).valid\n"
        "_vx = _valid.x.copy() if _transform is None else _transform(_valid.x.copy())\n"
        "_both = [float((_predict(_model, _x) == _y).mean()),\n"
        "         float((_predict(_model, _vx) == _valid.y).mean())]\n"
        f"print({MARK!r}, _json.dumps(_both))\n"
    )


def _result(cell: nbformat.NotebookNode) -> tuple[float, float]:
    """(hidden accuracy, validation accuracy) printed by a probe cell."""
    for output in cell.outputs:
        if output.get("output_type") == "stream" and MARK in output.get("text", ""):
            hidden, valid = json.loads(output["text"].split(MARK, 1)[1].splitlines()[0])
            return float(hidden), float(valid)
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
                accuracies, valid_accuracies = [], []
                for seed in range(seeds):
                    probe = nbformat.v4.new_code_cell(_probe(entry, seed))
                    client.execute_cell(probe, len(setup))
                    hidden, valid = _result(probe)
                    accuracies.append(hidden)
                    valid_accuracies.append(valid)
                results.append(Calibrated(entry, accuracies, valid_accuracies))
    return results


def saved_result(notebook: str, check: str, value: dict) -> Calibrated:
    """A result as ``bench/calibration-results.json`` keeps it."""
    entry = Entry(notebook, check, value["dataset"], "", None)
    return Calibrated(entry, value["accuracies"], value["valid_accuracies"])


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
            "valid_accuracies": r.valid_accuracies,
        }
    saved_path.write_text(json.dumps(saved, indent=1, sort_keys=True) + "\n")
    merged = [saved_result(*key.split("/", 1), value) for key, value in saved.items()]
    order = {name: i for i, name in enumerate(n for names in COURSE.values() for n in names)}
    return sorted(merged, key=lambda r: (order.get(r.entry.notebook, 99), r.entry.check))


def write_table(results: list[Calibrated], seeds: int) -> None:
    lines = [
        "# Accuracy thresholds",
        "",
        "Each accuracy test trains the student's model with a fixed seed and measures it on the",
        "hidden split of its dataset (sizes in `grader/data.py`). The same bar is stated in the",
        "exercise's instructions (in bold) and used by its visible check on the validation split,",
        "so a student who clears it there knows what the hidden test asks. Thresholds come from",
        f"the reference solution trained with seeds 0..{seeds - 1}, scored on both splits: per",
        "split `min(mean - 3 sd, worst - m, b)`, where the margin m is two samples of that split",
        "(2/n) or 0.02, whichever is larger, and b is the highest bar k/n that a model as good",
        "as the reference's mean misses on n fresh samples at most 1 time in 20 (binomial: the",
        "step of a small split counts); the threshold is the lower of the two splits' bounds,",
        "rounded down to 0.01, so that a reference scoring the same on every seed still leaves a",
        "correct student some room.",
        "",
        "That threshold is the exercise's bar: the instructions state it in bold and the visible",
        "check applies it on the validation split. The hidden test allows for both samples: a",
        "model that passes the visible check, however narrowly, must pass the hidden test with",
        "probability at least 0.95. Such a model got v = ceil(bar x n_v) of the n_v validation",
        "samples right; knowing only that, its count on n fresh samples follows the",
        "beta-binomial law (a uniform prior on its accuracy, updated by v of n_v). The hidden",
        "threshold is the largest k/n, n the hidden split's size, that this count misses with",
        "probability at most 0.05, written as the shortest decimal in ((k - 1)/n, k/n]",
        "(`grader.measures.hidden_threshold`), so that `accuracy >= threshold` means at least k",
        'of n. The instructions say so in one sentence ("because a fresh sample varies by',
        'chance, it accepts down to 0.86 (129 of 150)"). Held to the bar itself, a model that',
        "clears it on the validation split by a hair would fail the hidden test about half the",
        "time; allowing for the hidden sample alone (a binomial at the bar) still fails it 10%",
        "to 12% of the time, because its validation count was itself a sample. The",
        "validation and hidden splits are drawn as hard as each other (`grader/data.py`), so",
        "that the bar means the same on both. `tests/test_thresholds.py` keeps the notebooks,",
        "their instructions and this table in step. Regenerate with `make calibrate`",
        "(`bench/calibrate_thresholds.py --write`; `--saved` rewrites from the saved results).",
        "",
        f"Calibrated on {platform.machine()} with Python {platform.python_version()}.",
        "",
        "| notebook | check | dataset | hidden n | hidden accuracy (seed 0..) | mean | sd "
        "| validation accuracy (seed 0..) | mean | threshold | hidden threshold |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        n = r.hidden_n
        accs = ", ".join(f"{a:.3f}" for a in r.accuracies)
        valid = ", ".join(f"{a:.3f}" for a in r.valid_accuracies)
        lines.append(
            f"| {r.entry.notebook} | `{r.entry.check}` | {r.entry.dataset} | {n} | {accs} "
            f"| {r.mean:.3f} | {r.sd:.3f} | {valid} | {r.valid_mean:.3f} "
            f"| **{r.threshold:.2f}** | {r.hidden_threshold} "
            f"({r.hidden_k} of {n}) |"
        )
    path = ROOT / "docs" / "thresholds.md"
    old = path.read_text(encoding="utf-8") if path.exists() else ""
    sections = old[old.find("\n## ") :] if "\n## " in old else ""  # kept: other sections
    path.write_text("\n".join(lines) + "\n" + sections, encoding="utf-8")


#: Where a threshold is written in a notebook: the hidden check's ``threshold=``, the visible
#: check's ``valid_accuracy >= ...`` (both in the test cell naming the check) and the bold
#: ``**0.xx**`` in the exercise's instructions (the last markdown cell before that test cell),
#: which also state the hidden test's threshold: "accepts down to 0.88 (132 of 150)".
HIDDEN_BAR = re.compile(r"(threshold\s*=\s*)([0-9.]+)")
VISIBLE_BAR = re.compile(r"(valid_accuracy\s*>=\s*)([0-9.]+)")
STATED_BAR = re.compile(r"(\*\*)(0\.[0-9]+)(\*\*)")
STATED_HIDDEN = re.compile(
    r"(accepts\s+down\s+to\s+)(0\.[0-9]+)(\s+\()([0-9]+)(\s+of\s+)([0-9]+)(\))"
)


def threshold_cells(
    notebook: nbformat.NotebookNode, check: str
) -> tuple[nbformat.NotebookNode, nbformat.NotebookNode]:
    """(the instructions, the test cell) of the exercise whose hidden test runs ``check``."""
    name = re.compile(rf"['\"]{re.escape(check)}['\"]")
    tests = [
        i for i, c in enumerate(notebook.cells) if c.cell_type == "code" and name.search(c.source)
    ]
    if len(tests) != 1:
        raise ValueError(f"{len(tests)} test cells run {check!r}; expected exactly one")
    before = [c for c in notebook.cells[: tests[0]] if c.cell_type == "markdown"]
    return before[-1], notebook.cells[tests[0]]


def stated_thresholds(notebook: nbformat.NotebookNode, check: str) -> dict[str, list[str]]:
    """Every copy of ``check``'s thresholds in a notebook, by where it is written, as written:
    the bar (visible check, instructions), the hidden test's threshold (hidden test, the
    instructions' sentence about it) and the count it stands for ("132 of 150")."""
    instructions, test = threshold_cells(notebook, check)
    hidden_sentences = list(STATED_HIDDEN.finditer(instructions.source))
    return {
        "visible check": [m[2] for m in VISIBLE_BAR.finditer(test.source)],
        "instructions": [m[2] for m in STATED_BAR.finditer(instructions.source)],
        "hidden test": [m[2] for m in HIDDEN_BAR.finditer(test.source)],
        "instructions on the hidden test": [m[2] for m in hidden_sentences],
        "hidden count": [f"{m[4]} of {m[6]}" for m in hidden_sentences],
    }


def write_thresholds(results: list[Calibrated]) -> None:
    """Write each calibrated threshold into every place :func:`stated_thresholds` reads."""
    for name in {r.entry.notebook for r in results}:
        path = notebook_path(name)
        notebook = nbformat.read(path, as_version=4)
        for r in (r for r in results if r.entry.notebook == name):
            instructions, test = threshold_cells(notebook, r.entry.check)
            value, hidden = f"{r.threshold:.2f}", r.hidden_threshold
            k, n = r.hidden_k, r.hidden_n
            test.source = HIDDEN_BAR.sub(rf"\g<1>{hidden}", test.source)
            test.source = VISIBLE_BAR.sub(rf"\g<1>{value}", test.source)
            instructions.source = STATED_BAR.sub(rf"\g<1>{value}\g<3>", instructions.source)
            instructions.source = STATED_HIDDEN.sub(
                rf"\g<1>{hidden}\g<3>{k}\g<5>{n}\g<7>", instructions.source
            )
        nbformat.write(notebook, path)


def main() -> None:
    # The environment of every kernel of the course, so that thresholds match what students
    # and the grading see.
    os.environ.update(KERNEL_ENVIRONMENT)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--write", action="store_true", help="update thresholds in source/")
    parser.add_argument(
        "--saved", action="store_true", help="no training: use bench/calibration-results.json"
    )
    args = parser.parse_args()
    if args.saved:
        saved = merge_saved([])
        write_table(saved, min(len(r.accuracies) for r in saved))
        if args.write:
            write_thresholds(saved)
        return
    entries = load_entries(args.notebooks)
    results = []
    for name in dict.fromkeys(e.notebook for e in entries):
        done = calibrate_notebook(name, [e for e in entries if e.notebook == name], args.seeds)
        for r in done:
            print(
                json.dumps(
                    {
                        "check": r.entry.check,
                        "accuracies": r.accuracies,
                        "valid_accuracies": r.valid_accuracies,
                        "threshold": r.threshold,
                    }
                )
            )
        results += done
    write_table(merge_saved(results), args.seeds)
    if args.write:
        write_thresholds(results)


if __name__ == "__main__":
    main()
