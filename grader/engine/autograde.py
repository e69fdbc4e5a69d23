"""The grading pipeline: submissions of one assignment -> executed notebooks, grades, results.

1. :func:`prepare` (the client): probe the sandbox and refuse to start when it cannot be applied
   (unless ``--no-sandbox``), load the gradebook's master cells and the reference run of each
   source notebook (cached by content), and pack them into an :class:`AssignmentPlan`; a
   :class:`GradingSession` runs the references not cached yet in kernels forked from its zygote
   (:func:`complete_references`);
2. per student under ``submitted/<student>/<assignment>/``: skip the submission if its
   ``results.json`` records the same fingerprint (its files + the references + the engine), so
   that a rerun after a crash grades only what is missing; otherwise read its files;
3. grade (:func:`grader.engine.task.grade_files`, on Dask workers by default, see
   :mod:`grader.engine.schedule`; in this process with :func:`grade_submission`);
4. as each submission comes back, :func:`commit` writes its executed notebooks, ``results.json``
   and nbgrader's ``timestamp.txt`` to a staging folder, records its grades in the gradebook in
   one transaction, then puts the staging folder in place of
   ``autograded/<student>/<assignment>/``. A submission whose grading raised is recorded as not
   gradable with the error (:func:`record_failure`), and grading goes on.

The client is the gradebook's only writer; workers return data and write nothing.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import shutil
import traceback
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import nbformat

from grader import __version__
from grader.course import Course, load_course
from grader.engine import gradebook as gb
from grader.engine import judge, scratch
from grader.engine.feedback import notebook_language
from grader.engine.files import fingerprint, read_files, submission_files
from grader.engine.progress import Progress, Row
from grader.engine.reference import Reference, cached_or_pending, load_or_run
from grader.engine.results import (
    RESULTS_NAME,
    SubmissionResults,
    read_results,
    write_json_atomic,
)
from grader.engine.sandbox import Sandbox, probe
from grader.engine.schedule import (
    ClusterOptions,
    GradingFailure,
    dask_client,
    fitting_threads,
    run_tasks,
)
from grader.engine.sealed import hidden_labels_of, sealed_files
from grader.engine.task import (
    AssignmentPlan,
    FixedLabels,
    GradedSubmission,
    GradingOptions,
    grade_files,
    thread_environment,
    trusted_prefixes,
    unreadable,
)
from grader.engine.warm import PLUGIN_NAME, ZygotePlugin, preload_for, zygote

__all__ = [
    "Course",
    "GradingContext",
    "GradingOptions",
    "GradingSession",
    "autograde",
    "autograde_all",
    "grade_submission",
    "load_course",
    "prepare",
]

ENGINE_VERSION = f"grader-engine {__version__}/3"  # 3: bounded outputs, errors not zeros

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class GradingContext:
    """An assignment ready to grade: its course and the plan every worker receives."""

    course: Course
    plan: AssignmentPlan

    @property
    def assignment(self) -> str:
        """The assignment's nbgrader id."""
        return self.plan.assignment

    @property
    def options(self) -> GradingOptions:
        """How it is graded."""
        return self.plan.options


def prepare(
    course: Course,
    assignment: str,
    options: GradingOptions,
    labels: judge.LabelSource | None = None,
    run_references: bool = True,
) -> GradingContext:
    """Check the sandbox, load the gradebook's master cells and the references (run once per
    content, cached under ``autograded/.reference``) into a plan for the workers, with the
    sealed datasets' files and, unless ``labels`` are given, their hidden labels to judge by.

    With ``run_references`` false, a reference not cached yet is left pending, for a
    :class:`GradingSession` to run in a kernel forked from its zygote (the libraries imported
    once for the reference and the students, not once more).

    Raises :class:`grader.engine.sandbox.SandboxError` when the sandbox is asked for and cannot
    be applied on this machine: grading fails closed.
    """
    hidden = {str(course.root)}
    if course.db_url.startswith("sqlite:///"):
        hidden.add(str(Path(course.db_url[len("sqlite:///") :]).resolve()))
    policy = dataclasses.replace(
        options.policy, hidden=tuple(sorted({*options.policy.hidden, *hidden}))
    )
    options = dataclasses.replace(options, policy=policy)
    capabilities = probe(policy)
    if policy.enabled:
        capabilities.require()
    for missing in capabilities.missing:
        log.warning("sandbox: %s", missing)
    # the datasets' sealed files and hidden labels, once here rather than in every worker
    sealed = sealed_files(policy.sealed_datasets)
    if labels is None:
        labels = FixedLabels(hidden_labels_of(sealed))
    sandbox = Sandbox(policy, capabilities, sealed)
    notebooks = tuple(gb.assignment_notebooks(course.db_url, assignment))
    masters = {name: gb.load_master(course.db_url, assignment, name) for name in notebooks}
    source_files = submission_files(course.source_dir(assignment), skip_notebooks=True)
    prefixes = trusted_prefixes()
    references: dict[str, Reference] = {}
    cache = course.reference_cache(assignment)
    for name in notebooks:
        source = course.source_dir(assignment) / f"{name}.ipynb"
        if source.is_file() and run_references:
            references[name] = load_or_run(
                source, source_files, cache, sandbox, options.timeouts, prefixes
            )
        elif source.is_file():
            references[name] = cached_or_pending(source, source_files, cache)
        else:
            log.warning("no source notebook %s: its tests get nbgrader's rule only", source)
            references[name] = Reference(name, "none")
    sources = {
        name: nbformat.read(path, 4)
        for name in notebooks
        if (path := course.source_dir(assignment) / f"{name}.ipynb").is_file()
    }
    preload: tuple[str, ...] = ()
    if options.warm and policy.enabled and capabilities.root and capabilities.unshare:
        preload = preload_for(
            cell.source for nb in sources.values() for cell in nb.cells if cell.cell_type == "code"
        )
    plan = AssignmentPlan(
        assignment=assignment,
        notebooks=notebooks,
        masters=masters,
        references=references,
        source_files=read_files(source_files),
        options=options,
        labels=labels,
        engine=ENGINE_VERSION,
        preload=preload,
        sealed=sealed,
        languages={name: notebook_language(nb) for name, nb in sources.items()},
    )
    return GradingContext(course, plan)


def complete_references(
    context: GradingContext, env: Mapping[str, str] | None = None, zygote: str | None = None
) -> GradingContext:
    """The context with every pending reference run (in a kernel forked from ``zygote`` when
    there is one, else from scratch) and cached, or read from the cache where another run has
    cached it meanwhile; the same context when none is pending."""
    plan, course = context.plan, context.course
    pending_names = [name for name, ref in plan.references.items() if ref.pending]
    if not pending_names:
        return context
    policy = plan.options.policy
    sandbox = Sandbox(policy, probe(policy), plan.sealed)
    source_dir = course.source_dir(plan.assignment)
    source_files = submission_files(source_dir, skip_notebooks=True)
    cache = course.reference_cache(plan.assignment)
    references = dict(plan.references)
    prefixes = trusted_prefixes()
    for name in pending_names:
        references[name] = load_or_run(
            source_dir / f"{name}.ipynb",
            source_files,
            cache,
            sandbox,
            plan.options.timeouts,
            prefixes,
            env,
            zygote,
        )
    return dataclasses.replace(context, plan=dataclasses.replace(plan, references=references))


@dataclass(frozen=True)
class Pending:
    """A submission to grade: its files and fingerprint, or the error that kept its files from
    being read."""

    student: str
    files: dict[str, bytes]
    fingerprint: str
    unreadable: str | None = None


def pending(context: GradingContext, student: str) -> Pending | None:
    """The submission to grade for ``student``; None when it is graded already, as it is."""
    course, assignment = context.course, context.assignment
    folder = course.submitted_dir(student, assignment)
    try:
        files = read_files(submission_files(folder))
    except OSError as error:
        return Pending(student, {}, "", str(error))
    fp = fingerprint(context.plan.fingerprint_base, files)
    previous = read_results(course.autograded_dir(student, assignment) / RESULTS_NAME)
    if previous and previous.get("fingerprint") == fp and not context.options.force:
        return None
    return Pending(student, files, fp)


def commit(context: GradingContext, graded: GradedSubmission) -> None:
    """Write one graded submission: ``autograded/``, ``results.json``, nbgrader's
    ``timestamp.txt`` and the gradebook (one transaction), replacing any earlier grading."""
    course, assignment, student = context.course, context.assignment, graded.student
    source = course.submitted_dir(student, assignment)
    destination = course.autograded_dir(student, assignment)
    staging = destination.parent / f".{assignment}.partial"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    for name, path in submission_files(source, skip_notebooks=True).items():
        target = staging / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)
    for name, text in graded.executed.items():
        (staging / f"{name}.ipynb").write_text(text, encoding="utf-8")
    timestamp = course.timestamp(student, assignment)
    if (source / "timestamp.txt").is_file():  # nbgrader's feedback steps read it from here
        shutil.copy2(source / "timestamp.txt", staging / "timestamp.txt")
    write_json_atomic(staging / RESULTS_NAME, graded.results.to_json())
    if graded.grades:
        gb.record_submission(course.db_url, assignment, student, graded.grades, timestamp=timestamp)
    shutil.rmtree(destination, ignore_errors=True)
    os.replace(staging, destination)


def record_failure(context: GradingContext, failure: GradingFailure) -> None:
    """Record a submission whose grading raised as not gradable, with the error: never a zero,
    nothing in the gradebook, and no fingerprint, so that the next run grades it again."""
    log.error(
        "%s: grading failed: %s\n%s", failure.student, failure.error, failure.traceback.rstrip()
    )
    graded = unreadable(context.plan, failure.student, "grading-error", error=failure.error)
    destination = context.course.autograded_dir(failure.student, context.assignment)
    write_json_atomic(destination / RESULTS_NAME, graded.results.to_json())


def row_for(graded: GradedSubmission) -> Row:
    """The progress table's row for a graded submission."""
    document = graded.results.to_json()
    notes = list(document["reasons"]) if not document["gradable"] else []
    if document["flags"]:
        notes.append("flagged: " + "; ".join(document["flags"]))
    if not document["gradable"]:  # no score: a person looks at it, the student loses nothing
        return Row(graded.student, None, None, "not gradable", notes)
    return Row(graded.student, document["score"], document["max_score"], "graded", notes)


def grade_submission(context: GradingContext, student: str) -> SubmissionResults | None:
    """Grade one student's submission in this process and record it; its results, or None
    when it was graded already as it is (the in-process path, for tests and one-off regrades)."""
    item = pending(context, student)
    if item is None:
        log.info("%s: already graded, skipping", student)
        return None
    context = complete_references(context)
    if item.unreadable:
        graded = unreadable(context.plan, student, "files-unreadable", error=item.unreadable)
    else:
        graded = grade_files(context.plan, student, item.files, item.fingerprint)
    commit(context, graded)
    return graded.results


class GradingSession:
    """Assignments of a course kept ready to grade: one zygote, which imports the libraries of
    every assignment given, and one local Dask cluster start once and stay warm between
    batches, so that a service grading submissions as they arrive, or an instructor grading
    several assignments at once, pays the imports once; the references not cached yet run as
    it starts, in kernels forked from that zygote. A context manager; :func:`autograde` and
    :func:`autograde_all` are one batch of it.

    The assignments share the grading options of the first (its thread budget above all: the
    zygote imports the libraries with it).
    """

    def __init__(
        self,
        contexts: GradingContext | Sequence[GradingContext],
        cluster: ClusterOptions | None = None,
    ) -> None:
        chosen = [contexts] if isinstance(contexts, GradingContext) else list(contexts)
        if not chosen:
            raise ValueError("a grading session needs at least one assignment")
        self.contexts = {context.assignment: context for context in chosen}
        self.cluster = cluster
        self._stack = contextlib.ExitStack()
        self._socket: Callable[[], str | None] = lambda: None
        self._client: object | None = None
        self._plans = {assignment: c.plan for assignment, c in self.contexts.items()}

    @property
    def context(self) -> GradingContext:
        """The context of a session of one assignment (see :meth:`context_of`)."""
        return self.context_of(None)

    def context_of(self, assignment: str | None) -> GradingContext:
        """The named assignment's context, or the only one's when ``assignment`` is None.

        Raises ValueError for an assignment the session does not grade, or for None in a
        session of several: grading the wrong assignment must not happen quietly.
        """
        if assignment is None and len(self.contexts) == 1:
            (only,) = self.contexts.values()
            return only
        if assignment not in self.contexts:
            held = ", ".join(self.contexts)
            raise ValueError(f"name an assignment of this grading session ({held}): {assignment}")
        return self.contexts[assignment]

    def __enter__(self) -> GradingSession:
        plans, cluster = list(self._plans.values()), self.cluster
        preload = tuple(dict.fromkeys(module for plan in plans for module in plan.preload))
        threads = plans[0].options.threads_per_kernel
        scratch.sweep()  # what graders killed on this machine left (students' files)
        try:
            if cluster is None:  # in this process, one after the other
                self._socket = self._stack.enter_context(_warm(preload, threads))
            elif cluster.scheduler is None:  # a local cluster: its zygote imports as it starts
                threads = threads or max(1, (os.cpu_count() or 1) // cluster.local_workers())
                self._socket = self._stack.enter_context(_warm(preload, threads))
                self._client = self._stack.enter_context(dask_client(cluster))
            else:  # an existing cluster: one zygote per worker
                client = self._stack.enter_context(dask_client(cluster))
                if threads is None:
                    threads = fitting_threads(client)
                if preload:
                    env = thread_environment(threads)
                    client.register_plugin(ZygotePlugin(preload, env))  # type: ignore[attr-defined]
                    self._stack.callback(  # the cluster keeps no zygote of ours
                        client.unregister_worker_plugin,  # type: ignore[attr-defined]
                        PLUGIN_NAME,
                    )
                self._client = client
            if threads is not None:
                log.info("numeric threads per kernel: %d", threads)
            # the references not cached yet run now, forked from the zygote like the students
            env = thread_environment(threads)
            for assignment, context in self.contexts.items():
                context = complete_references(context, env, self._socket())
                self.contexts[assignment] = context
                self._plans[assignment] = _with_threads(context.plan, threads)
        except BaseException:
            self._stack.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()

    def ready(self) -> bool:
        """Wait until the zygote has imported its libraries; False when kernels will start
        cold (no zygote, or it could not start)."""
        return self._socket() is not None

    def outcomes(
        self, items: Mapping[str, Pending], assignment: str | None = None
    ) -> Iterator[GradedSubmission | GradingFailure]:
        """Grade ``items`` of an assignment (the only one when None), yielding each outcome
        as it finishes (unreadable ones first)."""
        plan = self._plans[self.context_of(assignment).assignment]
        for item in items.values():
            if item.unreadable:
                yield unreadable(plan, item.student, "files-unreadable", error=item.unreadable)
        runnable = {s: (p.files, p.fingerprint) for s, p in items.items() if not p.unreadable}
        if not runnable:
            return
        if self._client is None:
            for student, (files, fp) in runnable.items():
                try:
                    yield grade_files(plan, student, files, fp, self._socket())
                except Exception as error:
                    yield GradingFailure(
                        student, f"{type(error).__name__}: {error}", traceback.format_exc()
                    )
            return
        yield from run_tasks(self._client, plan, runnable, self._socket())

    def grade(
        self,
        students: Sequence[str] | None = None,
        progress: Progress | None = None,
        on_result: Callable[[Row], None] | None = None,
        assignment: str | None = None,
    ) -> Progress:
        """Grade the submissions of an assignment of the session (the only one when None): all,
        or those of ``students`` who submitted it, recording each as it finishes; one
        submission's failure never stops the others."""
        context = self.context_of(assignment)
        course, assignment = context.course, context.assignment
        chosen = list(students) if students else course.students(assignment)
        items: dict[str, Pending] = {}
        report = progress or Progress(total=len(chosen))
        report.total = len(chosen)

        def account(row: Row) -> None:
            report.record(row)
            if on_result:
                on_result(row)

        for student in chosen:
            if not course.submitted_dir(student, assignment).is_dir():
                log.warning("%s has no submission of %s", student, assignment)
                report.total -= 1
                continue
            item = pending(context, student)
            if item is None:
                account(Row(student, state="skipped", notes=["already graded; --force regrades"]))
            else:
                items[student] = item
        try:
            for outcome in self.outcomes(items, assignment):
                if isinstance(outcome, GradingFailure):
                    try:
                        record_failure(context, outcome)
                    except OSError as error:
                        log.error("%s: could not record the failure: %s", outcome.student, error)
                    account(Row(outcome.student, state="error", notes=[outcome.error]))
                    continue
                try:
                    commit(context, outcome)
                except (OSError, gb.GradebookError) as error:
                    log.exception("%s: could not record the grades", outcome.student)
                    account(Row(outcome.student, state="error", notes=[f"not recorded: {error}"]))
                    continue
                account(row_for(outcome))
        finally:
            report.close()
        return report


def _with_threads(plan: AssignmentPlan, threads: int | None) -> AssignmentPlan:
    """The plan with the session's numeric-thread budget per kernel (a share of each
    machine's cores); as it is when the session sets none."""
    if threads is None or threads == plan.options.threads_per_kernel:
        return plan
    options = dataclasses.replace(plan.options, threads_per_kernel=threads)
    return dataclasses.replace(plan, options=options)


@contextlib.contextmanager
def _warm(preload: tuple[str, ...], threads: int | None) -> Iterator[Callable[[], str | None]]:
    """This process's zygote for these libraries, started now (none for cold kernels)."""
    if not preload:
        yield lambda: None
        return
    with zygote(preload, thread_environment(threads)) as ready:
        yield ready


def autograde(
    course: Course,
    assignment: str,
    options: GradingOptions,
    students: Sequence[str] | None = None,
    cluster: ClusterOptions | None = None,
    progress: Progress | None = None,
    labels: judge.LabelSource | None = None,
) -> Progress:
    """Grade the submissions of ``assignment`` (all, or the ``students`` given) on a Dask
    cluster (``cluster``; None grades in this process), recording each as it finishes: one
    assignment of :func:`autograde_all`.

    One submission's failure never stops the others: it is recorded and logged, and the
    returned :class:`Progress` says which submissions need attention.
    """
    progress_for = None if progress is None else (lambda _assignment: progress)
    done = autograde_all(course, [assignment], options, students, cluster, progress_for, labels)
    return done[assignment]


def autograde_all(
    course: Course,
    assignments: Sequence[str],
    options: GradingOptions,
    students: Sequence[str] | None = None,
    cluster: ClusterOptions | None = None,
    progress_for: Callable[[str], Progress] | None = None,
    labels: judge.LabelSource | None = None,
) -> dict[str, Progress]:
    """Grade several assignments of a course in one session, one assignment after the other:
    one zygote imports the libraries of them all and one cluster serves them all, where
    :func:`autograde` for each would start both again. ``students`` (default: every student)
    applies to each assignment; a student with no submission of one is left out of it.
    ``progress_for(assignment)`` gives the progress to report an assignment's grading on, as
    its turn comes. Returns each assignment's progress, in the order given."""
    chosen = list(dict.fromkeys(assignments))
    contexts = [prepare(course, a, options, labels=labels, run_references=False) for a in chosen]
    done: dict[str, Progress] = {}
    with GradingSession(contexts, cluster) as session:
        for assignment in chosen:
            progress = progress_for(assignment) if progress_for else None
            done[assignment] = session.grade(students, progress, assignment=assignment)
    return done
