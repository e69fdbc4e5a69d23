"""Pass rates of every accuracy exercise's reference and correct alternatives, over seeds.

For each exercise graded by accuracy on a hidden split, the reference answer (from the source
notebook) and every alternative in ``tests/alternatives/<Notebook>.yaml`` are trained with
seeds 0..N-1 the way the hidden test calls them, in this process (no notebook, no kernel: only
the notebook's imports and helper definitions are executed). Each run is scored on the hidden
split and on the validation split the student sees, and compared with the thresholds read from
the test cell: the hidden test's ``threshold=`` on the hidden split, the visible check's bar
(``valid_accuracy >= ...``) on the validation split. A correct answer should not fail more often
than 1 seed in 20.

    python bench/alternatives_seeds.py [--seeds 10] [--exercise iris-single ...] [--json out]
"""

from __future__ import annotations

import argparse
import ast
import json
import linecache
import os
import re
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from grader.kernel_environment import KERNEL_ENVIRONMENT  # noqa: E402 - imports nothing

# The environment of every kernel of the course, set before TensorFlow is imported.
os.environ.update(KERNEL_ENVIRONMENT)
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("MPLBACKEND", "Agg")

import nbformat  # noqa: E402
import numpy as np  # noqa: E402

from grader import checks, data  # noqa: E402
from tests.validity.variants import load_alternatives, nbgrader_meta  # noqa: E402

#: Most failures a correct answer may have: 1 seed in 20.
MAX_FAILURE_RATE = 1 / 20


@dataclass(frozen=True)
class Exercise:
    """An accuracy exercise: where it lives and how its hidden test trains and scores it."""

    notebook: str  # "assignment/Name"
    cell: str  # the answer cell's grade_id
    test: str  # the test cell's grade_id (holds the threshold)
    dataset: str
    setup: tuple[str, ...]  # cells run whole (minus plots and prints)
    helpers: tuple[str, ...]  # cells whose imports, functions and classes are needed
    train: str  # an expression of `ns` (the notebook's names) and `seed` giving the model
    transform: str | None = None  # name of the student's preprocessing in the notebook


EXERCISES = (
    Exercise(
        "frameworks/IntroPyTorch",
        "classifier",
        "test-classifier",
        "blobs",
        ("setup",),
        (),
        "(torch.manual_seed(seed), train_classifier(make_classifier(), seed=seed))[1]",
    ),
    Exercise(
        "frameworks/IntroPyTorch",
        "lit-classifier",
        "test-lit-classifier",
        "blobs",
        ("setup",),
        ("lightning-demo",),
        "train_on_blobs(LitClassifier, seed=seed)",
    ),
    Exercise(
        "frameworks/IntroKerasTF",
        "blobs-classifier",
        "test-blobs-classifier",
        "blobs",
        ("setup",),
        (),
        "train_blobs_classifier(blobs.train.x, blobs.train.y, seed=seed)",
    ),
    Exercise(
        "frameworks/IntroKeras",
        "digits-classifier",
        "test-digits-classifier",
        "digits",
        ("setup",),
        (),
        "train_digits_model(digits.train.x, digits.train.y, seed=seed)",
    ),
    *(
        Exercise(
            "lab/LabFrameworks",
            cell,
            f"test-{cell}",
            dataset,
            ("setup", "scaler"),
            ("helpers",),
            f"(torch.manual_seed(seed), {function}({inputs}, {dataset}.train.y, seed=seed))[1]",
            "scale_iris" if dataset == "iris" else None,
        )
        for cell, function, dataset in (
            ("iris-single", "iris_single_layer", "iris"),
            ("iris-multi", "iris_multi_layer", "iris"),
            ("digits-single", "digits_single_layer", "digits"),
            ("digits-multi", "digits_multi_layer", "digits"),
        )
        for inputs in ["scale_iris(iris.train.x)" if dataset == "iris" else "digits.train.x"]
    ),
)

SOLUTION_LINE = re.compile(r"^[ \t]*### (BEGIN|END) SOLUTION[ \t]*\n", re.MULTILINE)
THRESHOLD = re.compile(r"threshold=([0-9.]+)")
BAR = re.compile(r"valid_accuracy\s*>=\s*([0-9.]+)")


def _cells(notebook: Any) -> dict[str, str]:
    return {
        nbgrader_meta(c).get("grade_id", ""): c.source
        for c in notebook.cells
        if c.cell_type == "code"
    }


def _run(source: str | ast.Module, filename: str, namespace: dict[str, Any]) -> None:
    """Execute notebook code under ``filename``, registered with linecache so that tools that
    read a function's source (TensorFlow's autograph) find it, as they do in a notebook."""
    text = ast.unparse(source) if isinstance(source, ast.Module) else source
    linecache.cache[filename] = (len(text), None, text.splitlines(keepends=True), filename)
    exec(compile(text, filename, "exec"), namespace)


def _keep(node: ast.stmt, source: str, whole: bool) -> bool:
    """Statements of a setup cell (whole) or a helper cell (definitions only) worth running."""
    if isinstance(node, ast.Import | ast.ImportFrom | ast.FunctionDef | ast.ClassDef):
        return True
    if not whole or isinstance(node, ast.For):
        return False
    text = ast.get_source_segment(source, node) or ""
    return "plt." not in text and "print(" not in text


def notebook_namespace(exercise: Exercise, cells: dict[str, str]) -> dict[str, Any]:
    """The names the notebook defines before the exercise: imports, data, helpers."""
    namespace: dict[str, Any] = {"__name__": "__notebook__"}
    for name, whole in [
        *((c, True) for c in exercise.setup),
        *((c, False) for c in exercise.helpers),
    ]:
        source = cells[name]
        tree = ast.parse(source)
        tree.body = [n for n in tree.body if _keep(n, source, whole)]
        _run(tree, f"<notebook {exercise.notebook} {name}>", namespace)
    return namespace


def variants(exercise: Exercise, cells: dict[str, str]) -> dict[str, tuple[str, str]]:
    """name -> (style, answer cell source): the reference and every alternative."""
    found = {"reference": ("the reference solution", SOLUTION_LINE.sub("", cells[exercise.cell]))}
    path = ROOT / "tests" / "alternatives" / f"{Path(exercise.notebook).name}.yaml"
    for alternatives in load_alternatives(path):
        for answer in alternatives.answers:
            if answer.cell == exercise.cell:
                found[f"alternative-{alternatives.number}"] = (answer.style, answer.source)
    return found


def _score(model: Any, split: Any, transform: Callable | None) -> float:
    x = np.asarray(split.x)
    if transform is not None:
        x = np.asarray(transform(x.copy()), dtype=np.float32)
    return checks.accuracy(model, x, split.y)


def run_exercise(
    exercise: Exercise, seeds: int, only: set[str] | None, echo: bool = True
) -> list[dict[str, Any]]:
    """Train every variant of ``exercise`` with each seed; one result row per variant."""
    notebook = nbformat.read(ROOT / "source" / f"{exercise.notebook}.ipynb", as_version=4)
    cells = _cells(notebook)
    thresholds = [float(t) for t in THRESHOLD.findall(cells[exercise.test])]
    if len(thresholds) != 1:
        raise ValueError(f"{exercise.test}: expected one hidden threshold, found {thresholds}")
    threshold = thresholds[0]
    (bar,) = {float(b) for b in BAR.findall(cells[exercise.test])}
    base = notebook_namespace(exercise, cells)
    base.setdefault(exercise.dataset, data.load(exercise.dataset))
    hidden = data.hidden_split(exercise.dataset)
    valid = data.load(exercise.dataset).valid
    rows = []
    for name, (style, source) in variants(exercise, cells).items():
        if only and name not in only:
            continue
        namespace = dict(base)
        _run(source, f"<answer {exercise.cell} {name}>", namespace)
        transform = namespace.get(exercise.transform) if exercise.transform else None
        hidden_scores, valid_scores, started = [], [], time.monotonic()
        for seed in range(seeds):
            namespace["seed"] = seed
            model = eval(exercise.train, namespace)
            hidden_scores.append(_score(model, hidden, transform))
            valid_scores.append(_score(model, valid, transform))
        failures = sum(score < threshold - 1e-9 for score in hidden_scores)
        visible = [v >= bar - 1e-9 for v in valid_scores]
        hidden_after_visible = [
            h >= threshold - 1e-9 for h, seen in zip(hidden_scores, visible, strict=True) if seen
        ]
        rows.append(
            {
                "notebook": Path(exercise.notebook).name,
                "exercise": exercise.cell,
                "variant": name,
                "style": style,
                "threshold": threshold,
                "bar": bar,
                "hidden_n": len(hidden.y),
                "hidden": [round(s, 4) for s in hidden_scores],
                "valid": [round(s, 4) for s in valid_scores],
                "pass_rate": 1 - failures / seeds,
                "valid_pass_rate": sum(visible) / seeds,
                "hidden_pass_among_visible": (
                    sum(hidden_after_visible) / len(hidden_after_visible)
                    if hidden_after_visible
                    else None
                ),
                "seconds_per_run": round((time.monotonic() - started) / seeds, 2),
                "too_often": failures / seeds > MAX_FAILURE_RATE,
            }
        )
        if echo:
            print(_row_text(rows[-1]), flush=True)
    return rows


def _row_text(row: dict[str, Any]) -> str:
    flag = "  FAILS TOO OFTEN" if row["too_often"] else ""
    return (
        f"| {row['notebook']} | `{row['exercise']}` | {row['variant']} | {row['threshold']} | "
        f"{min(row['hidden']):.3f} | {np.mean(row['hidden']):.3f} | {row['pass_rate']:.0%} | "
        f"{min(row['valid']):.3f} | {row['valid_pass_rate']:.0%} | {row['seconds_per_run']} |{flag}"
    )


def main(argv: list[str] | None = None) -> int:
    """Run the seeds; print a Markdown table; exit 1 when a variant fails too often."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10, help="seeds 0..N-1 (10)")
    parser.add_argument("--exercise", action="append", help="only these answer cells")
    parser.add_argument("--variant", action="append", help="only these (reference, alternative-N)")
    parser.add_argument("--json", type=Path, help="write the rows to this file")
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore")
    import torch

    torch.set_num_threads(1)
    print(
        "| notebook | exercise | variant | threshold | hidden min | hidden mean | pass rate | "
        "valid min | valid pass rate | s/run |\n|---|---|---|---|---|---|---|---|---|---|"
    )
    rows = []
    for exercise in EXERCISES:
        if args.exercise and exercise.cell not in args.exercise:
            continue
        rows += run_exercise(exercise, args.seeds, set(args.variant or ()) or None)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1) + "\n", encoding="utf-8")
    return 1 if any(r["too_often"] for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
