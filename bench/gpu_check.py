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
import contextlib
import io
import json
import os
import platform
import sys
import time
import traceback
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("MPLBACKEND", "Agg")

from grader import checks  # noqa: E402
from grader.engine.judge import judge_evidence  # noqa: E402
from grader.evidence import Evidence, from_payload, to_payload  # noqa: E402
from grader.syllabus import COURSE  # noqa: E402

DEFAULT = ("IntroPyTorch", "LabFrameworks", "Overfitting")
#: Words in a mutant's test id that mark a device test (run with --mutants).
DEVICE_TESTS = ("device", "trainer", "pick", "step")


class Collector:
    """Stands in for ``emit`` outside IPython: keeps each piece of evidence, round-tripped
    through the wire format the engine reads, under the cell that emitted it."""

    def __init__(self) -> None:
        self.cell = ""
        self.items: dict[str, list[Evidence]] = {}

    def __call__(self, check: str, kind: str, values: Any, *, expect: Any = None) -> None:
        evidence = Evidence(check=check, kind=kind, values=values, expect=expect or {})
        self.items.setdefault(self.cell, []).append(from_payload(to_payload(evidence)))


def hidden_labels(dataset: str) -> Any:
    """The hidden split's labels, read here as the engine reads them."""
    from grader import data

    return data.hidden_split(dataset).y


def run_notebook(
    name: str, replace: dict[str, tuple[str, str]] | None = None
) -> tuple[dict[str, tuple[bool, str]], dict[str, list[Evidence]]]:
    """Run one reference notebook (with ``replace``: grade_id -> (old, new) applied to answer
    cells) cell by cell; each graded test cell's (ran without error, message) and evidence."""
    assignment = next(a for a, names in COURSE.items() if name in names)
    notebook = json.loads((ROOT / "source" / assignment / f"{name}.ipynb").read_text())
    collector = Collector()
    patched = [
        m
        for m in list(sys.modules.values())
        if getattr(m, "__name__", "").startswith("grader.checks")
    ]
    saved = {m: m.emit for m in patched if hasattr(m, "emit")}
    for module in saved:
        module.emit = collector  # type: ignore[attr-defined]
    namespace: dict = {"__name__": "__main__"}
    results = {}
    try:
        for cell in notebook["cells"]:
            if cell["cell_type"] != "code":
                continue
            source = "".join(cell["source"])
            meta = cell.get("metadata", {}).get("nbgrader", {})
            grade_id = meta.get("grade_id", "?")
            if replace and grade_id in replace:
                old, new = replace[grade_id]
                if old not in source:
                    raise SystemExit(f"{name}/{grade_id}: the mutant no longer applies")
                source = source.replace(old, new)
            collector.cell = grade_id
            try:
                with contextlib.redirect_stdout(io.StringIO()):  # the cells' own prints
                    exec(compile(source, f"<{name}:{grade_id}>", "exec"), namespace)
                ran, message = True, ""
            except BaseException as error:  # a cell's failure is the report, not the end
                ran = False
                message = "".join(traceback.format_exception_only(type(error), error)).strip()
            if meta.get("grade") and not meta.get("solution"):
                results[grade_id] = (ran, message)
            elif not ran:
                print(f"  (cell {grade_id} failed: {message.splitlines()[-1]})")
    finally:
        for module, original in saved.items():
            module.emit = original  # type: ignore[attr-defined]
    return results, collector.items


def verdicts(
    results: dict[str, tuple[bool, str]],
    student: dict[str, list[Evidence]],
    reference: dict[str, list[Evidence]],
    device: str,
) -> dict[str, str]:
    """grade_id -> "" (passed) or why it failed: the cell must run, and each reference item
    must be matched by the student's and pass the engine's judge (on ``device``)."""
    out = {}
    for grade_id, (ran, message) in results.items():
        if not ran:
            out[grade_id] = message.splitlines()[-1] if message else "error"
            continue
        mine = {(e.check, e.kind): e for e in student.get(grade_id, [])}
        problems = []
        for ref in reference.get(grade_id, []):
            found = mine.get((ref.check, ref.kind))
            if found is None:
                problems.append(f"no {ref.kind} evidence for {ref.check}")
                continue
            problems += judge_evidence(found, ref, hidden_labels, device)
        out[grade_id] = "; ".join(problems)
    return out


def device_mutants(name: str) -> list[dict[str, Any]]:
    """The notebook's mutants whose test is a device test (tests/mutants/<name>.yaml)."""
    import yaml

    path = ROOT / "tests" / "mutants" / f"{name}.yaml"
    if not path.is_file():
        return []
    entries = yaml.safe_load(path.read_text()) or []
    return [e for e in entries if any(word in e["test"] for word in DEVICE_TESTS)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", default=list(DEFAULT))
    parser.add_argument(
        "--mutants", action="store_true", help="also run each device test's mutants"
    )
    args = parser.parse_args()
    import torch

    print(f"python {platform.python_version()}, torch {torch.__version__}")
    if torch.cuda.is_available():
        print(f"GPU: {torch.cuda.get_device_name(0)} ({torch.cuda.device_count()} visible)")
    device = checks.grading_device()
    print(f"grading_device() = {device}")
    failed = 0
    for name in args.notebooks:
        start = time.perf_counter()
        results, evidence = run_notebook(name)
        judged = verdicts(results, evidence, evidence, device)
        seconds = time.perf_counter() - start
        passed = sum(not problem for problem in judged.values())
        print(f"{name}: {passed}/{len(judged)} tests passed in {seconds:.1f} s")
        for grade_id, problem in judged.items():
            kinds = sorted({e.kind for e in evidence.get(grade_id, [])})
            print(f"  {'ok  ' if not problem else 'FAIL'} {grade_id} {kinds} {problem}")
            failed += bool(problem)
        if not args.mutants:
            continue
        for mutant in device_mutants(name):
            start = time.perf_counter()
            replace = {mutant["cell"]: tuple(mutant["replace"])}
            m_results, m_evidence = run_notebook(name, replace)
            m_judged = verdicts(m_results, m_evidence, evidence, device)
            lost = sorted(g for g, problem in m_judged.items() if problem)
            exact = lost == [mutant["test"]]
            failed += not exact
            seconds = time.perf_counter() - start
            print(
                f"  mutant ({mutant['why']}): lost {lost} "
                f"{'= its test' if exact else '!= ' + mutant['test']} in {seconds:.1f} s"
            )
            for grade_id in lost:
                print(f"    {grade_id}: {m_judged[grade_id][:200]}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
