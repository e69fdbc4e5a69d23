"""``grader hub``: the classroom on this machine, from one command.

1. set up: the instructor's and students' Unix accounts, the instructor's copy of the course
   (in their home, with the gradebook, the generated assignments and the exchange), the
   servers' Jupyter configuration (Formgrader for the instructor, Assignments for students);
2. start JupyterHub (which starts the proxy, the grading service and each user's server) and
   print the address (and, with ``--demo``, the accounts' passwords);
3. on Ctrl-C or SIGTERM stop the hub, every server and the service, then end anything of this
   classroom still running, so that nothing outlives the command.
"""

from __future__ import annotations

import json
import logging
import os
import pwd
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from grader.course import load_course, make_course_copy, run_nbgrader
from grader.hub import accounts
from grader.hub.processes import end_marked
from grader.hub.settings import SETTINGS_ENV, HubSettings

log = logging.getLogger(__name__)

#: nbgrader's JupyterLab plugins a student does not get (they are the instructor's).
INSTRUCTOR_PLUGINS = (
    "@jupyter/nbgrader:formgrader",
    "@jupyter/nbgrader:course-list",
    "@jupyter/nbgrader:create-assignment",
)
INSTRUCTOR_SERVER_EXTENSIONS = (
    "nbgrader.server_extensions.formgrader",
    "nbgrader.server_extensions.course_list",
)
STOP_TIMEOUT_S = 30.0


class HubError(RuntimeError):
    """The classroom cannot be set up or started (the message says what to do)."""


@dataclass(frozen=True)
class Classroom:
    """What ``grader hub`` set up: the settings and the passwords it gave (``--demo``)."""

    settings: HubSettings
    passwords: dict[str, str]

    @property
    def url(self) -> str:
        """The hub's address."""
        return f"http://{self.settings.ip}:{self.settings.port}"


def proxy_command(project: Path) -> Path:
    """configurable-http-proxy, installed by ``make install`` (npm ci) into node_modules."""
    found = project / "node_modules" / ".bin" / "configurable-http-proxy"
    if found.is_file():
        return found
    on_path = shutil.which("configurable-http-proxy")
    if on_path:
        return Path(on_path)
    raise HubError(
        "configurable-http-proxy is not installed: run `make install` (npm ci installs it into "
        "node_modules/)"
    )


def set_up(
    source_root: Path,
    state: Path,
    instructor: str,
    students: Sequence[str],
    assignments: Sequence[str] | None = None,
    demo: bool = False,
    **network: int | str,
) -> Classroom:
    """Create what the classroom needs (idempotent: an existing course copy is kept)."""
    if os.geteuid() != 0:
        raise HubError(
            "grader hub runs as root: each user's server runs as that user's own Unix account"
        )
    names = [accounts.check_name(n) for n in (instructor, *students)]
    accounts.ensure_accounts(names)
    passwords = accounts.set_passwords(names) if demo else {}
    venv_bin = Path(sys.executable).parent
    project = Path(__file__).resolve().parents[2]
    state.mkdir(parents=True, exist_ok=True)
    state.chmod(0o755)
    blocked = accounts.unreachable_for_others(
        {
            "the Python environment": Path(sys.executable),
            "the grader package": project,
            "the classroom's folder": state / "settings.json",
        }
    )
    if blocked:
        raise HubError(
            "the students' servers could not start: other users cannot pass "
            + "; ".join(blocked)
            + ". Install the project where every user can read it, or allow passing with "
            "`chmod o+x` on those folders."
        )
    exchange = state / "exchange"
    exchange.mkdir(exist_ok=True)
    exchange.chmod(0o777 | 0o1000)  # like /tmp: everyone may create, no one may remove others'
    source = load_course(source_root)
    course_root = accounts.home_of(instructor) / source.course_id
    chosen = list(assignments or source.assignments())
    if not (course_root / "nbgrader_config.py").is_file():
        _copy_course(source_root, course_root, chosen, exchange)
    settings = HubSettings(
        course_root=str(course_root),
        course_id=source.course_id,
        state=str(state),
        exchange=str(exchange),
        instructor=instructor,
        students=tuple(students),
        venv_bin=str(venv_bin),
        proxy=str(proxy_command(project)),
        **network,  # type: ignore[arg-type]
    )
    _prepare_course(settings, chosen, release=demo)
    _write_user_configs(settings)
    settings.write()
    return Classroom(settings, passwords)


def _copy_course(source_root: Path, course_root: Path, chosen: list[str], exchange: Path) -> None:
    make_course_copy(source_root, course_root, chosen)
    for assignment in chosen:  # the released versions, generated with the translations
        released = source_root / "release" / assignment
        if released.is_dir():
            shutil.copytree(released, course_root / "release" / assignment, dirs_exist_ok=True)
    with (course_root / "nbgrader_config.py").open("a", encoding="utf-8") as config:
        config.write(
            "\n# The classroom (grader hub): the exchange shared by the instructor and the "
            f"students.\nc.Exchange.root = {str(exchange)!r}\n"
        )


def _prepare_course(settings: HubSettings, chosen: list[str], release: bool) -> None:
    """The gradebook (assignments, students), and with ``release`` the assignments in the
    exchange; all of it the instructor's."""
    from nbgrader.api import Gradebook

    root = Path(settings.course_root)
    course = load_course(root)
    for assignment in chosen:
        run_nbgrader(root, "generate_assignment", assignment, "--force")
    with Gradebook(course.db_url) as gradebook:
        for student in settings.students:
            gradebook.update_or_create_student(student)
    if release:
        for assignment in chosen:
            run_nbgrader(root, "release_assignment", assignment, "--force")
    accounts.give_to(settings.instructor, [root])
    root.chmod(0o700)  # the gradebook, the solutions and every submission: the instructor's
    # The instructor releases later assignments from Formgrader, as their own user: the
    # course's folders in the exchange are theirs (submissions inside stay their students').
    course_folder = Path(settings.exchange) / settings.course_id
    accounts.give_to(settings.instructor, [course_folder / "outbound"])
    uid, gid = _ids(settings.instructor)
    for folder in (course_folder, course_folder / "inbound"):
        if folder.is_dir():
            os.chown(folder, uid, gid)


def _ids(name: str) -> tuple[int, int]:
    entry = pwd.getpwnam(name)
    return entry.pw_uid, entry.pw_gid


def _write_user_configs(settings: HubSettings) -> None:
    """Each role's Jupyter config folder: nbgrader's exchange and course for everyone, the
    course folder for the instructor, the instructor's plugins off for students."""
    common = (
        f"c.CourseDirectory.course_id = {settings.course_id!r}\n"
        f"c.Exchange.root = {settings.exchange!r}\n"
        "c.ExchangeFactory.submit = 'grader.hub.exchange.PrivateSubmit'\n"
    )
    instructor = settings.user_config("instructor")
    instructor.mkdir(parents=True, exist_ok=True)
    (instructor / "nbgrader_config.py").write_text(
        common + f"c.CourseDirectory.root = {settings.course_root!r}\n", encoding="utf-8"
    )
    student = settings.user_config("student")
    (student / "labconfig").mkdir(parents=True, exist_ok=True)
    (student / "nbgrader_config.py").write_text(common, encoding="utf-8")
    (student / "labconfig" / "page_config.json").write_text(
        json.dumps({"disabledExtensions": dict.fromkeys(INSTRUCTOR_PLUGINS, True)}, indent=2),
        encoding="utf-8",
    )
    (student / "jupyter_server_config.json").write_text(
        json.dumps(
            {
                "ServerApp": {
                    "jpserver_extensions": dict.fromkeys(INSTRUCTOR_SERVER_EXTENSIONS, False)
                }
            },
            indent=2,
        ),
        encoding="utf-8",
    )
    for path in [settings.user_config("x").parent, *settings.user_config("x").parent.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)


@contextmanager
def running(classroom: Classroom, log_file: Path | None = None) -> Iterator[subprocess.Popen]:
    """JupyterHub for ``classroom``, up and answering; stopped with everything it started on
    exit, whatever the exit (see :func:`stop`)."""
    settings = classroom.settings
    left = end_marked(SETTINGS_ENV, str(settings.path))  # a hub killed earlier left these
    if left:
        log.warning("ended %d processes left by an earlier run of this classroom", len(left))
    config = resources.files("grader.hub").joinpath("jupyterhub_config.py")
    env = dict(os.environ)
    env[SETTINGS_ENV] = str(settings.path)
    env["PATH"] = f"{settings.venv_bin}:{env.get('PATH', '/usr/bin:/bin')}"
    output = (log_file or Path(settings.state) / "hub.log").open("ab")
    hub = subprocess.Popen(
        [str(Path(settings.venv_bin) / "jupyterhub"), "-f", str(config)],
        cwd=settings.state,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=output,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        umask=0o077,  # the hub's database, secrets and logs, and what servers write: private
    )
    try:
        wait_until_up(classroom, hub)
        yield hub
    finally:
        stop(hub, settings)
        output.close()


def wait_until_up(classroom: Classroom, hub: subprocess.Popen, timeout: float = 120) -> None:
    """Return when the hub answers at its address; :class:`HubError` if it exits first."""
    deadline = time.monotonic() + timeout
    url = f"{classroom.url}/hub/api/"
    while time.monotonic() < deadline:
        if hub.poll() is not None:
            raise HubError(
                f"JupyterHub exited with status {hub.returncode}: see "
                f"{Path(classroom.settings.state) / 'hub.log'}"
            )
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise HubError(f"JupyterHub did not answer at {url} within {timeout:.0f} s")


def stop(hub: subprocess.Popen, settings: HubSettings) -> list[int]:
    """Stop the hub (which stops the servers and the service), then end whatever of the
    classroom is left. Returns the processes that had to be ended."""
    if hub.poll() is None:
        hub.send_signal(signal.SIGTERM)
        try:
            hub.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            log.error("JupyterHub did not stop within %.0f s: killing it", STOP_TIMEOUT_S)
            os.killpg(hub.pid, signal.SIGKILL)
            hub.wait()
    return end_marked(SETTINGS_ENV, str(settings.path))
