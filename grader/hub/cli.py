"""``grader hub``: the classroom (JupyterHub, nbgrader's JupyterLab extensions, feedback on
submit) on this machine; ``grader hub-status``: what the grading service did."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path

DEFAULT_STATE = Path("/srv/grader-hub")


def _roster(args: argparse.Namespace) -> list[str]:
    if args.students:
        return [s.strip() for s in args.students.split(",") if s.strip()]
    if args.demo:
        from grader.demo.class_sim import ROSTER

        return [student.id for student in ROSTER]
    raise SystemExit("grader hub: name the students (--students a,b,c) or use --demo")


def _at_least_one(text: str) -> int:
    """A count of one or more, for argparse."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of 1 or more, got {text!r}")
    return value


def run_hub(args: argparse.Namespace) -> int:
    """Set the classroom up, start the hub, wait for Ctrl-C or SIGTERM, stop everything."""
    from grader.hub.launch import running, set_up

    classroom = set_up(
        Path(args.root),
        Path(args.state),
        args.instructor,
        _roster(args),
        args.assignment or None,
        demo=args.demo,
        ip=args.ip,
        port=args.port,
        hub_port=args.hub_port or args.port + 81,
        proxy_api_port=args.proxy_api_port or args.port + 1,
        dask_scheduler=args.dask_scheduler or "",
        grading_workers=args.grading_workers,
        **({"extra_config": str(Path(args.config).resolve())} if args.config else {}),
    )
    stopped = threading.Event()

    def request_stop(signum: int, _frame: object) -> None:
        stopped.set()

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, request_stop)
    with running(classroom) as hub:
        print(f"The classroom is open at {classroom.url}")
        print(f"  course: {classroom.settings.course_root} (instructor: {args.instructor})")
        print(f"  logs: {Path(args.state) / 'hub.log'}, {classroom.settings.service_log}")
        for name, password in classroom.passwords.items():
            print(f"  {name}: {password}")
        print("Ctrl-C stops the hub, every server and the grading service.", flush=True)
        while not stopped.wait(1.0):
            if hub.poll() is not None:
                print(f"grader hub: JupyterHub exited ({hub.returncode})", file=sys.stderr)
                return 1
    print("grader hub: stopped; nothing of the classroom is left running")
    return 0


def run_status(args: argparse.Namespace) -> int:
    """Print the grading service's ledger: every submission and what became of it."""
    from grader.hub.ledger import read_ledger
    from grader.hub.settings import read_settings

    path = read_settings(Path(args.state) / "settings.json").ledger
    if not path.is_file():
        print(f"grader hub-status: no ledger at {path}", file=sys.stderr)
        return 1
    for entry in read_ledger(path):
        score = f"{entry.score:g}/{entry.max_score:g}" if entry.score is not None else "-"
        print(f"{entry.name:60} {entry.state:16} {score:9} {entry.note}")
    return 0


def register(commands: argparse._SubParsersAction) -> None:
    """Add ``hub`` and ``hub-status`` to the top-level parser."""
    hub = commands.add_parser(
        "hub",
        help="the classroom: JupyterHub with nbgrader's extensions and feedback on submit",
        description="Start a JupyterHub serving this course: an account per student, "
        "nbgrader's Assignments, Validate, Formgrader and Courses in JupyterLab, and a grading "
        "service that grades each submission and releases its feedback (policy: "
        "c.FeedbackPolicy in nbgrader_config.py). Runs as root.",
    )
    hub.add_argument("--root", default=".", help="the course to serve (default: .)")
    hub.add_argument("--state", default=str(DEFAULT_STATE), help="the hub's own folder")
    hub.add_argument("--instructor", default="instructor", help="the instructor's account")
    hub.add_argument("--students", help="comma-separated student accounts")
    hub.add_argument(
        "--assignment", action="append", help="serve only this assignment (repeatable)"
    )
    hub.add_argument("--ip", default="127.0.0.1")
    hub.add_argument("--port", type=int, default=8000, help="the address students open")
    hub.add_argument("--hub-port", type=int, help="the hub's own API (default: PORT + 81)")
    hub.add_argument("--proxy-api-port", type=int, help="the proxy's API (default: PORT + 1)")
    hub.add_argument("--config", help="a JupyterHub config file loaded last (authenticator, ...)")
    hub.add_argument(
        "--dask-scheduler", help="grade on this Dask cluster (default: a local one per assignment)"
    )
    hub.add_argument(
        "--grading-workers",
        type=_at_least_one,
        default=0,
        metavar="N",
        help="workers of the local grading cluster, each with its own warm kernels (default: "
        "one per core; fewer leave cores to the students' servers)",
    )
    hub.add_argument(
        "--demo",
        action="store_true",
        help="the demo class's accounts with new passwords (printed), assignments released",
    )
    hub.set_defaults(func=run_hub)
    status = commands.add_parser("hub-status", help="what the classroom's grading service did")
    status.add_argument("--state", default=str(DEFAULT_STATE))
    status.set_defaults(func=run_status)
