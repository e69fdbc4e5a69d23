"""Load benchmark of the quiz server: N concurrent simulated students open the quiz and submit.

Starts ``grader quiz serve`` in its own process on a free loopback port with a fresh SQLite
database, then drives it from this process with lean keep-alive HTTP/1.1 connections (asyncio
streams, one connection per concurrent student). Reports submits/s and p50/p99 latency of the
submissions, and the same figures for the trivial ``/healthz`` endpoint of the same server in the
same run, then checks that every accepted submission is in the database (none lost).

    python bench/quiz_load.py [--students 2000] [--concurrency 50]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from grader.quiz import tokens  # noqa: E402
from grader.quiz.bank import load_bank  # noqa: E402
from grader.quiz.serving import free_port  # noqa: E402
from grader.quiz.store import Store  # noqa: E402

QUIZ = "frameworks-pre"


class Connection:
    """One keep-alive HTTP/1.1 connection with just enough of the protocol for this bench."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, host: str):
        self.reader, self.writer, self.host = reader, writer, host

    @classmethod
    async def open(cls, host: str, port: int) -> Connection:
        """Connect to host:port."""
        reader, writer = await asyncio.open_connection(host, port)
        return cls(reader, writer, f"{host}:{port}")

    async def request(
        self, method: str, path: str, token: str | None = None, body: bytes | None = None
    ) -> tuple[int, bytes]:
        """Send one request and read the whole response; return (status, body)."""
        head = [f"{method} {path} HTTP/1.1", f"Host: {self.host}"]
        if token:
            head.append(f"Authorization: Bearer {token}")
        if body is not None:
            head += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
        self.writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + (body or b""))
        await self.writer.drain()
        status_line = await self.reader.readline()
        status = int(status_line.split()[1])
        length = 0
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b""):
                break
            name, _, value = line.decode("latin-1").partition(":")
            if name.lower() == "content-length":
                length = int(value)
        return status, await self.reader.readexactly(length)

    async def close(self) -> None:
        """Close the connection."""
        self.writer.close()
        await self.writer.wait_closed()


def percentile(values: list[float], p: float) -> float:
    """The p-th percentile (nearest rank) of values."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


async def run_phase(port: int, concurrency: int, jobs: list, make_request) -> dict:
    """Run jobs over ``concurrency`` connections; return throughput and latency figures."""
    queue: asyncio.Queue = asyncio.Queue()
    for job in jobs:
        queue.put_nowait(job)
    latencies: list[float] = []
    statuses: dict[int, int] = {}

    async def worker() -> None:
        conn = await Connection.open("127.0.0.1", port)
        try:
            while not queue.empty():
                job = queue.get_nowait()
                status, lat = await make_request(conn, job)
                latencies.append(lat)
                statuses[status] = statuses.get(status, 0) + 1
        finally:
            await conn.close()

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - start
    return {
        "requests": len(latencies),
        "per_s": len(latencies) / elapsed,
        "p50_ms": 1000 * statistics.median(latencies),
        "p99_ms": 1000 * percentile(latencies, 99),
        "statuses": statuses,
    }


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


async def bench(port: int, secret: bytes, students: int, concurrency: int) -> dict:
    """Baseline on /healthz, then open + submit per student; return both figures."""
    quiz = load_bank(ROOT / "quizzes")[QUIZ]
    ids = [f"s{i:06d}" for i in range(students)]
    toks = {s: tokens.issue(secret, s, QUIZ, 3600) for s in ids}

    async def health(conn: Connection, _job: object) -> tuple[int, float]:
        t0 = time.perf_counter()
        status, _ = await conn.request("GET", "/healthz")
        return status, time.perf_counter() - t0

    async def student(conn: Connection, job: tuple[int, str]) -> tuple[int, float]:
        i, sid = job
        status, _ = await conn.request("GET", f"/api/quiz/{QUIZ}?lang=he", toks[sid])
        assert status == 200, status
        t0 = time.perf_counter()
        status, _ = await conn.request(
            "POST", f"/api/quiz/{QUIZ}/attempts", toks[sid], answers_for(quiz, i)
        )
        return status, time.perf_counter() - t0

    await run_phase(port, concurrency, list(range(200)), health)  # warm-up
    baseline = await run_phase(port, concurrency, list(range(students)), health)
    t0 = time.perf_counter()
    submits = await run_phase(port, concurrency, list(enumerate(ids)), student)
    submits["elapsed_s"] = time.perf_counter() - t0
    return {"healthz": baseline, "submit": submits}


def main() -> int:
    """Run the benchmark and print its figures as text and JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=50)
    args = parser.parse_args()
    secret = secrets.token_urlsafe(32).encode()
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        db = f"sqlite:///{Path(tmp) / 'bench.db'}"
        env = {
            **os.environ,
            "GRADER_QUIZ_SECRET": secret.decode(),
            "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
        }
        cmd = [
            sys.executable,
            "-m",
            "grader.cli",
            "quiz",
            "serve",
            "--port",
            str(port),
            "--db",
            db,
            "--bank",
            str(ROOT / "quizzes"),
            "--log-level",
            "warning",
            "--no-access-log",
        ]
        with subprocess.Popen(cmd, env=env) as server:
            try:
                deadline = time.monotonic() + 30
                while True:
                    try:
                        asyncio.run(asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 1))
                        break
                    except OSError:
                        if time.monotonic() > deadline or server.poll() is not None:
                            raise RuntimeError("the server did not start") from None
                        time.sleep(0.1)
                result = asyncio.run(bench(port, secret, args.students, args.concurrency))
            finally:
                server.terminate()
                server.wait(10)
        with Store.open(db) as store:
            stored = store.count(QUIZ)
    accepted = result["submit"]["statuses"].get(201, 0)
    result["stored"] = stored
    result["lost"] = accepted - stored
    result["machine"] = (
        f"{os.cpu_count()} cores, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}"
    )
    result["students"], result["concurrency"] = args.students, args.concurrency
    h, s = result["healthz"], result["submit"]
    print(f"machine: {result['machine']}; {args.students} students, {args.concurrency} concurrent")
    print(
        f"healthz : {h['per_s']:8.1f} req/s  p50 {h['p50_ms']:6.1f} ms  p99 {h['p99_ms']:6.1f} ms"
    )
    print(
        f"submit  : {s['per_s']:8.1f} req/s  p50 {s['p50_ms']:6.1f} ms  p99 {s['p99_ms']:6.1f} ms"
        f"  (open + submit per student: {args.students / s['elapsed_s']:.1f} students/s)"
    )
    print(f"accepted {accepted}, stored {stored}, lost {result['lost']}, statuses {s['statuses']}")
    print(json.dumps(result))
    return 0 if result["lost"] == 0 and accepted == args.students else 1


if __name__ == "__main__":
    sys.exit(main())
