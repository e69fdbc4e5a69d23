"""The grading pipeline: submissions of one assignment -> executed notebooks, grades, results.

For each student under ``submitted/<student>/<assignment>/``:

1. skip the submission if its ``results.json`` records the same fingerprint (content of the
   submission + the references + engine version): a rerun after a crash grades only what is
   missing;
2. per notebook of the assignment (as the gradebook knows it): read and validate it
   (:mod:`submission`), rebuild its nbgrader cells from the gradebook, run it in a fresh
   sandboxed kernel (:mod:`sandbox`, :mod:`kernel`) and judge each grade cell (:mod:`judge`)
   against the reference run of the source notebook (:mod:`reference`);
3. write the executed notebooks and ``results.json`` to a staging folder, record the grades in
   the gradebook in one transaction (:mod:`gradebook`), then put the staging folder in place of
   ``autograded/<student>/<assignment>/``.

:func:`grade_submission` depends only on its arguments (no global state, no ``chdir``), so a
scheduler can run many at once; only :func:`gradebook.record_submission` must stay with one
writer.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import logging
import os
import shutil
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import numpy as np
from nbgrader.coursedir import CourseDirectory
from traitlets.config import Config
from traitlets.config.loader import PyFileConfigLoader

from grader import __version__
from grader.engine import gradebook as gb
from grader.engine import judge
from grader.engine.kernel import NotebookRun, Timeouts, execute_notebook
from grader.engine.reference import Reference, load_or_run
from grader.engine.results import (
    RESULTS_NAME,
    NotebookSummary,
    SubmissionResults,
    TestResult,
    read_results,
    write_json_atomic,
)
from grader.engine.sandbox import Capabilities, Sandbox, SandboxPolicy, _interpreter_paths, probe
from grader.engine.submission import (
    MAX_NOTEBOOK_BYTES,
    MasterNotebook,
    NotGradable,
    read_notebook,
    sanitize,
    unanswered,
)
from grader.evidence import evidence_in_outputs

ENGINE_VERSION = f"grader-engine {__version__}/2"  # 2: sealed data in kernels
REFERENCE_FOLDER = ".reference"

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Course:
    """Paths and settings of one nbgrader course directory (read from its config)."""

    root: Path
    course_id: str
    db_url: str
    coursedir: CourseDirectory

    def source_dir(self, assignment: str) -> Path:
        """``source/<assignment>``."""
        return Path(self.coursedir.format_path(self.coursedir.source_directory, ".", assignment))

    def submitted_dir(self, student: str, assignment: str) -> Path:
        """``submitted/<student>/<assignment>``."""
        return Path(
            self.coursedir.format_path(self.coursedir.submitted_directory, student, assignment)
        )

    def autograded_dir(self, student: str, assignment: str) -> Path:
        """``autograded/<student>/<assignment>``."""
        return Path(
            self.coursedir.format_path(self.coursedir.autograded_directory, student, assignment)
        )

    def feedback_dir(self, student: str, assignment: str) -> Path:
        """``feedback/<student>/<assignment>``."""
        return Path(
            self.coursedir.format_path(self.coursedir.feedback_directory, student, assignment)
        )

    def release_dir(self, assignment: str) -> Path:
        """``release/<assignment>``."""
        return Path(self.coursedir.format_path(self.coursedir.release_directory, ".", assignment))

    def reference_cache(self, assignment: str) -> Path:
        """Where reference runs are cached (inside ``autograded/``, which git ignores)."""
        root = Path(self.coursedir.format_path(self.coursedir.autograded_directory, ".", "."))
        return root.resolve() / REFERENCE_FOLDER / assignment

    def students(self, assignment: str) -> list[str]:
        """Students with a submission of ``assignment``, sorted."""
        base = Path(self.coursedir.format_path(self.coursedir.submitted_directory, ".", "."))
        base = base.resolve()
        if not base.is_dir():
            return []
        return sorted(
            p.name
            for p in base.iterdir()
            if (p / assignment).is_dir() and not p.name.startswith(".")
        )

    def timestamp(self, student: str, assignment: str) -> str | None:
        """The submission's ``timestamp.txt``, as nbgrader reads it."""
        value = self.coursedir.get_existing_timestamp(str(self.submitted_dir(student, assignment)))
        return str(value) if value else None


def load_course(root: Path) -> Course:
    """Read ``nbgrader_config.py`` of ``root`` (when present) and resolve the course's paths."""
    root = root.resolve()
    config = Config()
    if (root / "nbgrader_config.py").is_file():
        config = PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config()
    coursedir = CourseDirectory(config=config)
    coursedir.root = str(root)
    return Course(root, coursedir.course_id or "default_course", coursedir.db_url, coursedir)


@dataclass(frozen=True)
class GradingOptions:
    """How to grade: time budgets, the sandbox, limits, and whether to regrade everything."""

    timeouts: Timeouts = field(default_factory=Timeouts)
    policy: SandboxPolicy = field(default_factory=SandboxPolicy)
    max_notebook_bytes: int = MAX_NOTEBOOK_BYTES
    force: bool = False


@dataclass(frozen=True)
class GradingContext:
    """Everything needed to grade any submission of one assignment (immutable, shareable)."""

    course: Course
    assignment: str
    notebooks: tuple[str, ...]
    masters: Mapping[str, MasterNotebook]
    references: Mapping[str, Reference]
    sandbox: Sandbox
    options: GradingOptions
    device: str
    labels: judge.LabelSource
    trusted_prefixes: tuple[str, ...]
    source_files: Mapping[str, Path]

    @property
    def fingerprint_base(self) -> str:
        """Engine version and reference keys: part of every submission's fingerprint."""
        keys = ",".join(f"{n}={self.references[n].key}" for n in sorted(self.references))
        return f"{ENGINE_VERSION};{keys}"


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


def hidden_labels() -> judge.LabelSource:
    """A label source backed by ``grader.data.hidden_split``, loaded in this process (plain
    mode; kernels get sealed data without these labels), cached."""

    @functools.lru_cache(maxsize=8)
    def labels(dataset: str) -> np.ndarray:
        from grader import data

        return np.asarray(data.hidden_split(dataset).y)

    return labels


def _files(folder: Path, skip_notebooks: bool) -> dict[str, Path]:
    found = {}
    if not folder.is_dir():
        return found
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if not path.is_file() or any(
            part.startswith(".") or part in ("__pycache__", "feedback") for part in relative.parts
        ):
            continue
        if relative.name in ("timestamp.txt", RESULTS_NAME):
            continue
        if skip_notebooks and path.suffix == ".ipynb":
            continue
        found[str(relative)] = path
    return found


def trusted_prefixes() -> tuple[str, ...]:
    """Folders whose code the tamper probe trusts: the interpreter and installed packages
    (the kernel adds the run's own copy of the kernel-side ``grader`` modules)."""
    return tuple(p.rstrip("/") + "/" for p in _interpreter_paths())


def prepare(
    course: Course,
    assignment: str,
    options: GradingOptions,
    capabilities: Capabilities | None = None,
    labels: judge.LabelSource | None = None,
) -> GradingContext:
    """Load the gradebook's master cells and the references; probe the sandbox once."""
    policy = options.policy
    hidden = {str(course.root)}
    if course.db_url.startswith("sqlite:///"):
        hidden.add(str(Path(course.db_url[len("sqlite:///") :]).resolve()))
    policy = dataclasses.replace(policy, hidden=tuple(sorted({*policy.hidden, *hidden})))
    capabilities = capabilities or probe(policy)
    for missing in capabilities.missing:
        log.warning("sandbox: %s", missing)
    sandbox = Sandbox(policy, capabilities)
    notebooks = tuple(gb.assignment_notebooks(course.db_url, assignment))
    masters = {name: gb.load_master(course.db_url, assignment, name) for name in notebooks}
    source_files = _files(course.source_dir(assignment), skip_notebooks=True)
    prefixes = trusted_prefixes()
    references = {}
    for name in notebooks:
        source = course.source_dir(assignment) / f"{name}.ipynb"
        if source.is_file():
            references[name] = load_or_run(
                source,
                source_files,
                course.reference_cache(assignment),
                sandbox,
                options.timeouts,
                prefixes,
            )
        else:
            log.warning("no source notebook %s: its tests get nbgrader's rule only", source)
            references[name] = Reference(name, "none")
    return GradingContext(
        course=course,
        assignment=assignment,
        notebooks=notebooks,
        masters=masters,
        references=references,
        sandbox=sandbox,
        options=options,
        device=expected_device(),
        labels=labels or hidden_labels(),
        trusted_prefixes=prefixes,
        source_files=source_files,
    )


def fingerprint(context: GradingContext, folder: Path) -> str:
    """What a submission's grade depends on: its files, the references, the engine."""
    digest = hashlib.sha256(context.fingerprint_base.encode())
    for name, path in _files(folder, skip_notebooks=False).items():
        digest.update(f"\0{name}\0".encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


@dataclass
class GradedNotebook:
    """One notebook's outcome: the executed notebook (if any), verdicts and gradebook data."""

    summary: NotebookSummary
    verdicts: list[judge.Verdict]
    executed: nbformat.NotebookNode | None
    grades: gb.NotebookGrades


def _not_gradable(name: str, master: MasterNotebook, reason: str) -> GradedNotebook:
    grades = gb.NotebookGrades(name, flagged=True)
    verdicts = []
    for cell in master.grade_cells:
        grades.grades[cell.name] = gb.CellGrade(None, True)
        verdicts.append(judge.Verdict(cell.name, None, float(cell.points or 0), False, (reason,)))
    summary = NotebookSummary(name, False, 0.0, 0.0, 0.0, reasons=[reason])
    return GradedNotebook(summary, verdicts, None, grades)


def _missing(name: str, master: MasterNotebook) -> GradedNotebook:
    grades = gb.NotebookGrades(name)
    verdicts = []
    for cell in master.grade_cells:
        grades.grades[cell.name] = gb.CellGrade(0.0, False)
        verdicts.append(
            judge.Verdict(cell.name, 0.0, float(cell.points or 0), False, ("not submitted",))
        )
    max_score = sum(v.max_score for v in verdicts)
    summary = NotebookSummary(name, True, 0.0, max_score, 0.0, reasons=["not submitted"])
    return GradedNotebook(summary, verdicts, None, grades)


def judge_notebook(
    nb: nbformat.NotebookNode,
    run: NotebookRun,
    reference: Reference,
    labels: judge.LabelSource,
    device: str,
) -> list[judge.Verdict]:
    """Verdicts on every grade cell of an executed notebook."""
    verdicts = []
    seen: list[str] = []
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
                cell, facts, reference.evidence_for(meta["grade_id"]), student, labels, device
            )
        )
    return verdicts


def grade_notebook(context: GradingContext, name: str, folder: Path) -> GradedNotebook:
    """Validate, run and judge one notebook of a submission."""
    master = context.masters[name]
    path = folder / f"{name}.ipynb"
    if not path.is_file():
        return _missing(name, master)
    try:
        submitted = read_notebook(path, context.options.max_notebook_bytes)
    except NotGradable as error:
        return _not_gradable(name, master, error.reason)
    sanitized = sanitize(submitted, master)
    nb = sanitized.notebook
    files = {**_files(folder, skip_notebooks=True), **context.source_files}
    with context.sandbox.run(files) as prepared:
        run = execute_notebook(nb, prepared, context.options.timeouts, context.trusted_prefixes)
    verdicts = judge_notebook(nb, run, context.references[name], context.labels, context.device)
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
        flags=list(run.tampering),
    )
    return GradedNotebook(summary, verdicts, nb, grades)


def _results(
    context: GradingContext, student: str, graded: Sequence[GradedNotebook], fp: str
) -> SubmissionResults:
    results = SubmissionResults(context.assignment, student, fingerprint=fp, engine=ENGINE_VERSION)
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


def grade_submission(context: GradingContext, student: str) -> SubmissionResults | None:
    """Grade one student's submission end to end; None when it was already graded as is."""
    course, assignment = context.course, context.assignment
    folder = course.submitted_dir(student, assignment)
    destination = course.autograded_dir(student, assignment)
    fp = fingerprint(context, folder)
    previous = read_results(destination / RESULTS_NAME)
    if previous and previous.get("fingerprint") == fp and not context.options.force:
        log.info("%s: already graded, skipping", student)
        return None
    started = time.monotonic()
    graded = [grade_notebook(context, name, folder) for name in context.notebooks]
    results = _results(context, student, graded, fp)
    staging = destination.parent / f".{assignment}.partial"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    for name, path in _files(folder, skip_notebooks=True).items():
        target = staging / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)
    for item in graded:
        if item.executed is not None:
            nbformat.write(item.executed, staging / f"{item.summary.name}.ipynb")
    write_json_atomic(staging / RESULTS_NAME, results.to_json())
    gb.record_submission(
        course.db_url,
        assignment,
        student,
        {item.summary.name: item.grades for item in graded},
        timestamp=course.timestamp(student, assignment),
    )
    shutil.rmtree(destination, ignore_errors=True)
    os.replace(staging, destination)
    log.info(
        "%s: %g/%g in %.1f s%s",
        student,
        results.score,
        results.max_score,
        time.monotonic() - started,
        "" if results.gradable else " (not gradable)",
    )
    return results


def autograde(
    course: Course,
    assignment: str,
    options: GradingOptions,
    students: Sequence[str] | None = None,
    on_result: Callable[[str, SubmissionResults | None], None] | None = None,
) -> dict[str, SubmissionResults | None]:
    """Grade the submissions of ``assignment`` (all, or the ``students`` given), one by one."""
    context = prepare(course, assignment, options)
    chosen = list(students) if students else course.students(assignment)
    outcomes: dict[str, SubmissionResults | None] = {}
    for student in chosen:
        if not course.submitted_dir(student, assignment).is_dir():
            log.warning("%s has no submission of %s", student, assignment)
            continue
        outcomes[student] = grade_submission(context, student)
        if on_result:
            on_result(student, outcomes[student])
    return outcomes


def iter_results(course: Course, assignment: str) -> Iterator[tuple[str, dict]]:
    """(student, results.json document) for every graded submission of ``assignment``."""
    base = Path(course.coursedir.format_path(course.coursedir.autograded_directory, ".", "."))
    if not base.is_dir():
        return
    for folder in sorted(base.resolve().iterdir()):
        if folder.name.startswith("."):
            continue
        document = read_results(folder / assignment / RESULTS_NAME)
        if document is not None:
            yield folder.name, document
