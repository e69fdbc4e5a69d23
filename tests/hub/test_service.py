"""The classroom's grading service on its own (no hub, no browser): a class with two released
assignments, graded from the exchange's ``inbound/`` by one round of the service."""

from __future__ import annotations

import datetime as dt
import html
import logging
import os
import pwd
import shutil
import threading
import time
from pathlib import Path

import nbformat
import pytest

from grader.course import load_course
from grader.engine.autograde import GradingSession
from grader.hub import exchange
from grader.hub.ledger import Entry, Ledger
from grader.hub.policy import FeedbackPolicy
from grader.hub.service import GRADER_ERROR, GradingService
from grader.hub.settings import HubSettings
from tests.support.engine import FIXTURES, generate, options, shared_once, submit, toy_labels

#: A student the machine has (the service checks that a submission's folder is its student's).
STUDENT = "nobody"
ASSIGNMENTS = ("demo", "twin")
STATES = ("received", "grading", "graded", "released", "released_public", "failed", "deferred")


def _build_course(folder: Path) -> None:
    """The engine's demo course with a second assignment, ``twin``: a copy of ``demo``."""
    root = folder / "course"
    shutil.copytree(FIXTURES / "course", root)
    twin = root / "source" / "twin"
    twin.mkdir()
    shutil.copy(root / "source" / "demo" / "demo.ipynb", twin / "twin.ipynb")
    shutil.copy(root / "source" / "demo" / "data.txt", twin / "data.txt")
    for assignment in ASSIGNMENTS:
        generate(root, assignment)


@pytest.fixture
def root(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A test's own copy of the course, generated once per test run (each test changes its
    copy: the gradebook, the notebooks' language, what was submitted)."""
    built = shared_once(tmp_path_factory, "hub-service-course", _build_course) / "course"
    copy = tmp_path / "course"
    shutil.copytree(built, copy)
    return copy


def _hand_in(root: Path, inbound: Path, assignment: str, timestamp: str, secret: str = "") -> Path:
    """A submission of ``assignment`` in ``inbound/``, as nbgrader's submit leaves it: the
    notebook, its timestamp and its secret, in a folder the student owns. Its folder."""
    secret = secret or f"{assignment}secret"
    notebook = submit(root, STUDENT, assignment=assignment)
    folder = inbound / f"{STUDENT}+{assignment}+{timestamp}+{secret}"
    folder.mkdir(parents=True)
    shutil.move(notebook, folder / notebook.name)
    (folder / exchange.TIMESTAMP).write_text(timestamp, encoding="utf-8")
    (folder / exchange.SECRET).write_text(secret, encoding="utf-8")
    shutil.rmtree(root / "submitted" / STUDENT)
    user = pwd.getpwnam(STUDENT)
    for path in [folder, *folder.iterdir()]:
        os.chown(path, user.pw_uid, user.pw_gid)
    return folder


def _settings(root: Path, folder: Path, exchange_root: Path) -> HubSettings:
    """The service's settings for the course at ``root``: state under ``folder``, root as the
    instructor, one student."""
    return HubSettings(
        course_root=str(root),
        course_id="demo",
        state=str(folder / "state"),
        exchange=str(exchange_root),
        instructor="root",
        students=(STUDENT,),
    )


def _service(
    root: Path, tmp_path: Path, policy: FeedbackPolicy | None = None, **overrides: object
) -> GradingService:
    """The grading service of the course at ``root``, its exchange in ``tmp_path/exchange``,
    toy labels, the tests' time budgets (``overrides``: grading options)."""
    settings = _settings(root, tmp_path, tmp_path / "exchange")
    policy = policy or FeedbackPolicy()
    return GradingService(
        settings, load_course(root), policy, options(**overrides), None, toy_labels
    )


@pytest.mark.skipif(os.geteuid() != 0, reason="the service runs as root (it hands files out)")
def test_the_released_assignments_share_one_session_and_are_graded(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, root: Path
) -> None:
    """Every assignment released when the service starts is prepared in one grading session
    (one zygote for all, their references run at start), and one round grades a submission
    of each through it and releases its feedback."""
    exchange_root = tmp_path / "exchange"
    course_folder = exchange.course_folder(exchange_root, "demo")
    for assignment in ASSIGNMENTS:
        (course_folder / "outbound" / assignment).mkdir(parents=True)
    for assignment in ASSIGNMENTS:
        _hand_in(root, course_folder / "inbound", assignment, "2026-12-05 10:00:00.000000 UTC")
    course = load_course(root)
    service = _service(root, tmp_path)
    with caplog.at_level(logging.INFO), service, Ledger(tmp_path / "ledger.sqlite") as ledger:
        service.warm_up()
        assert service.session("demo") is service.session("twin")
        for assignment in ASSIGNMENTS:
            assert list(course.reference_cache(assignment).glob("*.json")), assignment
        service.step(ledger)
        states = {e.assignment: (e.state, e.score, e.max_score) for e in ledger.in_state(*STATES)}
    ready = [r.getMessage() for r in caplog.records if "kernel zygote ready" in r.getMessage()]
    assert len(ready) == 1, ready
    assert states == {a: ("released_public", 7.0, 7.0) for a in ASSIGNMENTS}, states
    pages = list((course_folder / "feedback").glob("*.html"))
    assert len(pages) == 2
    assert all(p.stat().st_uid == pwd.getpwnam(STUDENT).pw_uid for p in pages)


@pytest.mark.skipif(os.geteuid() != 0, reason="the service runs as root (it hands files out)")
def test_a_session_that_fails_to_start_is_opened_again_at_first_use(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, root: Path
) -> None:
    """When the session opened at start fails to get ready, the assignments are not left
    with it: each gets a session of its own when a submission asks."""
    exchange_root = tmp_path / "exchange"
    outbound = exchange.course_folder(exchange_root, "demo") / "outbound"
    (outbound / "demo").mkdir(parents=True)
    failed = []

    def broken_ready(session: GradingSession) -> bool:
        failed.append(session)
        raise OSError("the zygote's socket went away")

    service = _service(root, tmp_path, warm=False)
    with service:
        with monkeypatch.context() as patch:
            patch.setattr(GradingSession, "ready", broken_ready)
            service.warm_up()
        assert len(failed) == 1
        assert service.session("demo") is not failed[0]


@pytest.mark.skipif(os.geteuid() != 0, reason="the service runs as root (it hands files out)")
def test_the_student_is_told_before_the_ledger_says_so(tmp_path: Path, root: Path) -> None:
    """A state that the student is told of (refused, superseded, deferred) is recorded once the
    page that tells them is in the exchange: whoever reads the ledger (``grader hub-status``,
    the classroom's tests) finds the student's page there already."""
    exchange_root = tmp_path / "exchange"
    inbound = exchange.course_folder(exchange_root, "demo") / "inbound"
    (inbound.parent / "outbound" / "demo").mkdir(parents=True)
    folders = [
        _hand_in(root, inbound, "demo", f"2026-12-05 10:00:0{n}.000000 UTC", f"secret{n}")
        for n in (1, 2)
    ]
    stranger = inbound / "daemon+demo+2026-12-05 10:00:03.000000 UTC+secret3"
    stranger.mkdir()
    (stranger / exchange.TIMESTAMP).write_text("2026-12-05 10:00:03.000000 UTC", encoding="utf-8")
    (stranger / exchange.SECRET).write_text("secret3", encoding="utf-8")
    folders.append(stranger)

    def page_of(name: str) -> Path:
        secret = (inbound / name / exchange.SECRET).read_text(encoding="utf-8")
        notebook = next((p.stem for p in (inbound / name).glob("*.ipynb")), "demo")
        digest = exchange.notebook_hash(secret=secret, notebook_id=notebook)
        return inbound.parent / "feedback" / f"{digest}.html"

    told: dict[str, tuple[str, bool]] = {}
    service = _service(root, tmp_path, FeedbackPolicy(per_hour=1))
    with service, Ledger(tmp_path / "ledger.sqlite") as ledger:
        ledger.add("earlier", STUDENT, "demo", "2026-12-05 09:00:00.000000 UTC")
        ledger.set_state("earlier", "released", graded_at=time.time())  # the hour's one
        record = ledger.set_state

        def spy(name: str, state: str, note: str = "", **values: float | None) -> None:
            told[name] = (state, page_of(name).exists())
            record(name, state, note, **values)

        ledger.set_state = spy  # type: ignore[method-assign]
        service.receive(ledger)
        assert service.gradable(ledger) == {}
    names = [f.name for f in folders]
    assert told == {
        names[0]: ("superseded", True),
        names[1]: ("deferred", True),
        names[2]: ("failed", True),
    }, told


@pytest.mark.skipif(os.geteuid() != 0, reason="the service runs as root (it hands files out)")
def test_a_hebrew_student_is_told_why_in_hebrew(tmp_path: Path, root: Path) -> None:
    """A submission of a Hebrew assignment that cannot be graded: its student reads the notice
    and its reason in Hebrew, right to left; the instructor's ledger keeps English."""
    source = root / "source" / "demo" / "demo.ipynb"
    nb = nbformat.read(source, as_version=4)
    nb.metadata["grader"] = {"language": "he"}
    nbformat.write(nb, source)
    exchange_root = tmp_path / "exchange"
    inbound = exchange.course_folder(exchange_root, "demo") / "inbound"
    (inbound.parent / "outbound" / "demo").mkdir(parents=True)
    folder = _hand_in(root, inbound, "demo", "2026-12-05 10:00:01.000000 UTC", "secret1")
    os.chown(folder, 0, 0)  # handed in from another account than its student's
    service = _service(root, tmp_path)
    with service, Ledger(tmp_path / "ledger.sqlite") as ledger:
        service.receive(ledger)
        (entry,) = ledger.in_state("failed")
    assert entry.note == "it was not submitted from its student's own account."
    digest = exchange.notebook_hash(secret="secret1", notebook_id="demo")
    page = html.unescape((inbound.parent / "feedback" / f"{digest}.html").read_text("utf-8"))
    assert '<p dir="rtl" lang="he">לא ניתן היה לבדוק את ההגשה שלכם' in page
    assert "\u2068היא לא הוגשה מהחשבון שלכם.\u2069" in page
    assert "account" not in page


@pytest.mark.skipif(os.geteuid() != 0, reason="the service runs as root (it hands files out)")
def test_links_devices_and_pipes_are_refused_and_nothing_is_copied(
    tmp_path: Path, root: Path
) -> None:
    """The service copies submissions as root from folders their students own: a link would
    bring what it points to (the instructor's solutions, a file only root may read) into the
    student's sandbox and feedback, a pipe would never end. Each is refused, named, and
    nothing of the submission is copied; a submission of plain files is copied whole."""
    exchange_root = tmp_path / "exchange"
    inbound = exchange.course_folder(exchange_root, "demo") / "inbound"
    (inbound.parent / "outbound" / "demo").mkdir(parents=True)
    private = tmp_path / "root-only.txt"
    private.write_text("for root's eyes only", encoding="utf-8")
    private.chmod(0o600)
    solution = root / "source" / "demo" / "demo.ipynb"
    user = pwd.getpwnam(STUDENT)

    def handed_in(second: int) -> Path:
        return _hand_in(root, inbound, "demo", f"2026-12-05 10:00:{second:02}.000000 UTC")

    cases: dict[str, tuple[Path, str]] = {}
    folder = handed_in(1)
    (folder / "demo.ipynb").unlink()
    (folder / "demo.ipynb").symlink_to(solution)
    cases["the solution, linked"] = (folder, "demo.ipynb")
    folder = handed_in(2)
    (folder / "notes.txt").symlink_to(private)
    cases["a root-only file, linked"] = (folder, "notes.txt")
    folder = handed_in(3)
    (folder / "data").mkdir()
    (folder / "data" / "x.csv").symlink_to(private)
    cases["a link in a folder"] = (folder, "data/x.csv")
    folder = handed_in(4)
    os.mkfifo(folder / "pipe")
    cases["a pipe"] = (folder, "pipe")
    real = handed_in(5)
    linked = inbound / f"{STUDENT}+demo+2026-12-05 10:00:06.000000 UTC+linked"
    linked.symlink_to(real)
    os.lchown(linked, user.pw_uid, user.pw_gid)
    cases["a linked submission folder"] = (linked, linked.name)

    service = _service(root, tmp_path)
    submitted = root / "submitted" / STUDENT / "demo"
    for case, (folder, name) in cases.items():
        item = exchange.Submission.in_folder(folder)
        assert item is not None
        assert service.refusal(item) is None, case  # its own folder, a released assignment
        assert service._collect(item) == ("not-a-file", {"name": name}), case
        assert not submitted.exists(), case
        assert not list(submitted.parent.glob(".*collecting")), case
    item = exchange.Submission.in_folder(real)
    assert item is not None and service._collect(item) is None
    copied = sorted(p.name for p in submitted.iterdir())
    assert copied == sorted(p.name for p in real.iterdir()), copied
    assert (submitted / "demo.ipynb").read_bytes() == (real / "demo.ipynb").read_bytes()


@pytest.mark.skipif(os.geteuid() != 0, reason="the service runs as root (it hands files out)")
def test_what_cannot_be_trusted_is_refused_whatever_the_ledger_says(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, root: Path
) -> None:
    """A submission recorded as received whose refusal was never recorded (the service stopped
    in between) is refused when it is about to be collected; one for an assignment not yet
    released is refused (the engine would put the instructor's notebook back into its
    feedback); a secret that cannot be read leaves the student untold but the refusal
    recorded, and the round goes on. None of them reaches the engine."""
    exchange_root = tmp_path / "exchange"
    inbound = exchange.course_folder(exchange_root, "demo") / "inbound"
    (inbound.parent / "outbound" / "demo").mkdir(parents=True)  # twin is not released
    crashed = _hand_in(root, inbound, "demo", "2026-12-05 10:00:01.000000 UTC", "secret1")
    os.chown(crashed, 0, 0)  # handed in from another account than its student's
    unreleased = _hand_in(root, inbound, "twin", "2026-12-05 10:00:02.000000 UTC", "secret2")
    unknown = _hand_in(root, inbound, "demo", "2026-12-05 10:00:04.000000 UTC", "secret4")
    unknown = unknown.rename(inbound / unknown.name.replace("+demo+", "+nosuch+"))
    garbled = inbound / "daemon+demo+2026-12-05 10:00:03.000000 UTC+secret3"
    garbled.mkdir()
    (garbled / exchange.TIMESTAMP).write_text("2026-12-05 10:00:03.000000 UTC", encoding="utf-8")
    (garbled / exchange.SECRET).write_bytes(b"\xff\xfe not a secret")
    service = _service(root, tmp_path)
    with caplog.at_level(logging.INFO), service, Ledger(tmp_path / "ledger.sqlite") as ledger:
        ledger.add(crashed.name, STUDENT, "demo", "2026-12-05 10:00:01.000000 UTC")
        service.step(ledger)
        states = {e.name: (e.state, e.note) for e in ledger.in_state(*STATES)}
        assert service._sessions == {}  # nothing was graded
    assert states == {
        crashed.name: ("failed", "it was not submitted from its student's own account."),
        unreleased.name: ("failed", "'twin' has not been released yet."),
        unknown.name: ("failed", "'nosuch' is not an assignment of this course."),
        garbled.name: ("failed", "'daemon' is not a student of this course."),
    }, states
    assert not (root / "submitted" / STUDENT).exists()
    untold = [r.getMessage() for r in caplog.records if "could not tell" in r.getMessage()]
    assert len(untold) == 1 and garbled.name in untold[0], untold


@pytest.mark.skipif(os.geteuid() != 0, reason="the service runs as root (it hands files out)")
def test_after_a_restart_an_older_failure_does_not_replace_a_later_grade(
    tmp_path: Path, root: Path
) -> None:
    """At its start the service grades again what failed because of the grader, unless a later
    submission of the same student has been graded since: graded again, the older would take
    its place in the course and the gradebook. That one is superseded, and its student told."""
    exchange_root = tmp_path / "exchange"
    inbound = exchange.course_folder(exchange_root, "demo") / "inbound"
    older = _hand_in(root, inbound, "demo", "2026-12-05 10:00:01.000000 UTC", "secret1")
    newer = _hand_in(root, inbound, "demo", "2026-12-05 10:00:02.000000 UTC", "secret2")
    alone = _hand_in(root, inbound, "twin", "2026-12-05 10:00:03.000000 UTC", "secret3")
    service = _service(root, tmp_path)
    with Ledger(tmp_path / "ledger.sqlite") as ledger:
        for folder, state, note in (
            (older, "failed", f"{GRADER_ERROR}: the zygote went away"),
            (newer, "released", ""),
            (alone, "failed", f"{GRADER_ERROR}: the zygote went away"),
        ):
            assignment, timestamp = folder.name.split("+")[1:3]
            ledger.add(folder.name, STUDENT, assignment, timestamp)
            ledger.set_state(folder.name, state, note)
        stop = threading.Event()
        stop.set()  # the start alone: no round
        service.run(stop, ledger)
        states = {e.name: e.state for e in ledger.in_state(*STATES, "superseded")}
    assert states == {older.name: "superseded", newer.name: "released", alone.name: "received"}
    digest = exchange.notebook_hash(secret="secret1", notebook_id="demo")
    page = (inbound.parent / "feedback" / f"{digest}.html").read_text(encoding="utf-8")
    assert "a later submission of yours was graded" in html.unescape(page)


class _BrokenSession:
    """A grading session whose zygote went away: every batch fails; records its closing."""

    def __init__(self) -> None:
        self.closed = 0

    def grade(self, *args: object, **kwargs: object) -> None:
        raise OSError("the zygote's socket went away")

    def __exit__(self, *exc: object) -> None:
        self.closed += 1


@pytest.mark.skipif(os.geteuid() != 0, reason="the service runs as root (it hands files out)")
def test_a_session_that_fails_is_closed_for_every_assignment_it_served(
    tmp_path: Path, root: Path
) -> None:
    """When a batch fails in the session the released assignments share, that session is
    closed at once and no assignment keeps it: each opens one of its own at its next
    submission, instead of failing on the broken one until the service restarts (or piling up
    broken sessions, each with its zygote and cluster)."""
    exchange_root = tmp_path / "exchange"
    inbound = exchange.course_folder(exchange_root, "demo") / "inbound"
    (inbound.parent / "outbound" / "demo").mkdir(parents=True)
    folder = _hand_in(root, inbound, "demo", "2026-12-05 10:00:01.000000 UTC")
    service = _service(root, tmp_path)
    broken = _BrokenSession()
    service._sessions = {"demo": broken, "twin": broken}  # type: ignore[dict-item]
    with Ledger(tmp_path / "ledger.sqlite") as ledger:
        service.step(ledger)
        (entry,) = ledger.in_state("failed")
    assert entry.name == folder.name and entry.note.startswith(GRADER_ERROR)
    assert service._sessions == {} and broken.closed == 1


@pytest.mark.skipif(os.geteuid() != 0, reason="the service runs as root (it hands files out)")
def test_an_extension_moves_the_students_own_due_date(tmp_path: Path, root: Path) -> None:
    """nbgrader's extensions (``grant_extension``) move one student's due date: until it
    passes, that student gets the public feedback and is not late, while the class's due date
    has passed for everyone else."""
    from nbgrader.api import Gradebook

    course = load_course(root)
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    with Gradebook(course.db_url) as gradebook:
        gradebook.update_or_create_assignment("demo", duedate=now - dt.timedelta(hours=1))
        for student in (STUDENT, "other"):
            gradebook.update_or_create_student(student)
        gradebook.add_submission("demo", STUDENT)
        gradebook.grant_extension("demo", STUDENT, hours=2)
    service = _service(root, tmp_path)
    stamp = (now - dt.timedelta(minutes=30)).strftime("%Y-%m-%d %H:%M:%S.%f UTC")
    for student, rule, late in ((STUDENT, (True, True), False), ("other", (True, False), True)):
        assert service._release_rule("demo", student) == rule, student
        entry = Entry(f"{student}+demo", student, "demo", stamp, "graded", 0, 0, 0, 0, 0, "")
        assert bool(service._late_notice(entry, "demo")) is late, student


@pytest.mark.skipif(os.geteuid() != 0, reason="the service runs as root (it hands files out)")
def test_at_the_due_date_a_submission_graded_over_is_told_so(tmp_path: Path, root: Path) -> None:
    """At the due date the held feedback of each student's latest graded submission is
    released; one that a later submission replaced in the course is superseded, and its page
    says so before the ledger does (it said "held" until then)."""
    from nbgrader.api import Gradebook

    course = load_course(root)
    exchange_root = tmp_path / "exchange"
    inbound = exchange.course_folder(exchange_root, "demo") / "inbound"
    folder = _hand_in(root, inbound, "demo", "2026-12-05 10:00:01.000000 UTC", "secret1")
    submitted = course.submitted_dir(STUDENT, "demo")
    submitted.mkdir(parents=True)
    (submitted / exchange.TIMESTAMP).write_text("2026-12-05 10:00:09.000000 UTC")  # a later one
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    with Gradebook(course.db_url) as gradebook:
        gradebook.update_or_create_assignment("demo", duedate=now - dt.timedelta(hours=1))
    service = _service(root, tmp_path)
    told = []
    with Ledger(tmp_path / "ledger.sqlite") as ledger:
        ledger.add(folder.name, STUDENT, "demo", "2026-12-05 10:00:01.000000 UTC")
        ledger.set_state(folder.name, "graded", "released after the due date")
        record = ledger.set_state

        def spy(name: str, state: str, note: str = "", **values: float | None) -> None:
            digest = exchange.notebook_hash(secret="secret1", notebook_id="demo")
            page = inbound.parent / "feedback" / f"{digest}.html"
            told.append(
                (state, page.exists() and "a later submission" in html.unescape(page.read_text()))
            )
            record(name, state, note, **values)

        ledger.set_state = spy  # type: ignore[method-assign]
        service.release_due(ledger)
    assert told == [("superseded", True)], told
