"""Load benchmark of the quiz server, open loop, the way a lecture loads it.

For each database (SQLite, and PostgreSQL when its binaries are installed) and each number of
worker processes (1 and 2), this starts ``grader quiz serve --workers N`` in its own process on
a fresh database and measures, in one run:

- **steady**: ``--students`` students (1,000) arriving at random times within ``--steady-s``
  seconds (60); each opens a new connection, opens the quiz (``GET /api/quiz/...``) and submits
  it; beside them, as many ``/healthz`` requests arriving the same way (the trivial endpoint);
- **burst**: ``--burst`` submissions (300) arriving within one second, each on a new
  connection, then as many ``/healthz`` requests the same way;
- **saturation**: ``--concurrency`` keep-alive connections (64) submitting back to back for
  ``--saturation-s`` seconds (10), then the same for ``/healthz``: the most the server does;
- **lost**: submissions answered 201 against rows stored (and rows stored twice).

Arrivals do not wait for earlier answers (open loop), so a slow server meets a growing queue
instead of fewer clients. Latency runs from sending a request to the end of its answer; the
generator's lag behind the schedule is reported too. During saturation the CPU time of the
server processes, of PostgreSQL and of this generator is read from /proc, per submission: on a
machine whose cores they share, that says what bounds the throughput.

    python bench/quiz_load.py [--students 1000 --steady-s 60 --burst 300] [--only sqlite:1]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import random
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from grader.quiz import tokens  # noqa: E402
from grader.quiz.bank import load_bank  # noqa: E402
from grader.quiz.store import Store  # noqa: E402
from tests.support.net import free_port  # noqa: E402
from tests.support.pgserver import (  # noqa: E402
    PostgresServer,
    PostgresUnavailable,
    temporary_server,
)

QUIZ = "frameworks-pre"
SECRET = "bench-secret-0123456789abcdef0123456789"
INSTRUCTOR = "bench-instructor-0123456789"
TICK = os.sysconf("SC_CLK_TCK")
GOALS = {"steady_p99_ms": 100.0, "burst_p99_ms": 1000.0, "saturation_per_s": 600.0}


class Connection:
    """One HTTP/1.1 connection with just enough of the protocol for this bench."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, host: str):
        self.reader, self.writer, self.host = reader, writer, host

    @classmethod
    async def open(cls, port: int) -> Connection:
        """Connect to 127.0.0.1:port."""
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        return cls(reader, writer, f"127.0.0.1:{port}")

    async def request(
        self,
        method: str,
        path: str,
        token: str | None = None,
        body: bytes | None = None,
        key: str | None = None,
    ) -> int:
        """Send one request, read the whole answer; return its status."""
        head = [f"{method} {path} HTTP/1.1", f"Host: {self.host}"]
        if token:
            head.append(f"Authorization: Bearer {token}")
        if key:
            head.append(f"Idempotency-Key: {key}")
        if body is not None:
            head += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
        self.writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + (body or b""))
        await self.writer.drain()
        status = int((await self.reader.readline()).split()[1])
        length = 0
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b""):
                break
            name, _, value = line.decode("latin-1").partition(":")
            if name.lower() == "content-length":
                length = int(value)
        await self.reader.readexactly(length)
        return status

    async def close(self) -> None:
        """Close the connection."""
        self.writer.close()
        with contextlib.suppress(OSError):
            await self.writer.wait_closed()


@dataclass
class Sample:
    """Latencies (s) and statuses of one kind of request in one phase."""

    latencies: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    lag: float = 0.0  # the generator's largest delay behind the schedule

    def add(self, status: int, latency: float) -> None:
        """Record one answer (status 0: the connection failed)."""
        self.statuses[status] += 1
        if status:
            self.latencies.append(latency)

    def figures(self, elapsed_s: float | None = None) -> dict:
        """Count, p50 and p99 in ms, statuses, and the rate over ``elapsed_s``."""
        lat = sorted(self.latencies) or [float("nan")]
        out = {
            "n": sum(self.statuses.values()),
            "p50_ms": round(1000 * statistics.median(lat), 1),
            "p99_ms": round(1000 * lat[min(len(lat) - 1, int(0.99 * len(lat)))], 1),
            "max_ms": round(1000 * lat[-1], 1),
            "statuses": dict(sorted(self.statuses.items())),
            "lag_ms": round(1000 * self.lag, 1),
        }
        if elapsed_s:
            out["per_s"] = round(len(self.latencies) / elapsed_s, 1)
        return out


def answers_for(quiz, i: int) -> bytes:
    """A varied, valid set of answers for student number i."""
    out = {}
    for k, q in enumerate(quiz.questions):
        if q.type == "numeric":
            out[q.id] = q.answer if (i + k) % 3 else (q.answer or 0) + 1
        else:
            ids = [o.id for o in q.options]
            out[q.id] = [ids[(i + k) % len(ids)]]
    return json.dumps({"answers": out, "lang": "he" if i % 2 else "en"}).encode()


class Load:
    """The requests of one server under test."""

    def __init__(self, port: int, quiz) -> None:
        self.port, self.quiz = port, quiz
        self.secret = SECRET.encode()

    def token(self, student: str) -> str:
        """The student's signed token."""
        return tokens.issue(self.secret, student, QUIZ, 3600)

    async def visit(self, student: str, i: int, opened: Sample, submitted: Sample) -> None:
        """A new connection: open the quiz, submit it, leave."""
        token, body = self.token(student), answers_for(self.quiz, i)
        conn = await Connection.open(self.port)
        try:
            t0 = time.perf_counter()
            status = await conn.request("GET", f"/api/quiz/{QUIZ}?lang=he", token)
            opened.add(status, time.perf_counter() - t0)
            t1 = time.perf_counter()
            status = await conn.request(
                "POST", f"/api/quiz/{QUIZ}/attempts", token, body, key=f"k-{student}"
            )
            submitted.add(status, time.perf_counter() - t1)
        finally:
            await conn.close()

    async def submit_once(self, student: str, i: int, submitted: Sample) -> None:
        """A new connection: submit (the quiz page is already open), leave."""
        token, body = self.token(student), answers_for(self.quiz, i)
        conn = await Connection.open(self.port)
        try:
            t0 = time.perf_counter()
            status = await conn.request(
                "POST", f"/api/quiz/{QUIZ}/attempts", token, body, key=f"k-{student}"
            )
            submitted.add(status, time.perf_counter() - t0)
        finally:
            await conn.close()

    async def health_once(self, sample: Sample) -> None:
        """A new connection: one /healthz request."""
        conn = await Connection.open(self.port)
        try:
            t0 = time.perf_counter()
            sample.add(await conn.request("GET", "/healthz"), time.perf_counter() - t0)
        finally:
            await conn.close()


async def open_loop(
    times: list[float], make: Callable[[int], Awaitable[None]], sample: Sample
) -> float:
    """Start ``make(i)`` at ``times[i]`` seconds from now, whatever is still running; return
    the elapsed time when all have finished."""
    start = time.perf_counter()

    async def one(i: int, at: float) -> None:
        delay = start + at - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        sample.lag = max(sample.lag, time.perf_counter() - start - at)
        try:
            await make(i)
        except (OSError, asyncio.IncompleteReadError, ValueError, IndexError):
            sample.statuses[0] += 1

    await asyncio.gather(*(one(i, at) for i, at in enumerate(times)))
    return time.perf_counter() - start


async def closed_loop(
    port: int,
    concurrency: int,
    duration_s: float,
    request: Callable[[Connection, int], Awaitable[int]],
) -> tuple[Sample, float]:
    """``concurrency`` keep-alive connections sending back to back for ``duration_s``."""
    sample = Sample()
    counter = iter(range(10**9))
    deadline = time.perf_counter() + duration_s

    async def worker() -> None:
        conn = await Connection.open(port)
        try:
            while time.perf_counter() < deadline:
                t0 = time.perf_counter()
                status = await request(conn, next(counter))
                sample.add(status, time.perf_counter() - t0)
        finally:
            await conn.close()

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return sample, time.perf_counter() - start


def arrivals(n: int, within_s: float, rng: random.Random) -> list[float]:
    """``n`` arrival times spread at random over ``within_s`` seconds (a Poisson process
    conditioned on its count)."""
    return sorted(rng.uniform(0, within_s) for _ in range(n))


def _stat(pid: int) -> list[str]:
    """The fields of /proc/PID/stat after the command name (field 3 is index 0)."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def _processes() -> dict[int, tuple[int, str]]:
    """Every live process: pid -> (parent pid, command name)."""
    out = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                parent = int(_stat(int(entry.name))[1])
                out[int(entry.name)] = (parent, (entry / "comm").read_text().strip())
    return out


def tree_cpu_seconds(root: int) -> float:
    """CPU seconds (user + system) of ``root``, its live descendants, and the descendants that
    already ended (their time is in their parents' ``cutime``/``cstime``)."""
    procs = _processes()
    tree, grew = {root}, True
    while grew:
        more = {pid for pid, (parent, _) in procs.items() if parent in tree} - tree
        tree |= more
        grew = bool(more)
    total = 0
    for pid in tree:
        with contextlib.suppress(OSError):
            fields = _stat(pid)
            total += sum(int(f) for f in fields[11:15])  # utime stime cutime cstime
    return total / TICK


def postmaster_pid() -> int | None:
    """The bench's PostgreSQL server process (a postgres whose parent is not postgres)."""
    procs = _processes()
    for pid, (parent, comm) in procs.items():
        if comm == "postgres" and procs.get(parent, (0, ""))[1] != "postgres":
            return pid
    return None


async def measure(port: int, server_pid: int, args: argparse.Namespace, tag: str) -> dict:
    """All phases against one running server."""
    quiz = load_bank(ROOT / "quizzes")[QUIZ]
    load = Load(port, quiz)
    rng = random.Random(11)
    warm = Sample()
    await open_loop([0.01 * i for i in range(50)], lambda i: load.health_once(warm), warm)
    await open_loop(
        [0.02 * i for i in range(20)],
        lambda i: load.visit(f"{tag}-warm{i}", i, Sample(), Sample()),
        warm,
    )

    opened, steady, steady_h = Sample(), Sample(), Sample()
    times = arrivals(args.students, args.steady_s, rng)
    health_times = arrivals(args.students, args.steady_s, rng)
    steady_s, _ = await asyncio.gather(
        open_loop(times, lambda i: load.visit(f"{tag}-st{i}", i, opened, steady), steady),
        open_loop(health_times, lambda i: load.health_once(steady_h), steady_h),
    )

    burst, burst_h = Sample(), Sample()
    await open_loop(
        arrivals(args.burst, 1.0, rng),
        lambda i: load.submit_once(f"{tag}-bu{i}", i, burst),
        burst,
    )
    await asyncio.sleep(1)
    await open_loop(arrivals(args.burst, 1.0, rng), lambda i: load.health_once(burst_h), burst_h)
    await asyncio.sleep(1)

    async def submit(conn: Connection, i: int) -> int:
        student = f"{tag}-sa{i}"
        return await conn.request(
            "POST",
            f"/api/quiz/{QUIZ}/attempts",
            load.token(student),
            answers_for(quiz, i),
            key=f"k-{student}",
        )

    async def health(conn: Connection, _i: int) -> int:
        return await conn.request("GET", "/healthz")

    postmaster = postmaster_pid()

    def cpu() -> tuple[float, float, float]:
        me = resource.getrusage(resource.RUSAGE_SELF)
        pg = tree_cpu_seconds(postmaster) if postmaster else 0.0
        return tree_cpu_seconds(server_pid), pg, me.ru_utime + me.ru_stime

    cpu0 = cpu()
    sat, sat_s = await closed_loop(port, args.concurrency, args.saturation_s, submit)
    cpu1 = cpu()
    sat_h, sat_h_s = await closed_loop(port, args.concurrency, args.saturation_s / 2, health)
    done = max(1, sat.statuses.get(201, 0))
    return {
        "steady": {
            "open": opened.figures(),
            "submit": steady.figures(steady_s),
            "healthz": steady_h.figures(steady_s),
            "elapsed_s": round(steady_s, 1),
        },
        "burst": {"submit": burst.figures(), "healthz": burst_h.figures()},
        "saturation": {
            "submit": sat.figures(sat_s),
            "healthz": sat_h.figures(sat_h_s),
            "cpu_ms_per_submit": {
                "server": round(1000 * (cpu1[0] - cpu0[0]) / done, 2),
                "postgresql": round(1000 * (cpu1[1] - cpu0[1]) / done, 2),
                "generator": round(1000 * (cpu1[2] - cpu0[2]) / done, 2),
            },
        },
        "accepted": sum(s.statuses.get(201, 0) for s in (steady, burst, sat)),
        "accepted_warmup": 20,
    }


@contextlib.contextmanager
def serving(db_url: str, workers: int, cwd: Path) -> Iterator[tuple[int, int]]:
    """``grader quiz serve`` on a free port; yields (port, pid); stopped at exit."""
    port = free_port()
    env = {
        **os.environ,
        "GRADER_QUIZ_SECRET": SECRET,
        "GRADER_QUIZ_INSTRUCTOR_TOKEN": INSTRUCTOR,
        "PYTHONPATH": str(ROOT),
    }
    command = [sys.executable, "-m", "grader.cli", "quiz", "serve", "--port", str(port)]
    command += ["--workers", str(workers), "--db", db_url, "--bank", str(ROOT / "quizzes")]
    command += ["--log-level", "warning", "--no-access-log"]
    with subprocess.Popen(command, cwd=cwd, env=env, stderr=subprocess.DEVNULL) as server:
        try:
            deadline = time.monotonic() + 180
            while True:
                try:
                    asyncio.run(Load(port, None).health_once(Sample()))
                    break
                except OSError:
                    if time.monotonic() > deadline or server.poll() is not None:
                        raise RuntimeError("the server did not start") from None
                    time.sleep(0.3)
            time.sleep(2 * workers)  # every worker up, not only the first
            yield port, server.pid
        finally:
            server.send_signal(signal.SIGINT)
            try:
                server.wait(60)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


def run_one(kind: str, workers: int, db_url: str, folder: Path, args) -> dict:
    """Measure one database and worker count; count what was stored."""
    tag = f"{kind}{workers}"
    load_before = os.getloadavg()[0]
    with serving(db_url, workers, folder) as (port, pid):
        result = asyncio.run(measure(port, pid, args, tag))
    with Store.open(db_url) as store:
        rows = store.attempts(QUIZ)
    accepted = result["accepted"] + result["accepted_warmup"]
    keys = Counter(a.request_key for a in rows)
    result |= {
        "database": kind,
        "workers": workers,
        "stored": len(rows),
        "lost": accepted - len(rows),
        "stored_twice": sum(n - 1 for n in keys.values() if n > 1),
        "load_average_before": round(load_before, 2),
        "load_average_after": round(os.getloadavg()[0], 2),
    }
    return result


def report(results: list[dict]) -> None:
    """Print one line per configuration and the goals."""
    print(f"{'config':<14}{'steady p50/p99 ms':>20}{'healthz p99':>13}{'burst p99':>11}"
          f"{'sat. submits/s':>16}{'healthz/s':>11}{'lost':>6}{'twice':>7}")  # fmt: skip
    for r in results:
        st, bu, sa = r["steady"], r["burst"], r["saturation"]
        print(
            f"{r['database']}:{r['workers']:<7}"
            f"{st['submit']['p50_ms']:>10} / {st['submit']['p99_ms']:<7}"
            f"{st['healthz']['p99_ms']:>13}{bu['submit']['p99_ms']:>11}"
            f"{sa['submit'].get('per_s', 0):>16}{sa['healthz'].get('per_s', 0):>11}"
            f"{r['lost']:>6}{r['stored_twice']:>7}"
        )
        print(f"    cpu ms per submit at saturation: {sa['cpu_ms_per_submit']}")


def main() -> int:
    """Run every configuration, print the figures, write them as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=1000)
    parser.add_argument("--steady-s", type=float, default=60.0)
    parser.add_argument("--burst", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--saturation-s", type=float, default=10.0)
    parser.add_argument("--only", action="append", help="database:workers, e.g. sqlite:1")
    parser.add_argument("--json", type=Path, help="write the figures to this file")
    args = parser.parse_args()
    configs = [(kind, n) for kind in ("sqlite", "postgresql") for n in (1, 2)]
    if args.only:
        configs = [c for c in configs if f"{c[0]}:{c[1]}" in args.only]
    machine = (
        f"{os.cpu_count()} cores, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}"
    )
    print(f"machine: {machine}; load average {os.getloadavg()[0]:.2f}")
    results: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="quiz-bench-") as tmp, contextlib.ExitStack() as stack:
        folder = Path(tmp)
        pg: PostgresServer | None = None
        if any(kind == "postgresql" for kind, _ in configs):
            try:
                pg = stack.enter_context(temporary_server(durable=True, max_connections=300))
            except PostgresUnavailable as exc:
                print(f"PostgreSQL skipped: {exc}")
        for kind, workers in configs:
            if kind == "postgresql" and pg is None:
                continue
            if kind == "sqlite":
                url = f"sqlite:///{folder / f'bench-{workers}.db'}"
            else:
                url = pg.create_database(f"bench_{workers}")  # type: ignore[union-attr]
            print(f"running {kind} with {workers} worker(s) ...", flush=True)
            results.append(run_one(kind, workers, url, folder, args))
    report(results)
    summary = {"machine": machine, "arguments": vars(args) | {"json": None}, "results": results}
    if args.json:
        args.json.write_text(json.dumps(summary, indent=1), encoding="utf-8")
    print(json.dumps(summary))
    return 0 if all(r["lost"] == 0 and r["stored_twice"] == 0 for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
