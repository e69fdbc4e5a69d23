"""One submission graded from data alone: the unit of work a Dask worker runs.

A worker need not see the course folder. :class:`AssignmentPlan` carries everything that is the
same for every student of an assignment (the gradebook's master cells, the reference evidence,
the assignment's other files as bytes, the sandbox policy, the options); :func:`grade_files`
takes one student's files as bytes and returns a :class:`GradedSubmission` (executed notebooks as
JSON text, per-cell grades, ``results.json``'s content). Everything the worker needs on its own
machine (the interpreter, this package, the datasets it seals for the kernel) comes from its own
environment. The client writes what comes back (:mod:`grader.engine.autograde`).
"""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import numpy as np

from grader.engine import gradebook as gb
from grader.engine import judge, words
from grader.engine.files import stage_files, submission_files
from grader.engine.kernel import NotebookRun, Timeouts, execute_notebook
from grader.engine.outputs import OutputLimits
from grader.engine.reference import Reference
from grader.engine.results import NotebookSummary, SubmissionResults, TestResult
from grader.engine.sandbox import Sandbox, SandboxPolicy, interpreter_paths, probe
from grader.engine.scratch import folder as scratch_folder
from grader.engine.submission import (
    MAX_NOTEBOOK_BYTES,
    MasterNotebook,
    NotGradable,
    read_notebook,
    sanitize,
    unanswered,
)
from grader.engine.warm import worker_zygote
from grader.evidence import evidence_in_outputs

#: Environment variables that bound the threads of the numeric libraries in a kernel.
THREAD_VARIABLES = (
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "TF_NUM_INTRAOP_THREADS",
)


@dataclass(frozen=True)
class GradingOptions:
    """How to grade: time budgets, the sandbox, limits, threads, and whether to regrade."""

    timeouts: Timeouts = field(default_factory=Timeouts)
    policy: SandboxPolicy = field(default_factory=SandboxPolicy)
    max_notebook_bytes: int = MAX_NOTEBOOK_BYTES
    force: bool = False
    output_limits: OutputLimits = field(default_factory=OutputLimits)
    threads_per_kernel: int | None = None  # None: the libraries' own default
    warm: bool = True  # kernels forked from a zygote that imported the heavy libraries once


def thread_environment(threads: int | None) -> dict[str, str]:
    """Kernel environment that holds OpenMP, BLAS, PyTorch and TensorFlow to ``threads``, so
    that concurrent kernels together fit the cores instead of each taking all of them."""
    if not threads:
        return {}
    env = {name: str(threads) for name in THREAD_VARIABLES}
    env["TF_NUM_INTEROP_THREADS"] = "1"
    return env


class FixedLabels:
    """A label source from arrays given by name, falling back to ``grader.data``'s hidden split
    (a picklable replacement for a function, so that it travels to Dask workers)."""

    def __init__(self, fixed: Mapping[str, np.ndarray] | None = None) -> None:
        self.fixed = {name: np.asarray(values) for name, values in (fixed or {}).items()}

    def __call__(self, dataset: str) -> np.ndarray:
        """The true labels of ``dataset``'s hidden split."""
        if dataset in self.fixed:
            return self.fixed[dataset]
        return _hidden_labels(dataset)


@functools.lru_cache(maxsize=8)
def _hidden_labels(dataset: str) -> np.ndarray:
    from grader import data

    return np.asarray(data.hidden_split(dataset).y)


def expected_device(env: Mapping[str, str] | None = None) -> str:
    """The device type kernels get: "cuda" when a GPU is given and torch sees it, else "cpu"."""
    env = os.environ if env is None else env
    visible = env.get("CUDA_VISIBLE_DEVICES")
    if visible is None or visible.strip() in ("", "-1") or not Path("/dev/nvidiactl").exists():
        return "cpu"
    try:
        import torch
    except ImportError:
        return "cpu"
    return "cuda" if torch.cuda.is_available() else "cpu"


def trusted_prefixes() -> tuple[str, ...]:
    """Folders whose code the tamper probe trusts: the interpreter and installed packages
    (the kernel adds the run's own copy of the kernel-side ``grader`` modules)."""
    return tuple(p.rstrip("/") + "/" for p in interpreter_paths())


@dataclass(frozen=True)
class AssignmentPlan:
    """Everything needed to grade any submission of one assignment, as data (picklable)."""

    assignment: str
    notebooks: tuple[str, ...]
    masters: Mapping[str, MasterNotebook]
    references: Mapping[str, Reference]
    source_files: Mapping[str, bytes]  # the assignment's other files (datasets, helpers)
    options: GradingOptions
    labels: judge.LabelSource | None = None  # None: the worker's own grader.data
    engine: str = ""
    preload: tuple[str, ...] = ()  # libraries a zygote imports once (empty: cold kernels)
    # the sealed datasets' files, computed once by the grading process (none: each worker's own)
    sealed: Mapping[str, bytes] = field(default_factory=dict)
    # notebook -> the language its students read (its source's ``metadata.grader.language``)
    languages: Mapping[str, str] = field(default_factory=dict)

    def language(self, notebook: str) -> str:
        """The language of a notebook's verdicts: its students' ("en" by default)."""
        return self.languages.get(notebook, "en")

    @property
    def fingerprint_base(self) -> str:
        """Engine version and reference keys: part of every submission's fingerprint."""
        keys = ",".join(f"{n}={self.references[n].key}" for n in sorted(self.references))
        return f"{self.engine};{keys}"


@dataclass
class GradedNotebook:
    """One notebook's outcome: the executed notebook (if any), verdicts and gradebook data."""

    summary: NotebookSummary
    verdicts: list[judge.Verdict]
    executed: nbformat.NotebookNode | None
    grades: gb.NotebookGrades


@dataclass
class GradedSubmission:
    """What a worker returns for one submission: all of it data, nothing written anywhere."""

    student: str
    results: SubmissionResults
    executed: dict[str, str]  # notebook name -> executed notebook (nbformat JSON text)
    grades: dict[str, gb.NotebookGrades]
    seconds: float = 0.0


@dataclass(frozen=True)
class Workbench:
    """What one worker grades with: its sandbox, its interpreter's trusted folders, the device
    it gives kernels, the labels it judges against, and the staged assignment files."""

    sandbox: Sandbox
    trusted_prefixes: tuple[str, ...]
    device: str
    labels: judge.LabelSource
    source_files: Mapping[str, Path]
    zygote: str | None = None  # socket of a zygote that forks warm kernels


def not_gradable_notebook(name: str, master: MasterNotebook, reason: str) -> GradedNotebook:
    """A notebook that could not be graded: no score, flagged for a person, with the reason."""
    grades = gb.NotebookGrades(name, flagged=True)
    verdicts = []
    for cell in master.grade_cells:
        grades.grades[cell.name] = gb.CellGrade(None, True)
        verdicts.append(judge.Verdict(cell.name, None, float(cell.points or 0), False, (reason,)))
    summary = NotebookSummary(name, False, 0.0, 0.0, 0.0, reasons=[reason])
    return GradedNotebook(summary, verdicts, None, grades)


def _missing(name: str, master: MasterNotebook, language: str) -> GradedNotebook:
    grades = gb.NotebookGrades(name)
    verdicts = []
    missing = words.say(language, "not-submitted")
    for cell in master.grade_cells:
        grades.grades[cell.name] = gb.CellGrade(0.0, False)
        verdicts.append(judge.Verdict(cell.name, 0.0, float(cell.points or 0), False, (missing,)))
    max_score = sum(v.max_score for v in verdicts)
    # the summary's reason stays "not submitted" in every language: reports read it as a marker
    summary = NotebookSummary(name, True, 0.0, max_score, 0.0, reasons=["not submitted"])
    return GradedNotebook(summary, verdicts, None, grades)


def judge_notebook(
    nb: nbformat.NotebookNode,
    run: NotebookRun,
    reference: Reference,
    labels: judge.LabelSource,
    device: str,
    language: str = "en",
) -> list[judge.Verdict]:
    """Verdicts on every grade cell of an executed notebook, worded in ``language``."""
    verdicts = []
    seen: list[words.Message] = []
    for index, cell in enumerate(nb.cells):
        record = run.cells.get(index)
        if record is not None:
            seen += [t for t in record.tampered if t not in seen]
        meta = cell.metadata.get("nbgrader", {})
        if not meta.get("grade"):
            continue
        if record is None:
            facts = judge.CellFacts("skipped", tampered_before=tuple(seen))
        else:
            facts = judge.CellFacts(record.status, record.message, record.outputs, tuple(seen))
        student = evidence_in_outputs(list(facts.outputs))
        verdicts.append(
            judge.judge_cell(
                cell,
                facts,
                reference.evidence_for(meta["grade_id"]),
                student,
                labels,
                device,
                language,
            )
        )
    return verdicts


def grade_notebook(
    plan: AssignmentPlan, bench: Workbench, name: str, folder: Path
) -> GradedNotebook:
    """Validate, run and judge one notebook of a submission staged in ``folder``."""
    master = plan.masters[name]
    if plan.references[name].pending:  # a session runs them before it grades anything
        raise RuntimeError(f"the reference run of {name} has not been made")
    path = folder / f"{name}.ipynb"
    language = plan.language(name)
    if not path.is_file():
        return _missing(name, master, language)
    try:
        submitted = read_notebook(path, plan.options.max_notebook_bytes)
    except NotGradable as error:
        return not_gradable_notebook(name, master, error.message.text(language))
    sanitized = sanitize(submitted, master, language)
    nb = sanitized.notebook
    files = {**submission_files(folder, skip_notebooks=True), **bench.source_files}
    env = thread_environment(plan.options.threads_per_kernel)
    with bench.sandbox.run(files, env, bench.zygote) as prepared:
        run = execute_notebook(
            nb,
            prepared,
            plan.options.timeouts,
            bench.trusted_prefixes,
            plan.options.output_limits,
            language,
        )
    verdicts = judge_notebook(nb, run, plan.references[name], bench.labels, bench.device, language)
    grades = gb.NotebookGrades(name, flagged=bool(run.tampering))
    for verdict in verdicts:
        grades.grades[verdict.grade_id] = gb.CellGrade(verdict.score, verdict.score is None)
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution") or meta.get("task"):
            no_answer = meta.get("solution") and not meta.get("task") and unanswered(cell)
            grades.comments[meta["grade_id"]] = "No response." if no_answer else None
    auto = [v for v in verdicts if not v.manual]
    reasons = list(sanitized.notes)
    reasons += [r.message for r in run.cells.values() if r.status == "timeout"]
    if run.kernel_problem and run.kernel_problem not in reasons:
        reasons.append(run.kernel_problem)
    summary = NotebookSummary(
        name,
        True,
        round(sum(v.score or 0.0 for v in auto), 6),
        round(sum(v.max_score for v in auto), 6),
        round(run.seconds, 3),
        reasons=reasons,
        flags=[str(f) for f in run.tampering],
    )
    return GradedNotebook(summary, verdicts, nb, grades)


def collect_results(
    assignment: str, student: str, graded: Sequence[GradedNotebook], fp: str, engine: str
) -> SubmissionResults:
    """``results.json``'s content from the notebooks' outcomes."""
    results = SubmissionResults(assignment, student, fingerprint=fp, engine=engine)
    for item in graded:
        results.notebooks.append(item.summary)
        results.execution_time += item.summary.execution_time
        for verdict in item.verdicts:
            name = f"{item.summary.name}/{verdict.grade_id}"
            if verdict.manual:
                results.manual.append(
                    {"name": name, "auto_score": verdict.score, "max_score": verdict.max_score}
                )
                continue
            results.tests.append(
                TestResult(
                    name=name,
                    score=float(verdict.score or 0.0),
                    max_score=verdict.max_score,
                    status="passed" if verdict.passed else "failed",
                    output="\n".join(verdict.messages),
                )
            )
    return results


def grade_files(
    plan: AssignmentPlan,
    student: str,
    files: Mapping[str, bytes],
    fp: str = "",
    zygote: str | None = None,
) -> GradedSubmission:
    """Grade one student's submission given as data; runs anywhere this package is installed.
    Kernels come from ``zygote`` (or the Dask worker's own, :mod:`grader.engine.warm`) when
    there is one.

    Raises :class:`grader.engine.sandbox.SandboxError` when this machine cannot apply the sandbox
    that the plan asks for, and lets any unexpected error through: the caller records it as the
    submission's grading error (never a zero).
    """
    started = time.monotonic()
    capabilities = probe(plan.options.policy)
    if plan.options.policy.enabled:
        capabilities.require()
    with scratch_folder("submission") as scratch:
        folder = scratch / "submission"
        folder.mkdir()
        stage_files(folder, files)
        sources = scratch / "source"
        sources.mkdir()
        bench = Workbench(
            sandbox=Sandbox(plan.options.policy, capabilities, plan.sealed),
            trusted_prefixes=trusted_prefixes(),
            device=expected_device(),
            labels=plan.labels or FixedLabels(),
            source_files=stage_files(sources, plan.source_files),
            zygote=zygote or (worker_zygote() if plan.preload else None),
        )
        graded = [grade_notebook(plan, bench, name, folder) for name in plan.notebooks]
    results = collect_results(plan.assignment, student, graded, fp, plan.engine)
    return GradedSubmission(
        student=student,
        results=results,
        executed={
            item.summary.name: nbformat.writes(item.executed)
            for item in graded
            if item.executed is not None
        },
        grades={item.summary.name: item.grades for item in graded},
        seconds=time.monotonic() - started,
    )


def unreadable(
    plan: AssignmentPlan, student: str, message_id: str, /, **fields: object
) -> GradedSubmission:
    """A submission the engine could not grade (its files unreadable, or its grading failed):
    not gradable, with the reason (:mod:`grader.engine.words`) in each notebook's language."""
    graded = [
        not_gradable_notebook(n, plan.masters[n], words.say(plan.language(n), message_id, **fields))
        for n in plan.notebooks
    ]
    results = collect_results(plan.assignment, student, graded, "", plan.engine)
    return GradedSubmission(student, results, {}, {g.summary.name: g.grades for g in graded})
