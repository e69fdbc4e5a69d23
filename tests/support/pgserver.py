"""A throwaway PostgreSQL server for the tests and the load benchmark: ``initdb`` into a
temporary folder, ``pg_ctl`` on a free loopback port, stopped and deleted at exit.

PostgreSQL refuses to run as root, and CI runs as root: there the server runs as the
unprivileged ``nobody`` (``setpriv``), owning its data folder. The binaries are looked up on
PATH, then in Debian's ``/usr/lib/postgresql/<version>/bin``.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.support.net import free_port

USER = "grader"
DEBIAN_BIN = Path("/usr/lib/postgresql")


class PostgresUnavailable(RuntimeError):
    """PostgreSQL's server binaries are not installed."""


def find_bin_dir() -> Path:
    """The folder with ``initdb`` and ``pg_ctl``; PostgresUnavailable if there is none."""
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return Path(found).resolve().parent
    versions = sorted(DEBIAN_BIN.glob("*/bin/initdb"), key=lambda p: int(p.parts[-3]))
    if versions:
        return versions[-1].parent
    raise PostgresUnavailable(
        "PostgreSQL's server binaries (initdb, pg_ctl) are not installed: "
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

    def url(self, database: str = "postgres") -> str:
        """The SQLAlchemy URL of ``database`` (psycopg 3)."""
        return f"postgresql+psycopg://{USER}@127.0.0.1:{self.port}/{database}"

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C", "TZ": "UTC"}
        result = subprocess.run(
            [*self.as_user, *args],
            env=env,
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
        options = " ".join(f"-c {k}={v}" for k, v in self.settings.items())
        self._run(
            str(self.bin_dir / "pg_ctl"),
            "start",
            "--wait",
            "--silent",
            "-D",
            str(self.data_dir),
            "-l",
            str(self.data_dir.parent / "server.log"),
            "-o",
            f"-p {self.port} {options}",
        )

    def stop(self, mode: str = "fast") -> None:
        """Stop the server (``fast``: roll back open transactions, close connections)."""
        self._run(
            str(self.bin_dir / "pg_ctl"), "stop", "--wait", "-m", mode, "-D", str(self.data_dir)
        )

    def running(self) -> bool:
        """Whether the server process is up."""
        status = self._run(
            str(self.bin_dir / "pg_ctl"), "status", "-D", str(self.data_dir), check=False
        )
        return status.returncode == 0

    def create_database(self, name: str) -> str:
        """Create an empty database; return its URL."""
        import psycopg

        with psycopg.connect(
            host="127.0.0.1", port=self.port, user=USER, dbname="postgres", autocommit=True
        ) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


def _unprivileged() -> tuple[list[str], int, int]:
    if os.geteuid() != 0:
        return [], os.getuid(), os.getgid()
    user = pwd.getpwnam("nobody")
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        raise PostgresUnavailable("running as root, and setpriv (util-linux) is missing")
    prefix = [
        setpriv,
        f"--reuid={user.pw_uid}",
        f"--regid={user.pw_gid}",
        "--clear-groups",
        "--inh-caps=-all",
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
