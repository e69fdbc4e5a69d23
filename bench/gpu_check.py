"""Run the reference solutions' PyTorch notebooks on this machine's GPU and report each test.

For a machine with CUDA (it needs only PyTorch, Lightning, scikit-learn, matplotlib and NumPy:
no Jupyter): every code cell of each notebook runs in order in one namespace, as a kernel would
run it, and each graded test cell is reported as passed or failed with its message. It prints
the device that `grader.checks.grading_device()` hands to the device tests, so a run shows
whether those tests really saw `cuda`.

    python bench/gpu_check.py [NOTEBOOK ...]   # default: IntroPyTorch LabFrameworks Overfitting
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("MPLBACKEND", "Agg")

from grader import checks  # noqa: E402
from grader.course import COURSE  # noqa: E402

DEFAULT = ("IntroPyTorch", "LabFrameworks", "Overfitting")


def run_notebook(name: str) -> list[tuple[str, bool, str]]:
    """(grade_id, passed, message) for each graded test cell of one reference notebook."""
    assignment = next(a for a, names in COURSE.items() if name in names)
    notebook = json.loads((ROOT / "source" / assignment / f"{name}.ipynb").read_text())
    namespace: dict = {"__name__": "__main__"}
    results = []
    for cell in notebook["cells"]:
        if cell["cell_type"] != "code":
            continue
        source = "".join(cell["source"])
        meta = cell.get("metadata", {}).get("nbgrader", {})
        try:
            exec(compile(source, f"<{name}:{meta.get('grade_id')}>", "exec"), namespace)
            passed, message = True, ""
        except BaseException as error:  # a cell's failure is the report, not the end
            passed = False
            message = "".join(traceback.format_exception_only(type(error), error)).strip()
        if meta.get("grade") and not meta.get("solution"):
            results.append((meta.get("grade_id", "?"), passed, message))
        elif not passed:
            print(f"  (cell {meta.get('grade_id')} failed: {message.splitlines()[-1]})")
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", default=list(DEFAULT))
    args = parser.parse_args()
    import torch

    print(f"python {platform.python_version()}, torch {torch.__version__}")
    if torch.cuda.is_available():
        print(f"GPU: {torch.cuda.get_device_name(0)}")
    print(f"grading_device() = {checks.grading_device()}")
    failed = 0
    for name in args.notebooks:
        start = time.perf_counter()
        results = run_notebook(name)
        seconds = time.perf_counter() - start
        passed = sum(ok for _, ok, _ in results)
        print(f"{name}: {passed}/{len(results)} tests passed in {seconds:.1f} s")
        for grade_id, ok, message in results:
            if not ok:
                failed += 1
                print(f"  FAILED {grade_id}: {message}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
