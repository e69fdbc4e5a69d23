"""The classroom: ``grader hub`` on this machine, as students and the instructor use it.

One hub serves the whole module (started by the ``grader hub`` command, stopped by SIGTERM in
the last test). Students work as their own Unix users, as their servers do: fetch, submit and
fetch feedback with nbgrader in their own home, against the real exchange and the real grading
service; the browser tests drive JupyterLab's Assignments tab and Formgrader in Chromium.
Needs root (accounts, one Unix user per server), like the engine's sandbox tests.
"""

from __future__ import annotations

import json
import os
import pwd
import re
import shlex
import shutil
import signal
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook, MissingEntry
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from grader.hub.processes import SERVICE_ENV, marked
from grader.hub.settings import SETTINGS_ENV
from grader.kernel_environment import KERNEL_ENVIRONMENT
from tests.support.browser import chromium, needs_chromium
from tests.support.hub import (
    ASSIGNMENT,
    NOTEBOOK,
    Classroom,
    answer_of,
    classroom,
    fetch_and_submit,
    fetched_feedback,
    python_as,
    run_as,
    solved_lab,
)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(os.geteuid() != 0, reason="the classroom makes Unix accounts (root)"),
]

INSTRUCTOR = "hub-teacher"
STUDENTS = ["hub-ana", "hub-ben", "hub-cara", "hub-dan", "hub-eli", "hub-fay", "hub-gil",
            "hub-hal", "hub-ivy", "hub-jo"]  # fmt: skip
PER_HOUR = 2
POLICY = f"c.FeedbackPolicy.per_hour = {PER_HOUR}\nc.FeedbackPolicy.poll_seconds = 0.5"
RELEASED = {"released", "released_public"}


@pytest.fixture(scope="module")
def hub() -> Iterator[Classroom]:
    # not under pytest's own temporary folder: students' servers must reach the exchange
    folder = Path(tempfile.mkdtemp(prefix="grader-hub-test-"))
    folder.chmod(0o755)
    try:
        with classroom(folder, INSTRUCTOR, STUDENTS, POLICY) as running:
            yield running
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _gradebook(hub: Classroom) -> Gradebook:
    return Gradebook(f"sqlite:///{hub.course / 'gradebook.db'}")


def test_a_submission_is_graded_and_its_feedback_released(hub: Classroom) -> None:
    fetch_and_submit(hub, "hub-ana")
    entries = hub.wait_for("hub-ana", RELEASED)
    assert [(e.state, e.score, e.max_score) for e in entries] == [("released_public", 9, 9)]
    pages = fetched_feedback(hub, "hub-ana")
    assert len(pages) == 1
    assert "Score: 9 / 9" in pages[0]
    # before the due date, by the default policy, tests with hidden parts show no result
    assert "after the due date" in pages[0]
    with _gradebook(hub) as gradebook:
        assert gradebook.find_submission(ASSIGNMENT, "hub-ana").score == 9
    # The service's last step after a batch, after releasing the feedback, is the class report
    # (written as root, then given to the instructor). Once the report is the instructor's, so
    # is everything the service wrote into the course.
    instructor = pwd.getpwnam(INSTRUCTOR).pw_uid
    report = hub.course / "reports" / f"{ASSIGNMENT}.html"
    deadline = time.monotonic() + 60
    while not _owned_by_uid(report, instructor) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _owned_by_uid(report, instructor), f"{report} was not written and given"
    strangers = [p for p in hub.course.rglob("*") if p.stat().st_uid != instructor]
    assert strangers == []


def _owned_by_uid(path: Path, uid: int) -> bool:
    """Whether ``path`` and its folder exist and belong to user ``uid``."""
    try:
        return path.stat().st_uid == uid and path.parent.stat().st_uid == uid
    except FileNotFoundError:
        return False


PROBE = """
import json, os
def attempt(action):
    try:
        action()
        return "allowed"
    except PermissionError:
        return "denied"
    except OSError as error:
        return f"error {error.errno}"
"""

#: What another student must not do (one test each, run as that student's Unix user): the
#: action, with {submission}, {page}, {service} and the classroom's paths filled in.
APART = {
    "list the inbound submissions": "os.listdir({inbound!r})",
    "read a submission": "open({notebook!r}).read()",
    "read a submission's secret": "open({secret!r}).read()",
    "change a submission": "open({extra!r}, 'w')",
    "list the released feedback": "os.listdir({feedback!r})",
    "read another's feedback": "open({page!r}).read()",
    "read the gradebook": "open({gradebook!r}, 'rb').read()",
    "list the instructor's course": "os.listdir({course!r})",
    "read the grading service's ledger": "open({ledger!r}, 'rb').read()",
    "read the hub's database": "open({hub_db!r}, 'rb').read()",
    "signal the grading service": "os.kill({service}, 0)",
    "read the grading service's environment": "open('/proc/{service}/environ').read()",
}


@pytest.fixture(scope="module")
def ana_work(hub: Classroom) -> dict[str, object]:
    """Paths of hub-ana's graded submission and released feedback, and the service's pid."""
    ana = hub.wait_for("hub-ana", RELEASED)[0]
    submission = hub.inbound / ana.name
    (service,) = [p for p in marked(SETTINGS_ENV, str(hub.settings.path)) if _is_service(p)]
    return {
        "inbound": str(hub.inbound),
        "notebook": str(submission / f"{NOTEBOOK}.ipynb"),
        "secret": str(submission / "submission_secret.txt"),
        "extra": str(submission / "extra.txt"),
        "feedback": str(hub.feedback),
        "page": str(next(hub.feedback.glob("*.html"))),
        "gradebook": str(hub.course / "gradebook.db"),
        "course": str(hub.course),
        "ledger": str(hub.settings.ledger),
        "hub_db": str(hub.state / "jupyterhub.sqlite"),
        "service": service,
    }


def _attempt(hub: Classroom, user: str, action: str) -> str:
    code = PROBE + f"print(json.dumps(attempt(lambda: {action})))"
    return str(python_as(hub, user, code))


@pytest.mark.parametrize("claim", list(APART))
def test_another_student_cannot(hub: Classroom, ana_work: dict[str, object], claim: str) -> None:
    assert _attempt(hub, "hub-ben", APART[claim].format(**ana_work)) == "denied"


def test_a_student_reaches_their_own_work(hub: Classroom, ana_work: dict[str, object]) -> None:
    """The same paths as their owner: the probe above fails for the right reason."""
    for action in (APART["read a submission's secret"], APART["read another's feedback"]):
        assert _attempt(hub, "hub-ana", action.format(**ana_work)) == "allowed"


def _is_service(pid: int) -> bool:
    try:
        return b"grader.hub.service" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def test_a_submission_under_another_name_is_refused(hub: Classroom) -> None:
    """Inbound is writable by every student (nbgrader's design): a folder named after someone
    else is refused, because it does not belong to that student."""
    fake = f"hub-dan+{ASSIGNMENT}+2026-01-01 00:00:00.000000 UTC+forged"
    notebook = nbformat.writes(solved_lab())
    run_as(
        hub,
        "hub-ben",
        f"mkdir '{hub.inbound / fake}' && cd '{hub.inbound / fake}' && "
        f"printf '%s' {shlex.quote(notebook)} > {NOTEBOOK}.ipynb && echo 2026-01-01 > timestamp.txt"
        " && echo secret > submission_secret.txt",
    )
    entries = hub.wait_for("hub-dan", {"failed"})
    assert "not submitted from its student's own account" in entries[0].note
    with _gradebook(hub) as gradebook, pytest.raises(MissingEntry):
        gradebook.find_submission(ASSIGNMENT, "hub-dan")


def test_over_the_hourly_limit_is_kept_and_told(hub: Classroom) -> None:
    for graded in range(1, PER_HOUR + 1):  # the limit's worth, each graded
        fetch_and_submit(hub, "hub-cara")
        hub.wait_for("hub-cara", RELEASED, count=graded)
    # then a burst, in two rounds of the service: the second round's submissions supersede the
    # first round's deferred one (a round can always start between two submissions), and all
    # four are settled once each is superseded or deferred
    for _ in range(2):
        fetch_and_submit(hub, "hub-cara")
    hub.wait_for("hub-cara", {"superseded", "deferred"}, count=2)
    for _ in range(2):
        fetch_and_submit(hub, "hub-cara")
    entries = hub.wait_for("hub-cara", {"superseded", "deferred"}, count=4)
    states = [e.state for e in entries]
    assert len(entries) == PER_HOUR + 4  # every submission is kept
    assert states[:PER_HOUR] == ["released_public"] * PER_HOUR
    assert states[-1] == "deferred"
    assert set(states[PER_HOUR:-1]) <= {"superseded", "deferred"}
    assert states.count("deferred") == 1
    pages = fetched_feedback(hub, "hub-cara")
    assert len(pages) == PER_HOUR + 4
    assert "will be graded after" in pages[-1]
    with _gradebook(hub) as gradebook:  # graded twice: the gradebook keeps the last
        assert gradebook.find_submission(ASSIGNMENT, "hub-cara").score == 9


def test_bad_submissions_are_kept_and_explained(hub: Classroom) -> None:
    fetch_and_submit(hub, "hub-eli", b"this is not a notebook")
    big = solved_lab()
    big.cells[-1].outputs = [nbformat.v4.new_output("stream", name="stdout", text="x" * 60_000_000)]
    fetch_and_submit(hub, "hub-fay", nbformat.writes(big).encode())
    fetch_and_submit(hub, "hub-gil", name="lab_solution")
    reasons = {}
    for student in ("hub-eli", "hub-fay", "hub-gil"):
        entry = hub.wait_for(student, RELEASED)[0]
        results = json.loads(
            (hub.course / "autograded" / student / ASSIGNMENT / "results.json").read_text()
        )
        reasons[student] = " ".join(results["reasons"])
        page = fetched_feedback(hub, student)[0]
        assert results["reasons"][0][:40] in page.replace("&#x27;", "'").replace("&quot;", '"')
        assert entry.score is None or entry.score == 0
    assert "not a notebook" in reasons["hub-eli"] or "JSON" in reasons["hub-eli"]
    assert "over the limit" in reasons["hub-fay"]
    assert NOTEBOOK in reasons["hub-gil"]
    # nothing submitted is lost: every submission is still in the exchange
    assert len([e for e in hub.ledger() if e.student in ("hub-eli", "hub-fay", "hub-gil")]) == 3


def _scratch_of(pids: list[int]) -> list[Path]:
    """The engine's scratch folders (``grader.engine.scratch``) named after these processes."""
    where = Path(tempfile.gettempdir())
    return [path for pid in pids for path in where.glob(f"grader-*-{pid}-*")]


def test_a_killed_service_grades_what_is_missing(hub: Classroom) -> None:
    fetch_and_submit(hub, "hub-hal")
    hub.wait_for("hub-hal", {"grading"})
    (old,) = [p for p in marked(SETTINGS_ENV, str(hub.settings.path)) if _is_service(p)]
    children = marked(SERVICE_ENV, str(hub.settings.path))
    assert children, "the service's workers carry its mark"
    assert _scratch_of([old]), "the service's zygote has its folder"
    os.kill(old, signal.SIGKILL)
    entries = hub.wait_for("hub-hal", RELEASED)
    assert [(e.state, e.score) for e in entries] == [("released_public", 9)]
    (new,) = [p for p in marked(SETTINGS_ENV, str(hub.settings.path)) if _is_service(p)]
    assert new != old
    left = [p for p in children if Path(f"/proc/{p}").exists()]
    assert left == [], "the killed service's workers and zygote are ended"
    # the service that took over removed what the killed one had in the temporary folder
    assert _scratch_of([old, *children]) == []
    log = hub.settings.service_log.read_text()
    assert "are graded again" in log
    # the cluster has the size the classroom was given (grader hub --grading-workers)
    assert hub.settings.grading_workers >= 1
    assert f"local Dask cluster of {hub.settings.grading_workers} worker(s)" in log
    with _gradebook(hub) as gradebook:
        submission = gradebook.find_submission(ASSIGNMENT, "hub-hal")
        assert submission.score == 9


ARTIFACTS = Path(__file__).resolve().parents[2] / "autograded" / "classroom"


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with chromium() as running:
        yield running


class Steps:
    """Screenshots of one user's steps, kept as test artifacts (``autograded/classroom/``)."""

    def __init__(self, page: object, who: str) -> None:
        self.page, self.who, self.count = page, who, 0
        ARTIFACTS.mkdir(parents=True, exist_ok=True)

    def shot(self, step: str) -> None:
        self.count += 1
        path = ARTIFACTS / f"{self.who}-{self.count:02d}-{step}.png"
        self.page.screenshot(path=str(path))  # type: ignore[attr-defined]


def _log_in(browser: object, hub: Classroom, user: str) -> tuple[object, Steps]:
    page = browser.new_page(viewport={"width": 1400, "height": 900})  # type: ignore[attr-defined]
    steps = Steps(page, user)
    page.goto(f"{hub.url}/hub/login")
    page.fill("#username_input", user)
    page.fill("#password_input", hub.passwords[user])
    steps.shot("login")
    page.click("#login_submit")
    page.wait_for_url(re.compile(f".*/user/{user}/lab.*"), timeout=180_000)
    page.locator(".jp-DirListing-content").wait_for(timeout=180_000)
    return page, steps


def _open_assignments(page: object) -> None:
    """The Assignments tab, from nbgrader's menu (again if the lab was still starting)."""
    for _ in range(3):
        page.get_by_text("Nbgrader", exact=True).click()  # type: ignore[attr-defined]
        page.get_by_text("Assignment List", exact=True).click()  # type: ignore[attr-defined]
        try:
            page.locator("#released_assignments_list").wait_for(timeout=15_000)  # type: ignore[attr-defined]
            return
        except PlaywrightTimeout:
            page.keyboard.press("Escape")  # type: ignore[attr-defined]
    raise AssertionError("the Assignments tab did not open")


@needs_chromium
def test_a_student_works_and_submits_in_the_browser(hub: Classroom, browser: object) -> None:
    """Log in, fetch the lab from the Assignments tab, open it, type an answer into a cell,
    validate, submit, and open the feedback once it is released. The other answers are the
    student's earlier work, put in the fetched notebook before it is opened."""
    page, steps = _log_in(browser, hub, "hub-jo")
    _open_assignments(page)
    steps.shot("assignments")
    page.locator("#released_assignments_list").get_by_role("button", name="Fetch").click()
    fetched = page.locator("#fetched_assignments_list")
    fetched.get_by_role("button", name="Submit", exact=True).wait_for(timeout=60_000)
    steps.shot("fetched")
    notebook = Path("/home/hub-jo") / ASSIGNMENT / f"{NOTEBOOK}.ipynb"
    nbformat.write(solved_lab(leave_out="digits-single"), notebook)
    os.chown(notebook, *pwd.getpwnam("hub-jo")[2:4])

    fetched.locator("a.assignment-notebooks-link").click()
    fetched.get_by_text(NOTEBOOK, exact=True).click()
    cell = page.locator(".jp-CodeCell", has_text="def digits_single_layer")
    cell.wait_for(timeout=60_000)
    cell.scroll_into_view_if_needed()
    cell.locator(".cm-content").click()
    page.keyboard.press("Control+A")
    page.keyboard.insert_text(answer_of("digits-single"))
    page.keyboard.press("Control+S")
    steps.shot("typed")
    # the save reaches the disk a moment later, written in place: a read in the middle of it
    # finds the file empty or cut short, and the next read the whole notebook
    deadline = time.monotonic() + 60
    typed: list[str] = []
    while time.monotonic() < deadline:
        try:
            saved = nbformat.read(notebook, 4)
        except nbformat.reader.NotJSONError:
            time.sleep(0.2)
            continue
        typed = [c.source for c in saved.cells if "def digits_single_layer" in c.source]
        if typed and "raise NotImplementedError" not in typed[0]:
            break
        time.sleep(0.5)
    assert typed and typed[0].strip() == answer_of("digits-single").strip()
    # the lab knows its save is done only when the server's answer arrives, after the write:
    # Validate saves again, and before that answer the lab takes its own save for someone
    # else's change ("File Changed"); its tab stays marked unsaved until then
    page.wait_for_function(
        "() => !document.querySelector('.lm-TabBar-tab.jp-mod-dirty')", timeout=60_000
    )

    page.locator(".jp-NotebookPanel-toolbar").get_by_text("Validate", exact=True).click()
    dialog = page.locator(".jp-Dialog")
    dialog.wait_for(timeout=300_000)
    steps.shot("validated")
    assert "passes all the tests" in dialog.inner_text()
    dialog.get_by_role("button").last.click()
    # the notebook's kernel computes what the grading service's will: the same settings
    kernels = _kernels_of(hub, "hub-jo")
    assert kernels, "the open notebook has no kernel"
    for environment in kernels:
        assert {k: environment.get(k) for k in KERNEL_ENVIRONMENT} == KERNEL_ENVIRONMENT

    page.locator(".lm-TabBar-tab", has_text="Assignments").first.click()
    fetched.get_by_role("button", name="Submit", exact=True).click()
    submitted = page.locator("#submitted_assignments_list")
    submitted.locator(".list_item").first.wait_for(timeout=60_000)
    steps.shot("submitted")

    hub.wait_for("hub-jo", RELEASED)
    page.locator(
        "#refresh_assignments_list, .jp-AssignmentList button[title='Refresh']"
    ).first.click()
    submitted.get_by_text("(feedback available to fetch)").wait_for(timeout=60_000)
    submitted.get_by_role("button", name="Fetch Feedback").first.click()
    submitted.get_by_text("(view feedback)").first.wait_for(timeout=60_000)
    steps.shot("feedback-fetched")
    submitted.get_by_text("(view feedback)").first.click()
    page.locator(".jp-DirListing-item", has_text=f"{NOTEBOOK}.html").dblclick()
    heading = page.frame_locator("iframe").first.locator("h2").first
    heading.wait_for(timeout=60_000)
    steps.shot("feedback")
    assert heading.inner_text() == "Score: 9 / 9"


def _kernels_of(hub: Classroom, user: str) -> list[dict[str, str]]:
    """The environments of the classroom's kernels running as ``user``."""
    uid = pwd.getpwnam(user).pw_uid
    found = []
    for pid in marked(SETTINGS_ENV, str(hub.settings.path)):
        try:
            if Path(f"/proc/{pid}").stat().st_uid != uid:
                continue
            if b"ipykernel" not in Path(f"/proc/{pid}/cmdline").read_bytes():
                continue
            raw = Path(f"/proc/{pid}/environ").read_bytes()
        except OSError:  # ended meanwhile
            continue
        pairs = (item.split(b"=", 1) for item in raw.split(b"\0") if b"=" in item)
        found.append({k.decode(): v.decode(errors="replace") for k, v in pairs})
    return found


@needs_chromium
def test_a_student_cannot_reach_another_students_files(hub: Classroom, browser: object) -> None:
    page, steps = _log_in(browser, hub, "hub-ben")
    other = page.goto(f"{hub.url}/user/hub-jo/lab")  # type: ignore[attr-defined]
    steps.shot("another-server")
    assert other.status == 403
    api = page.request  # type: ignore[attr-defined]
    assert api.get(f"{hub.url}/user/hub-jo/api/contents/{ASSIGNMENT}").status == 403
    outside = api.get(f"{hub.url}/user/hub-ben/api/contents/..%2Fhub-jo%2F{ASSIGNMENT}")
    assert outside.status in (400, 404)


@needs_chromium
def test_the_instructor_grades_the_written_answer_in_formgrader(
    hub: Classroom, browser: object
) -> None:
    # jo submits in the browser test, which waits for the grading: nothing to wait for here
    # when that test failed before submitting
    assert hub.entries_of("hub-jo"), "hub-jo has not submitted: see the browser test"
    hub.wait_for("hub-jo", RELEASED)
    page, steps = _log_in(browser, hub, INSTRUCTOR)
    page.goto(f"{hub.url}/user/{INSTRUCTOR}/formgrader/manage_submissions/{ASSIGNMENT}")
    table = page.locator("table")
    table.get_by_text("hub-jo").wait_for(timeout=60_000)
    steps.shot("submissions")
    rows = {r.split("\t")[1]: r for r in table.inner_text().splitlines() if "\thub-" in r}
    assert "9 / 11" in rows["hub-jo"] and "9 / 11" in rows["hub-ana"]
    page.goto(f"{hub.url}/user/{INSTRUCTOR}/formgrader/manage_students/hub-jo/{ASSIGNMENT}")
    page.get_by_role("link", name=NOTEBOOK).click()
    score = page.locator("input#overfitting-observation")
    score.wait_for(timeout=60_000)
    # Formgrader binds its save-on-change handlers only once it has fetched the grades; a score
    # typed before then is shown but never saved (seen on a loaded machine).
    page.wait_for_function(
        "() => window.formgrader && formgrader.grades && formgrader.grades.loaded",
        timeout=60_000,
    )
    score.fill("2")
    score.press("Tab")
    deadline = time.monotonic() + 60  # formgrader saves the score as the field is left
    while time.monotonic() < deadline:
        with _gradebook(hub) as gradebook:
            total = gradebook.find_submission(ASSIGNMENT, "hub-jo").score
        if total == 11:
            break
        time.sleep(0.5)
    steps.shot("graded")
    assert total == 11
    # the service rewrote the class report after the batch, in the instructor's course
    service_report = hub.course / "reports" / f"{ASSIGNMENT}.html"
    assert "hub-jo" in service_report.read_text(encoding="utf-8")
    assert service_report.stat().st_uid == pwd.getpwnam(INSTRUCTOR).pw_uid
    # the same gradebook feeds the class report and the exports
    report = run_as(
        hub, INSTRUCTOR, f"cd frameworks && grader report {ASSIGNMENT} --no-quizzes"
    ).stdout.strip()
    text = Path(report).read_text(encoding="utf-8")
    assert "hub-jo" in text and "11" in text
    exports = run_as(hub, INSTRUCTOR, f"cd frameworks && grader export {ASSIGNMENT}").stdout
    per_test = [line for line in exports.splitlines() if line.startswith("tests:")]
    assert per_test, exports


def test_after_the_due_date_feedback_is_whole_and_late_is_late(hub: Classroom) -> None:
    import datetime as dt

    with _gradebook(hub) as gradebook:
        gradebook.update_or_create_assignment(
            ASSIGNMENT, duedate=dt.datetime.utcnow() - dt.timedelta(minutes=5)
        )
    os.chown(hub.course / "gradebook.db", *(pwd.getpwnam(INSTRUCTOR)[2:4]))
    fetch_and_submit(hub, "hub-ivy")
    entry = hub.wait_for("hub-ivy", {"released"})[0]
    assert entry.score == 9
    page = fetched_feedback(hub, "hub-ivy")[0]
    assert "marked late" in page
    assert "after the due date: ?" not in page
    with _gradebook(hub) as gradebook:
        assert gradebook.find_submission(ASSIGNMENT, "hub-ivy").total_seconds_late > 0
    # ana's public-only feedback is replaced by the whole one
    hub.wait_for("hub-ana", {"released"})
    page = fetched_feedback(hub, "hub-ana")[-1]
    assert "Score: 9 / 9" in page and "after the due date: ?" not in page


def test_stopping_the_hub_leaves_nothing_running(hub: Classroom) -> None:
    hub.process.send_signal(signal.SIGTERM)
    assert hub.process.wait(90) == 0
    assert "nothing of the classroom is left running" in hub.output.read_text()
    assert marked(SETTINGS_ENV, str(hub.settings.path)) == []
    assert marked(SERVICE_ENV, str(hub.settings.path)) == []
    users = {pwd.getpwnam(u).pw_uid for u in [INSTRUCTOR, *STUDENTS]}
    # a process that has just exited stays in /proc until its parent (or init, for an orphan)
    # collects it: give the users' last processes a few seconds to be gone
    deadline = time.monotonic() + 10
    while (owned := _owned_by(users)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert owned == [], f"left behind: {[_describe(p) for p in owned]}"


def _owned_by(users: set[int]) -> list[Path]:
    return [p for p in Path("/proc").iterdir() if p.name.isdigit() and _uid(p) in users]


def _uid(proc: Path) -> int | None:
    try:
        return proc.stat().st_uid
    except OSError:
        return None


def _describe(proc: Path) -> str:
    """A process as ``pid (state, parent): command line``, for a failure message."""
    try:
        state = (proc / "stat").read_text().rsplit(")", 1)[1].split()
        command = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return f"{proc.name} (gone)"
    return f"{proc.name} ({state[0]}, parent {state[1]}): {command.strip()[:200]}"
