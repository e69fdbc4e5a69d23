"""A throwaway PostgreSQL server for the tests and the load benchmark: ``initdb`` into a
temporary folder, ``postgres`` on a free loopback port, stopped and deleted at exit.

The server is a child of the process that started it, not a daemon (``pg_ctl start`` makes
one): it gets SIGKILL when that process dies (``setpriv --pdeathsig``), so a test run stopped
by a signal leaves no server behind (its backends notice and exit). PostgreSQL refuses to run
as root, and CI runs as root: there the server runs as the unprivileged ``nobody``
(``setpriv``), owning its data folder. The binaries are looked up on PATH, then in Debian's
``/usr/lib/postgresql/<version>/bin``.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.support.net import free_port

USER = "grader"
DEBIAN_BIN = Path("/usr/lib/postgresql")
#: How ``stop`` asks the server to shut down (PostgreSQL's own signals for its modes).
STOP_SIGNALS = {"smart": signal.SIGTERM, "fast": signal.SIGINT, "immediate": signal.SIGQUIT}
#: Longest a server may take to accept connections or to stop.
START_TIMEOUT_S = 60.0


class PostgresUnavailable(RuntimeError):
    """PostgreSQL's server binaries are not installed."""


def find_bin_dir() -> Path:
    """The folder with ``initdb`` and ``postgres``; PostgresUnavailable if there is none."""
    found = shutil.which("initdb")
    if found and shutil.which("postgres"):
        return Path(found).resolve().parent
    versions = sorted(DEBIAN_BIN.glob("*/bin/initdb"), key=lambda p: int(p.parts[-3]))
    if versions:
        return versions[-1].parent
    raise PostgresUnavailable(
        "PostgreSQL's server binaries (initdb, postgres) are not installed: "
        "apt-get install postgresql (.ci/run does)"
    )


@dataclass
class PostgresServer:
    """One server on ``127.0.0.1:port`` over ``data_dir``; ``stop``/``start`` may be repeated."""

    bin_dir: Path
    data_dir: Path
    port: int
    as_user: list[str]
    settings: dict[str, str]
    process: subprocess.Popen[bytes] | None = None

    def url(self, database: str = "postgres") -> str:
        """The SQLAlchemy URL of ``database`` (psycopg 3)."""
        return f"postgresql+psycopg://{USER}@127.0.0.1:{self.port}/{database}"

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [*self.as_user, *args],
            env=_server_env(),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if check and result.returncode != 0:
            raise RuntimeError(f"{' '.join(args[:2])} failed: {result.stderr or result.stdout}")
        return result

    def start(self) -> None:
        """Start the server and wait until it accepts connections."""
        command = [*self.as_user, str(self.bin_dir / "postgres"), "-D", str(self.data_dir)]
        command += ["-p", str(self.port)]
        command += [item for k, v in self.settings.items() for item in ("-c", f"{k}={v}")]
        with (self.data_dir.parent / "server.log").open("ab") as log:
            self.process = subprocess.Popen(
                command,
                env=_server_env(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + START_TIMEOUT_S
        while not self._accepts_connections():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop("immediate")
                log_text = (self.data_dir.parent / "server.log").read_text(errors="replace")
                raise RuntimeError(f"postgres did not start:\n{log_text[-2000:]}")
            time.sleep(0.05)

    def _accepts_connections(self) -> bool:
        import psycopg

        try:
            with psycopg.connect(
                host="127.0.0.1", port=self.port, user=USER, dbname="postgres", connect_timeout=2
            ):
                return True
        except psycopg.OperationalError:
            return False

    def stop(self, mode: str = "fast") -> None:
        """Stop the server (``fast``: roll back open transactions, close connections) and wait
        for it; SIGKILL if it has not stopped in time."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(STOP_SIGNALS[mode])
        try:
            process.wait(timeout=START_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def running(self) -> bool:
        """Whether the server process is up."""
        return self.process is not None and self.process.poll() is None

    def create_database(self, name: str) -> str:
        """Create an empty database; return its URL."""
        import psycopg

        with psycopg.connect(
            host="127.0.0.1", port=self.port, user=USER, dbname="postgres", autocommit=True
        ) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


def _server_env() -> dict[str, str]:
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C", "TZ": "UTC"}


def _unprivileged() -> tuple[list[str], int, int]:
    """The command prefix that runs the server's programs (as ``nobody`` under root), dying
    with their parent; the user and group that own its data."""
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        raise PostgresUnavailable("setpriv (util-linux) is missing")
    if os.geteuid() != 0:
        return [setpriv, "--pdeathsig", "KILL"], os.getuid(), os.getgid()
    user = pwd.getpwnam("nobody")
    prefix = [
        setpriv,
        f"--reuid={user.pw_uid}",
        f"--regid={user.pw_gid}",
        "--clear-groups",
        "--inh-caps=-all",
        "--pdeathsig",
        "KILL",
    ]
    return prefix, user.pw_uid, user.pw_gid


@contextmanager
def temporary_server(durable: bool = False, max_connections: int = 200) -> Iterator[PostgresServer]:
    """A new server in a temporary folder, removed with its data at exit.

    ``durable=False`` turns off fsync (tests); the benchmark keeps PostgreSQL's defaults."""
    bin_dir = find_bin_dir()
    as_user, uid, gid = _unprivileged()
    root = Path(tempfile.mkdtemp(prefix="quiz-pg-"))
    try:
        root.chmod(0o711)  # the server's user passes through to its own folder
        home = root / "pg"
        home.mkdir(mode=0o700)
        os.chown(home, uid, gid)
        settings = {
            "listen_addresses": "127.0.0.1",
            "unix_socket_directories": str(home),
            "max_connections": str(max_connections),
        }
        if not durable:
            settings |= {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}
        server = PostgresServer(bin_dir, home / "data", free_port(), as_user, settings)
        server._run(
            str(bin_dir / "initdb"),
            "-D",
            str(server.data_dir),
            "-U",
            USER,
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C",
            "--no-sync",
        )
        server.start()
        try:
            yield server
        finally:
            if server.running():
                server.stop("immediate" if not durable else "fast")
    finally:
        shutil.rmtree(root, ignore_errors=True)
