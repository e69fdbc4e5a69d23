"""Commands of grader.quiz (registered on the top-level ``grader`` parser as ``grader quiz``)."""

from __future__ import annotations

import argparse
import csv
import io
import os
import sys
from pathlib import Path

import yaml

from grader.quiz.bank import (
    QuizError,
    answer_warnings,
    balance_problems,
    default_bank_dir,
    load_bank,
    load_schema,
    parse_quiz,
    rank_report,
)
from grader.quiz.config import ConfigError, Settings, db_url_from, load_settings
from grader.quiz.migrate import SchemaError
from grader.quiz.store import DatabaseUnavailable


def _bank(args: argparse.Namespace):  # -> dict[str, Quiz]
    return load_bank(Path(args.bank) if args.bank else None)


def _fail(message: str) -> int:
    print(f"grader quiz: {message}", file=sys.stderr)
    return 2


def _quiz(args: argparse.Namespace):  # -> Quiz
    bank = _bank(args)
    if args.quiz not in bank:
        raise KeyError(f"unknown quiz '{args.quiz}'; the bank has {', '.join(sorted(bank))}")
    return bank[args.quiz]


def cmd_check(args: argparse.Namespace) -> int:
    """Validate the bank; print a line per quiz, or every problem (file, question, field).

    Also prints, per quiz and language, how often the correct option is the longest, the
    second-longest... option, and warnings (which do not fail the check) when one rank is too
    common or an absolute word ("always", "never", "רק") appears only in wrong options."""
    try:
        bank = _bank(args)
    except QuizError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        print(f"{len(exc.problems)} problem(s) in the quiz bank", file=sys.stderr)
        return 1
    warnings = [w for quiz in bank.values() for w in answer_warnings(quiz)]
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if warnings:
        print(f"{len(warnings)} warning(s): answers a student could guess", file=sys.stderr)
    given_away = [p for quiz in bank.values() for p in balance_problems(quiz)]
    for problem in given_away:
        print(problem, file=sys.stderr)
    for quiz in bank.values():
        if not any(p.file == quiz.source for p in given_away):
            print(
                f"ok  {quiz.id}: {len(quiz.questions)} questions, {quiz.max_score:g} points, "
                f"{len(quiz.concepts)} concepts, languages {', '.join(quiz.languages)}"
            )
        for line in rank_report(quiz):
            print(f"    {line}")
    if given_away:
        count = len(given_away)
        print(f"{count} problem(s): answers recognisable by length or position", file=sys.stderr)
        return 1
    return 0


def _announce(settings: Settings, host: str, port: int, workers: int) -> None:
    """Tell the instructor where the server and the dashboard are (on the terminal, not in the
    server's log): the sign-in URL with the token only when the credentials were just made."""
    from sqlalchemy.engine import make_url

    base = f"http://{host}:{port}"
    db = make_url(settings.db_url).render_as_string(hide_password=True)
    lines = [f"Quiz server: {base} ({workers} worker process(es), database {db})"]
    if settings.credentials_created and settings.credentials_file is not None:
        lines += [
            f"New secret and instructor token stored in {settings.credentials_file} "
            "(readable only by you).",
            f"Instructor dashboard (sign in once): {base}/instructor?token="
            f"{settings.instructor_token}",
        ]
    elif settings.credentials_file is not None:
        lines.append(
            f"Instructor dashboard: {base}/instructor (the instructor token is in "
            f"{settings.credentials_file})"
        )
    else:
        lines.append(f"Instructor dashboard: {base}/instructor (the configured instructor token)")
    print("\n".join(lines), file=sys.stderr, flush=True)


def cmd_serve(args: argparse.Namespace) -> int:
    """Run the quiz web app with uvicorn, ``--workers`` processes on one database, until
    interrupted. The schema is created or migrated once, before the workers start."""
    import uvicorn

    from grader.quiz.logs import log_config
    from grader.quiz.store import Store
    from grader.quiz.worker import hand_over

    if args.workers < 1:
        return _fail("--workers must be at least 1")
    settings = load_settings(
        db_url=args.db,
        secret_file=args.secret_file,
        instructor_token_file=args.instructor_token_file,
    )
    bank_dir = (Path(args.bank) if args.bank else default_bank_dir()).resolve()
    load_bank(bank_dir)  # the bank's problems, before any worker starts
    with Store.open(settings.db_url):
        pass  # created or migrated to the current revision
    _announce(settings, args.host, args.port, args.workers)
    hand_over(settings, bank_dir, os.environ)  # inherited by uvicorn's worker processes
    uvicorn.run(
        "grader.quiz.worker:app_from_environment",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_config=log_config(),
        log_level=args.log_level,
        access_log=args.access_log,
        timeout_graceful_shutdown=10,
    )
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    """Create or upgrade the quiz database's schema to this version's revision."""
    from sqlalchemy.engine import make_url

    from grader.quiz import migrate
    from grader.quiz.store import Store

    url = db_url_from(db_url=args.db)
    with Store.open(url) as store, store.engine.connect() as conn:
        revision = migrate.current(conn)
    print(f"{make_url(url).render_as_string(hide_password=True)}: at revision {revision}")
    return 0


def _students(args: argparse.Namespace) -> list[str]:
    if args.students:
        return [s.strip() for s in args.students.split(",") if s.strip()]
    if args.roster:
        text = Path(args.roster).read_text(encoding="utf-8")
        rows = list(csv.reader(io.StringIO(text)))
        if rows and rows[0] and rows[0][0].strip().lower() in ("id", "student", "student_id"):
            rows = rows[1:]
        return [r[0].strip() for r in rows if r and r[0].strip()]
    from grader.quiz.nbgrader_sync import roster

    return roster(args.gradebook or _course_gradebook(), args.course_id)


def cmd_links(args: argparse.Namespace) -> int:
    """Print ``student,url`` with a signed personal link per student."""
    from grader.quiz import tokens

    settings = load_settings(secret_file=args.secret_file)
    quiz = _quiz(args)
    students = _students(args)
    if not students:
        return _fail("no students: pass --students, --roster, or add students to nbgrader")
    ttl = int(args.ttl_days * 86400) if args.ttl_days else settings.token_ttl_s
    out = csv.writer(sys.stdout, lineterminator="\n")
    out.writerow(["student", "url"])
    base = args.base_url.rstrip("/")
    for student in students:
        token = tokens.issue(settings.secret, student, quiz.id, ttl)
        out.writerow([student, f"{base}/quiz/{quiz.id}?token={token}"])
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    """Print the CSV of a quiz's attempts."""
    from grader.quiz.export import attempts_csv
    from grader.quiz.store import Store

    quiz = _quiz(args)
    with Store.open(db_url_from(db_url=args.db), migrate_schema=False) as store:
        sys.stdout.write(attempts_csv(quiz, store))
    return 0


def cmd_sync(args: argparse.Namespace) -> int:
    """Write the quiz scores into nbgrader's gradebook."""
    from grader.quiz.nbgrader_sync import sync
    from grader.quiz.store import Store

    bank = _bank(args)
    gradebook = args.gradebook or _course_gradebook()
    with Store.open(db_url_from(db_url=args.db), migrate_schema=False) as store:
        for report in sync(bank, store, gradebook, args.course_id):
            print(f"{report.assignment}: {report.students} student(s) synced")
    return 0


def cmd_notebook(args: argparse.Namespace) -> int:
    """Write each quiz as an nbgrader source assignment under ``--source``."""
    from grader.quiz.notebook import write_assignment

    for quiz in _bank(args).values():
        print(write_assignment(quiz, Path(args.source)))
    return 0


def _write_quiz(data: dict, out_dir: Path, bank_dir: Path | None) -> Path:
    parse_quiz(data, f"{data['id']}.yaml", load_schema(bank_dir))
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{data['id']}.yaml"
    path.write_text(
        yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=100), encoding="utf-8"
    )
    return path


def cmd_import_ai4b(args: argparse.Namespace) -> int:
    """Convert AI-For-Beginners quiz-app files into bank YAML files under ``--out``."""
    from grader.quiz.formats.ai4b import import_files

    result = import_files(Path(f) for f in args.files)
    for note in result.notes:
        print(f"note: {note}", file=sys.stderr)
    for data in result.quizzes:
        print(_write_quiz(data, Path(args.out), Path(args.bank) if args.bank else None))
    return 0


def cmd_import_gift(args: argparse.Namespace) -> int:
    """Convert a Moodle GIFT file into a bank YAML file under ``--out``."""
    from grader.quiz.formats.gift import import_quiz

    text = Path(args.file).read_text(encoding="utf-8")
    data = import_quiz(text, args.id or Path(args.file).stem.lower(), args.lang)
    print(_write_quiz(data, Path(args.out), Path(args.bank) if args.bank else None))
    return 0


def cmd_export_gift(args: argparse.Namespace) -> int:
    """Print (or write) a quiz of the bank in GIFT, in one language."""
    from grader.quiz.formats.gift import export_quiz

    text = export_quiz(_quiz(args), args.lang)
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


def _guarded(func):  # turn expected errors into a message and exit status 1 or 2
    def run(args: argparse.Namespace) -> int:
        try:
            return func(args)
        except QuizError as exc:
            print(exc, file=sys.stderr)
            return 1
        except (ConfigError, KeyError, OSError, ValueError) as exc:
            return _fail(str(exc).strip("'\""))
        except (DatabaseUnavailable, SchemaError) as exc:
            return _fail(str(exc))

    run.__doc__ = func.__doc__
    return run


def _course_gradebook() -> str:
    """The gradebook of the course in the current folder, as its nbgrader config names it."""
    from grader.course import load_course

    return load_course(Path.cwd()).db_url


def register(commands: argparse._SubParsersAction) -> None:
    """Add ``grader quiz`` and its subcommands to the top-level parser."""
    quiz = commands.add_parser(
        "quiz", help="the pre- and post-lecture quizzes", description=__doc__.splitlines()[0]
    )
    sub = quiz.add_subparsers(dest="quiz_command", required=True, metavar="SUBCOMMAND")

    def add(name: str, func, help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.add_argument("--bank", help=f"quiz bank folder (default: {default_bank_dir().name}/)")
        p.set_defaults(func=_guarded(func))
        return p

    add("check", cmd_check, "validate the quiz bank against its schema and rules")

    p = add("serve", cmd_serve, "serve the quizzes and the instructor dashboard")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument(
        "--workers",
        type=int,
        default=1,
        help="server processes on the one database (PostgreSQL for more than one or two)",
    )
    p.add_argument(
        "--db", help="SQLAlchemy URL of the results (default $GRADER_QUIZ_DB or sqlite:///quiz.db)"
    )
    p.add_argument(
        "--secret-file",
        help="file with the token secret (or $GRADER_QUIZ_SECRET; default: made on first start)",
    )
    p.add_argument(
        "--instructor-token-file",
        help="file with the instructor token (or $GRADER_QUIZ_INSTRUCTOR_TOKEN)",
    )
    p.add_argument("--log-level", default="info")
    p.add_argument("--no-access-log", dest="access_log", action="store_false")

    p = add("links", cmd_links, "print student,url CSV of signed personal quiz links")
    p.add_argument("quiz")
    who = p.add_mutually_exclusive_group()
    who.add_argument("--students", help="comma-separated student ids")
    who.add_argument("--roster", help="CSV or text file, student ids in the first column")
    p.add_argument("--base-url", default="http://127.0.0.1:8000")
    p.add_argument("--ttl-days", type=float, help="link validity in days (default 60)")
    p.add_argument("--secret-file")
    p.add_argument(
        "--gradebook",
        help="nbgrader gradebook URL for the default roster (default: the course's, from "
        "nbgrader_config.py in the current folder)",
    )
    p.add_argument("--course-id", default="frameworks")

    p = add("migrate", cmd_migrate, "create or upgrade the quiz database's schema")
    p.add_argument("--db", help="SQLAlchemy URL (default $GRADER_QUIZ_DB or sqlite:///quiz.db)")

    p = add("export", cmd_export, "print a CSV with one row per attempt")
    p.add_argument("quiz")
    p.add_argument("--db")

    p = add("sync", cmd_sync, "put quiz scores into nbgrader's gradebook")
    p.add_argument("--db")
    p.add_argument(
        "--gradebook",
        help="gradebook URL (default: the course's, from nbgrader_config.py in the current folder)",
    )
    p.add_argument("--course-id", default="frameworks")

    p = add("notebook", cmd_notebook, "render each quiz as an nbgrader source assignment")
    p.add_argument("--source", default="source", help="nbgrader source folder (default source)")

    p = add("import-ai4b", cmd_import_ai4b, "import AI-For-Beginners quiz-app JSON files")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("--out", default="imported-quizzes", help="folder for the YAML files")

    p = add("import-gift", cmd_import_gift, "import a Moodle GIFT file")
    p.add_argument("file")
    p.add_argument("--id", help="quiz id (default: the file name)")
    p.add_argument("--lang", default="en", help="language of the GIFT text")
    p.add_argument("--out", default="imported-quizzes")

    p = add("export-gift", cmd_export_gift, "write a quiz of the bank as Moodle GIFT")
    p.add_argument("quiz")
    p.add_argument("--lang", default="en")
    p.add_argument("--out", help="file to write (default: standard output)")
