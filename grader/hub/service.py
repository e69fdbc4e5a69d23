"""The grading service: feedback on submit, with no one at the keyboard.

JupyterHub starts it as a managed service (and starts it again if it dies). Every
``poll_seconds`` it looks in the exchange's ``inbound/``; each new submission is checked (its
folder must belong to the student it names), recorded in the ledger, collected into the course,
graded by the engine in a session that stays warm between submissions (one zygote and one
local Dask cluster for every assignment released when the service starts; an assignment
released later gets a session of its own), and its feedback written and released by the course's
:class:`~grader.hub.policy.FeedbackPolicy`. What goes wrong with one submission is logged,
recorded and told to its student; the service goes on with the others.

Run: ``python -m grader.hub.service SETTINGS.json`` (the hub does it).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import html
import logging
import os
import pwd
import sys
import threading
import time
from collections.abc import Mapping
from pathlib import Path

import nbformat

from grader.course import Course, load_course
from grader.engine import gradebook as gb
from grader.engine.autograde import GradingContext, GradingSession, prepare
from grader.engine.feedback import notebook_language, render_html, write_feedback
from grader.engine.judge import LabelSource
from grader.engine.progress import Row
from grader.engine.results import RESULTS_NAME, read_results
from grader.engine.schedule import ClusterOptions
from grader.engine.task import GradingOptions
from grader.hub import exchange
from grader.hub.accounts import give_to
from grader.hub.ledger import Entry, Ledger
from grader.hub.policy import FeedbackPolicy, read_policy
from grader.hub.processes import SERVICE_ENV, end_marked
from grader.hub.settings import HubSettings, read_settings

log = logging.getLogger("grader.hub.service")

HOUR_S = 3600.0
#: How a failure of the grader itself (not of the submission) starts its ledger note: such
#: submissions are graded again when the service starts again.
GRADER_ERROR = "grader error"

#: What the service tells a student in place of feedback, in the assignment's language.
NOTICES = {
    "en": {
        "deferred": "Your submission of {time} is kept. You have had {limit} submissions graded "
        "in the last hour, the most the course allows; this one will be graded after {after} "
        "(UTC) and its feedback will appear here.",
        "superseded": "Your submission of {time} is kept, but a later submission of yours was "
        "graded in its place: fetch the feedback of the latest one.",
        "held": "Your submission of {time} is graded. Its feedback is released after the due "
        "date, {due} (UTC).",
        "failed": "Your submission of {time} could not be graded: {reason} It is kept; the "
        "instructor has been told.",
        "late": "Submitted {late} after the due date: marked late.",
        # why a submission was not graded: the {reason} of "failed"
        "reason-not-a-student": "{student!r} is not a student of this course.",
        "reason-folder-unchecked": "its folder cannot be checked ({error}).",
        "reason-not-own-account": "it was not submitted from its student's own account.",
        "reason-not-an-assignment": "{assignment!r} is not an assignment of this course.",
        "reason-not-released": "{assignment!r} has not been released yet.",
        "reason-not-a-file": "it holds {name}, which is not a plain file (a link, a device or a "
        "pipe): submit the files themselves.",
        "reason-too-large": "it holds more than {limit} MB.",
        "reason-not-copied": "the service could not copy it.",
        "reason-grader-error": "an error of the grader, not yours.",
        "reason-notebook-name": "the assignment's notebook is {expected}.",
    },
    "he": {
        "deferred": "ההגשה שלכם מ-\u2066{time}\u2069 נשמרה. בשעה האחרונה נבדקו כבר \u2066{limit}"
        "\u2069 הגשות שלכם, המספר המרבי שהקורס מתיר; ההגשה הזו תיבדק אחרי \u2066{after}\u2069 "
        "(UTC), והמשוב שלה יופיע כאן.",
        "superseded": "ההגשה שלכם מ-\u2066{time}\u2069 נשמרה, אבל במקומה נבדקה הגשה מאוחרת יותר "
        "שלכם: הורידו את המשוב של ההגשה האחרונה.",
        "held": "ההגשה שלכם מ-\u2066{time}\u2069 נבדקה. המשוב שלה ישוחרר אחרי מועד ההגשה, "
        "\u2066{due}\u2069 (UTC).",
        "failed": "לא ניתן היה לבדוק את ההגשה שלכם מ-\u2066{time}\u2069: \u2068{reason}\u2069 "
        "ההגשה נשמרה, והמרצה קיבל הודעה.",
        "late": "הוגש \u2066{late}\u2069 אחרי מועד ההגשה: סומן כהגשה מאוחרת.",
        "reason-not-a-student": "החשבון \u2066{student}\u2069 אינו רשום בקורס הזה.",
        "reason-folder-unchecked": "אי אפשר לבדוק את התיקייה שלה (\u2066{error}\u2069).",
        "reason-not-own-account": "היא לא הוגשה מהחשבון שלכם.",
        "reason-not-an-assignment": "\u2066{assignment}\u2069 אינה מטלה של הקורס הזה.",
        "reason-not-released": "המטלה \u2066{assignment}\u2069 עדיין לא פורסמה.",
        "reason-not-a-file": "יש בה את \u2066{name}\u2069, שאינו קובץ רגיל (קישור, התקן או "
        "צינור): הגישו את הקבצים עצמם.",
        "reason-too-large": "יש בה יותר מ-\u2066{limit}\u2069 MB.",
        "reason-not-copied": "שירות הבדיקה לא הצליח להעתיק אותה.",
        "reason-grader-error": "זו שגיאה של מערכת הבדיקה, לא שלכם.",
        "reason-notebook-name": "המחברת של המטלה היא \u2066{expected}\u2069.",
    },
}


class GradingService:
    """One classroom's grading service; :meth:`run` until ``stop`` is set. A context manager:
    its grading sessions (zygotes, clusters) close when it exits."""

    def __init__(
        self,
        settings: HubSettings,
        course: Course,
        policy: FeedbackPolicy,
        options: GradingOptions,
        cluster: ClusterOptions | None,
        labels: LabelSource | None = None,
    ) -> None:
        self.settings = settings
        self.course = course
        self.policy = policy
        self.options = options
        self.cluster = cluster
        self.labels = labels  # the hidden labels to judge by (None: the datasets' own)
        self.exchange = Path(settings.exchange)
        self._sessions: dict[str, GradingSession] = {}
        self._stack = contextlib.ExitStack()

    def __enter__(self) -> GradingService:
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()

    # -- the loop ---------------------------------------------------------------------------

    def run(self, stop: threading.Event, ledger: Ledger) -> None:
        """Grade what arrives until ``stop`` is set; the warm sessions close on every exit."""
        with self:
            for entry in ledger.overtaken(GRADER_ERROR):
                self.tell_and_record(ledger, entry, "superseded", "a later submission was graded")
            resumed = ledger.resume(GRADER_ERROR)
            if resumed:
                log.info("resuming: %d submissions caught mid-grading are graded again", resumed)
            self.warm_up()
            while not stop.is_set():
                try:
                    self.step(ledger)
                except Exception:  # one bad round never stops the service
                    log.exception("grading round failed; trying again")
                stop.wait(self.policy.poll_seconds)

    def step(self, ledger: Ledger) -> None:
        """One round: record new submissions, grade what may be graded, release what is due."""
        self.receive(ledger)
        for assignment, entries in self.gradable(ledger).items():
            self.grade(ledger, assignment, entries)
        self.release_due(ledger)

    def warm_up(self) -> None:
        """Prepare the released assignments now, in one session (references, one zygote with
        the libraries of them all, one cluster), so that the first submission waits only for
        its own grading and the assignments share the machine's cores rather than each
        starting workers of its own."""
        contexts = []
        for assignment in self.course.assignments():
            if not self._released(assignment):
                continue
            try:
                contexts.append(self._prepare(assignment))
            except Exception:  # graded later, when a submission asks (and logged again)
                log.exception("%s: could not be prepared in advance", assignment)
        if not contexts:
            return
        try:
            self._open(contexts).ready()
        except Exception:  # each is prepared again at its first submission
            names = ", ".join(c.assignment for c in contexts)
            log.exception("%s: could not be prepared in advance", names)
            self._forget([c.assignment for c in contexts])

    # -- receiving --------------------------------------------------------------------------

    def receive(self, ledger: Ledger) -> None:
        """Record each new submission in the exchange; refuse those that cannot be trusted."""
        for item in exchange.submissions(self.exchange, self.settings.course_id):
            if not ledger.add(item.name, item.student, item.assignment, item.timestamp):
                continue
            log.info("received %s", item.name)
            refused = self.refusal(item)
            if refused is not None:
                self._refuse(ledger, item, refused)

    def _refuse(
        self, ledger: Ledger, item: exchange.Submission, refused: tuple[str, dict[str, object]]
    ) -> None:
        """Tell the student why a submission is not graded, then record it as failed (the
        instructor's note in English)."""
        key, values = refused
        problem = NOTICES["en"][f"reason-{key}"].format(**values)
        log.error("%s: refused: %s", item.name, problem)
        reason = self._reason(item.assignment, key, **values)
        self.tell_and_record(ledger, item, "failed", problem, says={"reason": reason})

    def refusal(self, item: exchange.Submission) -> tuple[str, dict[str, object]] | None:
        """Why a submission cannot be graded (a reason of ``NOTICES`` and its values), or None.
        Asked when it arrives and again just before it is collected: what the ledger recorded
        in between (a crash, a student who changed the folder) cannot let it through."""
        if item.student not in self.settings.students:
            return "not-a-student", {"student": item.student}
        try:
            owner = item.folder.lstat().st_uid  # a link's own owner: whoever made it
            expected = pwd.getpwnam(item.student).pw_uid
        except (OSError, KeyError) as error:
            return "folder-unchecked", {"error": error}
        if owner != expected:
            return "not-own-account", {}
        if item.assignment not in self.course.assignments():
            return "not-an-assignment", {"assignment": item.assignment}
        if not self._released(item.assignment):
            return "not-released", {"assignment": item.assignment}
        return None

    def _released(self, assignment: str) -> bool:
        """Whether students were given ``assignment`` (nbgrader's release put it in the
        exchange's ``outbound/``): a submission of any other would show the instructor's
        notebook, put back by the engine, in its feedback."""
        outbound = exchange.course_folder(self.exchange, self.settings.course_id) / "outbound"
        return (outbound / assignment).is_dir()

    def gradable(self, ledger: Ledger) -> dict[str, list[Entry]]:
        """The submissions to grade now, by assignment: per student the latest waiting one;
        the earlier ones are superseded, those over the hourly limit deferred."""
        latest: dict[tuple[str, str], Entry] = {}
        for entry in ledger.in_state("received", "deferred"):
            key = (entry.student, entry.assignment)
            earlier = latest.get(key)
            if earlier is not None:
                self.tell_and_record(ledger, earlier, "superseded", f"graded instead: {entry.name}")
            latest[key] = entry
        now = time.time()
        chosen: dict[str, list[Entry]] = {}
        for (student, assignment), entry in latest.items():
            used = ledger.graded_since(student, assignment, now - HOUR_S)
            if used >= self.policy.per_hour:
                if entry.state != "deferred":
                    after = self._next_slot(ledger, entry)
                    self.tell_and_record(
                        ledger,
                        entry,
                        "deferred",
                        f"over {self.policy.per_hour}/hour",
                        says={"limit": self.policy.per_hour, "after": after},
                    )
                continue
            chosen.setdefault(assignment, []).append(entry)
        return chosen

    def _next_slot(self, ledger: Ledger, entry: Entry) -> str:
        """When the oldest of the hour's graded submissions leaves the hour (UTC)."""
        recent = ledger.graded_times(entry.student, entry.assignment, self.policy.per_hour)
        return _utc(min(recent, default=time.time()) + HOUR_S)

    # -- grading ----------------------------------------------------------------------------

    def session(self, assignment: str) -> GradingSession:
        """The warm grading session of ``assignment``: the one opened at start for every
        released assignment, or one of its own opened at its first use (released later, or
        not prepared at start)."""
        if assignment not in self._sessions:
            self._open([self._prepare(assignment)])
        return self._sessions[assignment]

    def _forget(self, assignments: list[str]) -> None:
        """Close the sessions that served ``assignments`` (one of them failed: its zygote or
        cluster may be gone) and forget them for every assignment they served, so that each
        opens a session of its own at its next submission rather than fail on the broken one."""
        failed = [self._sessions[a] for a in assignments if a in self._sessions]
        for session in {id(s): s for s in failed}.values():
            for name in [a for a, s in self._sessions.items() if s is session]:
                del self._sessions[name]
            try:
                session.__exit__(None, None, None)
            except Exception:  # closing is best effort; the service's exit closes it again
                log.exception("a failed grading session did not close cleanly")

    def _prepare(self, assignment: str) -> GradingContext:
        return prepare(self.course, assignment, self.options, self.labels, run_references=False)

    def _open(self, contexts: list[GradingContext]) -> GradingSession:
        """Start one session grading the assignments of ``contexts`` (references not cached
        yet run as it starts, forked from its zygote) and hand the references to the
        instructor."""
        names = ", ".join(c.assignment for c in contexts)
        log.info("%s: preparing one session (references, zygote, cluster)", names)
        session = self._stack.enter_context(GradingSession(contexts, self.cluster))
        for context in contexts:
            self._sessions[context.assignment] = session
        caches = [self.course.reference_cache(c.assignment) for c in contexts]
        give_to(self.settings.instructor, caches, within=self.course.root)
        return session

    def grade(self, ledger: Ledger, assignment: str, entries: list[Entry]) -> None:
        """Collect, grade and give feedback on ``entries`` (one per student)."""
        by_student = {}
        for entry in entries:
            item = self._submission(entry)
            refused = self.refusal(item) or self._collect(item)
            if refused is not None:
                self._refuse(ledger, item, refused)
                continue
            ledger.set_state(entry.name, "grading")
            by_student[entry.student] = entry
        if not by_student:
            return
        log.info("%s: grading %s", assignment, ", ".join(sorted(by_student)))
        try:
            self.session(assignment).grade(
                sorted(by_student),
                on_result=lambda row: self.graded(ledger, by_student, row),
                assignment=assignment,
            )
            self.write_report(assignment)
        except Exception as error:  # the engine could not grade at all (no sandbox, ...)
            log.exception("%s: grading failed", assignment)
            self._forget([assignment])
            for entry in by_student.values():
                current = {e.name: e.state for e in ledger.in_state("grading")}
                if entry.name in current:
                    self.tell_and_record(
                        ledger,
                        entry,
                        "failed",
                        f"{GRADER_ERROR}: {error}",
                        says={"reason": self._reason(assignment, "grader-error")},
                    )

    def _collect(self, item: exchange.Submission) -> tuple[str, dict[str, object]] | None:
        """Copy a submission into the course; why it was not copied (a reason of ``NOTICES``
        and its values), or None."""
        try:
            exchange.collect(item, self.course.submitted_dir(item.student, item.assignment))
        except exchange.NotAccepted as refused:
            return refused.reason, refused.values
        except OSError as error:
            log.error("%s: cannot collect: %s", item.name, error)
            return "not-copied", {}
        return None

    def write_report(self, assignment: str) -> None:
        """The assignment's class report, in the instructor's course folder
        (``reports/<assignment>.html``, opened from their JupyterLab), after each batch."""
        from grader.report.render import write_report

        output = self.course.root / "reports" / f"{assignment}.html"
        try:
            write_report(self.course, output, [assignment])
        except Exception:  # the report is a view: grading goes on without it
            log.exception("%s: the class report could not be written", assignment)
            return
        finally:
            give_to(self.settings.instructor, [output.parent], within=self.course.root)
        log.info("%s: class report written to %s", assignment, output)

    def graded(self, ledger: Ledger, by_student: dict[str, Entry], row: Row) -> None:
        """One submission came back from the engine: feedback, release, ledger."""
        entry = by_student[row.student]
        assignment = entry.assignment
        course = self.course
        owned = [
            course.submitted_dir(entry.student, assignment),
            course.autograded_dir(entry.student, assignment),
            course.feedback_dir(entry.student, assignment),
        ]
        try:
            if row.state == "error":
                reason = "; ".join(row.notes) or "unknown"
                self.tell_and_record(
                    ledger,
                    entry,
                    "failed",
                    f"{GRADER_ERROR}: {reason}",
                    says={"reason": self._reason(assignment, "grader-error")},
                )
                return
            graded_at = time.time()
            release_now, public = self._release_rule(assignment, entry.student)
            notices = self._late_notice(entry, assignment)
            if not release_now:
                due = self._due(assignment, entry.student)
                self.tell_and_record(
                    ledger,
                    entry,
                    "graded",
                    "released after the due date",
                    notice="held",
                    says={"due": _utc(due.timestamp()) if due else ""},
                    graded_at=graded_at,
                    score=row.score,
                    max_score=row.max_score,
                )
                return
            self._publish(entry, public, notices)
            ledger.set_state(
                entry.name,
                "released_public" if public else "released",
                "",
                graded_at=graded_at,
                released_at=time.time(),
                score=row.score,
                max_score=row.max_score,
            )
            log.info(
                "%s: %s/%s, feedback released%s",
                entry.name,
                row.score,
                row.max_score,
                " (public tests)" if public else "",
            )
        except Exception as error:  # this submission's feedback; the others go on
            log.exception("%s: feedback failed", entry.name)
            self.tell_and_record(
                ledger,
                entry,
                "failed",
                f"feedback failed: {error}",
                says={"reason": self._reason(assignment, "grader-error")},
            )
        finally:
            give_to(
                self.settings.instructor,
                [*owned, *self._gradebook_files()],
                within=self.course.root,
            )

    def _publish(self, entry: Entry, public: bool, notices: list[str]) -> None:
        course, assignment = self.course, entry.assignment
        paths = write_feedback(course, assignment, [entry.student], public, notices)
        pages = {p.stem: p.read_text(encoding="utf-8") for p in paths}
        submitted = course.submitted_dir(entry.student, assignment)
        unexplained = [p.stem for p in submitted.glob("*.ipynb") if p.stem not in pages]
        if unexplained:  # the student's Assignments tab asks for these names: tell them why
            results = read_results(course.autograded_dir(entry.student, assignment) / RESULTS_NAME)
            expected = ", ".join(f"{n}.ipynb" for n in self._notebooks(assignment))
            reasons = list((results or {}).get("reasons", [])) or [
                self._reason(assignment, "notebook-name", expected=expected)
            ]
            page = self._notice_page(
                assignment, "failed", time=entry.timestamp, reason=" ".join(reasons)
            )
            pages.update(dict.fromkeys(unexplained, page))
        exchange.release(
            self.exchange,
            self.settings.course_id,
            entry.student,
            exchange.read_secret(submitted),
            pages,
        )

    def release_due(self, ledger: Ledger) -> None:
        """After an assignment's due date: release held feedback, and the whole feedback in
        place of the public-only one (the latest graded submission of each student)."""
        for entry in ledger.in_state("graded", "released_public"):
            due = self._due(entry.assignment, entry.student)
            if due is None or dt.datetime.now(dt.UTC) < due:
                continue
            submitted = self.course.submitted_dir(entry.student, entry.assignment)
            if _read(submitted / exchange.TIMESTAMP) != entry.timestamp:
                self.tell_and_record(ledger, entry, "superseded", "a later submission was graded")
                continue
            try:
                self._publish(entry, False, self._late_notice(entry, entry.assignment))
            except Exception as error:
                log.exception("%s: release after the due date failed", entry.name)
                reason = self._reason(entry.assignment, "grader-error")
                self.tell_and_record(
                    ledger, entry, "failed", f"release failed: {error}", says={"reason": reason}
                )
                continue
            ledger.set_state(entry.name, "released", "", released_at=time.time())
            log.info("%s: whole feedback released after the due date", entry.name)

    # -- rules ------------------------------------------------------------------------------

    def _due(self, assignment: str, student: str) -> dt.datetime | None:
        """The student's due date: the assignment's, with any extension granted them."""
        due = gb.due_date(self.course.db_url, assignment, student)
        return due.replace(tzinfo=dt.UTC) if due else None

    def _release_rule(self, assignment: str, student: str) -> tuple[bool, bool]:
        """(release now?, only the public tests?) for feedback written now to ``student``."""
        due = self._due(assignment, student)
        passed = due is not None and dt.datetime.now(dt.UTC) >= due
        if self.policy.release == "after_due" and not passed:
            return False, False
        return True, self.policy.before_due == "public" and not passed

    def _late_notice(self, entry: Entry, assignment: str) -> list[str]:
        due = self._due(assignment, entry.student)
        submitted = _parse_timestamp(entry.timestamp)
        if due is None or submitted is None or submitted <= due:
            return []
        late = str(submitted - due).split(".")[0]
        return [NOTICES[self._language(assignment)]["late"].format(late=late)]

    # -- telling the student ----------------------------------------------------------------

    def _language(self, assignment: str) -> str:
        for path in sorted(self.course.source_dir(assignment).glob("*.ipynb")):
            return notebook_language(nbformat.read(path, as_version=4))
        return "en"

    def _submission(self, entry: Entry) -> exchange.Submission:
        folder = exchange.course_folder(self.exchange, self.settings.course_id) / "inbound"
        return exchange.Submission(
            entry.student, entry.assignment, entry.timestamp, folder / entry.name
        )

    def tell_and_record(
        self,
        ledger: Ledger,
        item: Entry | exchange.Submission,
        state: str,
        note: str,
        notice: str = "",
        says: Mapping[str, object] | None = None,
        **fields: float | None,
    ) -> None:
        """Tell the student what happened to a submission (:meth:`notify`: the page of
        ``notice``, by default the state's own, filled with ``says``), then record ``state``,
        its note and ``fields`` in the ledger. In this order, as feedback is published before
        ``released``: whatever state the ledger shows, the student can already read."""
        if isinstance(item, Entry):
            item = self._submission(item)
        self.notify(item, notice or state, **(says or {}))
        ledger.set_state(item.name, state, note, **fields)

    def notify(self, item: exchange.Submission, kind: str, /, **values: object) -> None:
        """Put a short page in place of the submission's feedback, so that the student's
        Assignments tab says what happened to it (deferred, superseded, held, failed); see
        :meth:`tell_and_record`, which also records the state."""
        try:
            page = self._notice_page(item.assignment, kind, time=item.timestamp, **values)
            secret = exchange.read_secret(item.folder)
            notebooks = [p.stem for p in item.folder.glob("*.ipynb")] or [item.assignment]
            exchange.release(
                self.exchange,
                self.settings.course_id,
                item.student,
                secret,
                dict.fromkeys(notebooks, page),
            )
        except (OSError, KeyError, ValueError) as error:  # the state is recorded all the same
            log.error("%s: could not tell the student (%s): %s", item.name, kind, error)

    def _notice_language(self, assignment: str) -> str:
        """The language of what the student is told: the assignment's (English for a name that
        is not an assignment of the course)."""
        return self._language(assignment) if assignment in self.course.assignments() else "en"

    def _reason(self, assignment: str, key: str, /, **values: object) -> str:
        """Why a submission of ``assignment`` was not graded, in the words its student reads."""
        return NOTICES[self._notice_language(assignment)][f"reason-{key}"].format(**values)

    def _notice_page(self, assignment: str, kind: str, /, **values: object) -> str:
        """A feedback page that only says what happened, in the assignment's language."""
        language = self._notice_language(assignment)
        text = NOTICES[language][kind].format(**values)
        nb = nbformat.v4.new_notebook()
        direction = ' dir="rtl" lang="he"' if language == "he" else ""
        nb.cells.append(
            nbformat.v4.new_markdown_cell(f"<p{direction}>{html.escape(text, quote=False)}</p>")
        )
        return render_html(nb, language)

    def _notebooks(self, assignment: str) -> list[str]:
        return sorted(p.stem for p in self.course.source_dir(assignment).glob("*.ipynb"))

    def _gradebook_files(self) -> list[Path]:
        url = self.course.db_url
        if not url.startswith("sqlite:///"):
            return []
        path = Path(url[len("sqlite:///") :])
        return [p for p in (path, path.with_name(path.name + "-journal")) if p.exists()]


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8").strip()
    except OSError:
        return ""


def _utc(seconds: float) -> str:
    return dt.datetime.fromtimestamp(seconds, dt.UTC).strftime("%Y-%m-%d %H:%M")


def _parse_timestamp(text: str) -> dt.datetime | None:
    from nbgrader.utils import parse_utc

    try:
        value = parse_utc(text)
    except (ValueError, TypeError):
        return None
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value


def main(argv: list[str] | None = None) -> int:
    """Run the grading service of the classroom described by a settings file."""
    parser = argparse.ArgumentParser(prog="grader.hub.service", description=__doc__)
    parser.add_argument("settings", type=Path, help="the classroom's settings.json")
    parser.add_argument("--workers", type=int, default=None, help="local Dask workers")
    args = parser.parse_args(argv)
    settings = read_settings(args.settings)
    # The hub runs with umask 077; the engine's sandbox hands folders to an unprivileged
    # user, so this service sets its own modes (what must stay private is chmod-ed so).
    os.umask(0o022)
    log_file = settings.service_log
    log_file.parent.mkdir(mode=0o700, exist_ok=True)
    log_file.parent.chmod(0o700)
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s grading-service %(levelname)s %(message)s",
        handlers=[
            logging.StreamHandler(sys.stderr),
            logging.FileHandler(log_file, encoding="utf-8"),
        ],
    )
    # A service killed earlier may have left its Dask workers and zygote: end them first.
    end_marked(SERVICE_ENV, str(settings.path))
    os.environ[SERVICE_ENV] = str(settings.path)  # marks this service's children
    course = load_course(Path(settings.course_root))
    policy = read_policy(course.config)
    log.info(
        "serving %s: release %s, before the due date %s, %d graded submissions per hour",
        settings.course_id,
        policy.release,
        policy.before_due,
        policy.per_hour,
    )
    workers = args.workers or settings.grading_workers or None  # None: one per core
    cluster = ClusterOptions(workers=workers, scheduler=settings.dask_scheduler or None)
    service = GradingService(settings, course, policy, GradingOptions(), cluster)
    from grader.engine.cli import stop_on_termination

    with Ledger(settings.ledger) as ledger:
        try:  # SIGTERM and SIGHUP unwind like Ctrl-C: sessions, zygote and cluster close
            with stop_on_termination():
                service.run(threading.Event(), ledger)
        except KeyboardInterrupt:
            log.info("stopped mid-grading; what is missing is graded at the next start")
    log.info("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
