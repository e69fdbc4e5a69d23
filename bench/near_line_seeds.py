"""Near-the-line answers over seeds: how often a model that just clears the visible bar also
passes the hidden test.

The near-the-line answers are the alternatives in ``tests/alternatives/<Notebook>.yaml`` whose
style starts with "near the line": they stop training the moment the validation accuracy reaches
the bar the instructions state. Each is trained with seeds 0..N-1 the way the hidden test calls
it (``bench/alternatives_seeds.py``: the notebook's imports and helpers in this process, no
kernel) and scored on the validation split (against the bar: the visible check) and on the
hidden split (against the hidden test's ``threshold=``). Reported per exercise and style: the
visible-pass rate, and the hidden-pass rate among the seeds whose model passed the visible check
(the same model measured on both splits), and the outcome for the seed the hidden test itself
uses (what the validity suite will see).

    python bench/near_line_seeds.py [--seeds 20] [--exercise digits-multi ...] [--json out]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import warnings
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import alternatives_seeds as seeds

NEAR_LINE = "near the line"
HIDDEN_BLOCK = re.compile(r"### BEGIN HIDDEN TESTS(.*?)### END HIDDEN TESTS", re.DOTALL)
SEED = re.compile(r"seed=(\d+)")


def graded_seed(exercise: seeds.Exercise) -> int:
    """The seed the hidden test trains with (0 where it measures the visible check's model)."""
    notebook = seeds.nbformat.read(
        seeds.ROOT / "source" / f"{exercise.notebook}.ipynb", as_version=4
    )
    block = HIDDEN_BLOCK.search(seeds._cells(notebook)[exercise.test])
    found = SEED.findall(block[1]) if block else []
    return int(found[0]) if found else 0


def near_line_variants(exercise: seeds.Exercise) -> set[str]:
    notebook = seeds.nbformat.read(
        seeds.ROOT / "source" / f"{exercise.notebook}.ipynb", as_version=4
    )
    return {
        name
        for name, (style, _) in seeds.variants(exercise, seeds._cells(notebook)).items()
        if style.startswith(NEAR_LINE)
    }


def summarize(row: dict[str, Any], graded: int) -> dict[str, Any]:
    bar, threshold = row["bar"], row["threshold"]
    visible = [v >= bar - 1e-9 for v in row["valid"]]
    hidden = [h >= threshold - 1e-9 for h in row["hidden"]]
    after = [h for h, v in zip(hidden, visible, strict=True) if v]
    return {
        **row,
        "seeds": len(visible),
        "visible_passes": sum(visible),
        "hidden_passes_among_visible": sum(after),
        "graded_seed": graded,
        "graded_seed_passes": (visible[0] and hidden[graded] if graded < len(hidden) else None),
    }


def row_text(row: dict[str, Any]) -> str:
    among = row["hidden_passes_among_visible"]
    shown = row["visible_passes"]
    rate = f"{among}/{shown} ({among / shown:.0%})" if shown else "-"
    graded = {True: "passes", False: "fails", None: "-"}[row["graded_seed_passes"]]
    return (
        f"| {row['notebook']} `{row['exercise']}` | {row['variant']} | {row['bar']:.2f} / "
        f"{row['threshold']} | {row['visible_passes']}/{row['seeds']} | {rate} | "
        f"{min(row['hidden']):.3f}-{max(row['hidden']):.3f} | "
        f"{min(row['valid']):.3f}-{max(row['valid']):.3f} | seed {row['graded_seed']}: {graded} |"
    )


HEADER = (
    "| exercise | answer | bar / hidden threshold | visible passes | hidden passes among them "
    "| hidden min-max | validation min-max | graded run |\n|---|---|---|---|---|---|---|---|"
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20, help="seeds 0..N-1 (20)")
    parser.add_argument("--exercise", action="append", help="only these answer cells")
    parser.add_argument("--json", type=Path, help="write the rows to this file")
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore")
    import torch

    torch.set_num_threads(1)
    print(HEADER, flush=True)
    rows = []
    for exercise in seeds.EXERCISES:
        if args.exercise and exercise.cell not in args.exercise:
            continue
        chosen = near_line_variants(exercise)
        if not chosen:
            continue
        for row in seeds.run_exercise(exercise, args.seeds, chosen, echo=False):
            rows.append(summarize(row, graded_seed(exercise)))
            print(row_text(rows[-1]), flush=True)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1) + "\n", encoding="utf-8")
    failing = [
        r
        for r in rows
        if r["visible_passes"]
        and r["hidden_passes_among_visible"] < (1 - seeds.MAX_FAILURE_RATE) * r["visible_passes"]
    ]
    return 1 if failing else 0


if __name__ == "__main__":
    sys.exit(main())
