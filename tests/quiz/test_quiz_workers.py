"""`grader quiz serve --workers 2` as an instructor starts it, with nothing set: the credentials
are made on first start, two processes share one database (SQLite and PostgreSQL), racing
submissions keep the attempt limit, and no token reaches the server's log."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from grader.quiz import tokens
from grader.quiz.store import Store
from tests.support import ROOT
from tests.support.net import free_port
from tests.support.quiz import BANK_DIR, correct_answers

BOTH_DATABASES = True  # the server runs once on SQLite and once on PostgreSQL
POST = "frameworks-post"  # two attempts allowed


def _start(db_url: str, port: int, cwd: Path) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRADER_QUIZ_")}
    env["GRADER_QUIZ_STATE_FILE"] = os.environ["GRADER_QUIZ_STATE_FILE"]
    env["PYTHONPATH"] = str(ROOT)
    command = [sys.executable, "-m", "grader.cli", "quiz", "serve", "--workers", "2"]
    command += ["--port", str(port), "--db", db_url, "--bank", str(BANK_DIR)]
    return subprocess.Popen(
        command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def _wait_until_up(url: str, server: subprocess.Popen[str], timeout_s: float = 180) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert server.poll() is None, "the server exited"
        try:
            if httpx.get(f"{url}/healthz", timeout=5).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.3)
    raise AssertionError("the server did not start")


def test_two_workers_on_one_database_with_nothing_set(db_url, bank, tmp_path):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = _start(db_url, port, tmp_path)
    try:
        _wait_until_up(url, server)
        state = Path(os.environ["GRADER_QUIZ_STATE_FILE"])
        stored = json.loads(state.read_text(encoding="utf-8"))
        secret, instructor = stored["secret"].encode(), stored["instructor_token"]
        answers = {"answers": correct_answers(bank[POST])}

        def submit(student: str, key: str | None = None) -> httpx.Response:
            headers = {"Authorization": f"Bearer {tokens.issue(secret, student, POST, 600)}"}
            if key:
                headers["Idempotency-Key"] = key
            with httpx.Client(base_url=url, timeout=60) as c:  # a new connection each time
                return c.post(f"/api/quiz/{POST}/attempts", headers=headers, json=answers)

        jobs = [(f"racer{i}", None) for i in range(8) for _ in range(3)]
        jobs += [("resender", "one-key-for-all-four")] * 4
        with ThreadPoolExecutor(len(jobs)) as pool:
            statuses = [r.status_code for r in pool.map(lambda job: submit(*job), jobs)]
        page_token = tokens.issue(secret, "ada", POST, 600)
        assert httpx.get(f"{url}/quiz/{POST}?token={page_token}&lang=he").status_code == 200
        signed_in = httpx.get(f"{url}/instructor?token={instructor}")
        assert (
            signed_in.status_code == 303
            and "grader_quiz_session" in signed_in.headers["set-cookie"]
        )
    finally:
        server.send_signal(signal.SIGINT)
        out, err = server.communicate(timeout=60)
    assert server.returncode == 0, err
    assert sorted(statuses) == [201] * (16 + 4) + [409] * 8
    with Store.open(db_url) as store:
        rows = store.attempts(POST)
    numbers: dict[str, list[int]] = {}
    for a in rows:
        numbers.setdefault(a.student, []).append(a.number)
    assert numbers == {**{f"racer{i}": [1, 2] for i in range(8)}, "resender": [1]}
    assert err.count("Started server process") == 2
    assert stat_mode(state) == 0o600
    log = out + err
    banner = f"Instructor dashboard (sign in once): {url}/instructor?token={instructor}"
    assert log.count(instructor) == 1 and banner in err  # printed once, on first start
    assert f"/quiz/{POST}?token=[redacted]&lang=he" in log  # the access log ran, redacted
    assert page_token not in log and stored["secret"] not in log


def stat_mode(path: Path) -> int:
    """The permission bits of ``path``."""
    return path.stat().st_mode & 0o777
