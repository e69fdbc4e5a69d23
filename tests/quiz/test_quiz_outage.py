"""A PostgreSQL server that stops and comes back while students submit: every request meanwhile
gets a clear 503, nothing accepted is lost or stored twice, and the running app recovers by
itself. The test stops and starts a real server of its own."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from grader.quiz import tokens
from grader.quiz.app import create_app
from grader.quiz.config import Settings
from grader.quiz.store import Store
from tests.support import ROOT
from tests.support.pgserver import PostgresServer, PostgresUnavailable, temporary_server
from tests.support.quiz import INSTRUCTOR, SECRET, correct_answers
from tests.support.serving import running

QUIZ = "frameworks-pre"  # one attempt each: a second stored row would be a 409, never a 201


@pytest.fixture
def own_pg() -> Iterator[PostgresServer]:
    """A PostgreSQL server that only this test stops and starts."""
    try:
        with temporary_server() as server:
            yield server
    except PostgresUnavailable as exc:
        pytest.skip(str(exc))


def _post(url: str, student: str, key: str | None, answers: dict) -> httpx.Response:
    token = tokens.issue(SECRET, student, QUIZ, 600)
    headers = {"Authorization": f"Bearer {token}"}
    if key is not None:
        headers["Idempotency-Key"] = key
    with httpx.Client(base_url=url, timeout=30) as c:
        return c.post(f"/api/quiz/{QUIZ}/attempts", headers=headers, json={"answers": answers})


def test_the_first_submission_after_a_restart_is_served(own_pg, bank):
    """A quick restart leaves the pool holding connections the server has closed: the first
    submission after it, even one sent without an Idempotency-Key (which is never retried once
    its statement went out), gets a live connection and is stored, not refused."""
    settings = Settings(secret=SECRET, db_url=own_pg.url(), instructor_token=INSTRUCTOR)
    answers = correct_answers(bank[QUIZ])
    with Store.open(settings.db_url) as store, running(create_app(settings, bank, store)) as url:
        assert _post(url, "before", None, answers).status_code == 201
        for restart in range(3):
            own_pg.stop()
            own_pg.start()  # nothing reached the database in between: the pool is stale
            r = _post(url, f"after{restart}", None, answers)
            assert r.status_code == 201, r.text
        stored = Counter(a.student for a in store.attempts(QUIZ))
        assert stored == {"before": 1, "after0": 1, "after1": 1, "after2": 1}, stored


def test_database_down_then_back_gives_503_and_stores_each_attempt_once(own_pg, bank):
    settings = Settings(secret=SECRET, db_url=own_pg.url(), instructor_token=INSTRUCTOR)
    answers = correct_answers(bank[QUIZ])
    with Store.open(settings.db_url) as store, running(create_app(settings, bank, store)) as url:
        assert _post(url, "before", "key-before-0001", answers).status_code == 201

        own_pg.stop()
        r = _post(url, "during", "key-during-0001", answers)
        assert r.status_code == 503 and r.headers["retry-after"] == "2"
        assert "database is unavailable" in r.json()["detail"]
        token = tokens.issue(SECRET, "during", QUIZ, 600)
        page = httpx.get(f"{url}/quiz/{QUIZ}?token={token}&lang=he", timeout=30)
        assert page.status_code == 503 and "database is unavailable" in page.text

        own_pg.start()  # the app is not restarted
        assert _post(url, "during", "key-during-0001", answers).status_code == 201
        assert _post(url, "during", "key-during-0001", answers).status_code == 201  # resent

        # mid-load: 30 students arrive over about 3 s; the server goes down for about a second
        statuses: Counter[int] = Counter()
        accepted: dict[str, int] = {}
        lock = threading.Lock()

        def student(i: int) -> None:
            time.sleep(0.1 * i)
            name, key = f"load{i:02d}", f"key-load-{i:04d}"
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                try:
                    r = _post(url, name, key, answers)
                except httpx.TransportError:
                    continue
                with lock:
                    statuses[r.status_code] += 1
                if r.status_code == 201:
                    with lock:
                        accepted[name] = r.json()["attempt"]
                    return
                assert r.status_code == 503, r.text
                time.sleep(float(r.headers.get("retry-after", "1")) / 4)

        threads = [threading.Thread(target=student, args=(i,)) for i in range(30)]
        for th in threads:
            th.start()
        time.sleep(1.0)
        own_pg.stop()
        time.sleep(1.0)
        own_pg.start()
        for th in threads:
            th.join()

        assert set(statuses) <= {201, 503} and statuses[503] > 0, statuses
        assert sorted(accepted) == [f"load{i:02d}" for i in range(30)]
        stored = store.attempts(QUIZ)
        per_student = Counter(a.student for a in stored)
        assert all(n == 1 for n in per_student.values()), per_student
        assert len(stored) == 2 + 30
        assert {a.request_key for a in stored if a.student.startswith("load")} == {
            f"key-load-{i:04d}" for i in range(30)
        }


def _state(pid: int) -> str | None:
    """A process's state letter, None once it is gone (a zombie, 'Z', has ended too)."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    state = text.rsplit(")", 1)[1].split()[0]
    return None if state in ("Z", "X") else state


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def test_a_killed_test_process_takes_its_server_with_it() -> None:
    """No PostgreSQL outlives the test run that started it, even one killed by a signal."""
    script = (
        "import time\nfrom tests.support.pgserver import temporary_server\n"
        "with temporary_server() as server:\n"
        "    print(server.process.pid, server.data_dir.parents[1], flush=True)\n"
        "    time.sleep(600)\n"
    )
    starter = subprocess.Popen(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        text=True,
    )
    processes: list[int] = []
    folder = ""
    try:
        assert starter.stdout is not None
        line = starter.stdout.readline()
        if not line.strip():
            pytest.skip("PostgreSQL could not start here")
        pid, folder = line.split()
        server = int(pid)
        deadline = time.monotonic() + 10
        while len(_children(server)) < 3 and time.monotonic() < deadline:
            time.sleep(0.1)  # the checkpointer, the writers and the launcher start
        # A child may end on its own meanwhile (the connection that checked the server
        # was ready): only the server and the children still running are followed.
        assert _state(server), "the server ended before its starter was killed"
        processes += [server, *(child for child in _children(server) if _state(child))]
        assert len(processes) >= 3, processes
        starter.kill()
        starter.wait(timeout=30)
        deadline = time.monotonic() + 20
        while any(_state(pid) for pid in processes) and time.monotonic() < deadline:
            time.sleep(0.1)
        left = {pid: _state(pid) for pid in processes if _state(pid)}
        assert not left, f"still running after their starter was killed: {left}"
    finally:
        if starter.poll() is None:
            starter.kill()
            starter.wait()
        for pid in processes:  # whatever the test found left, it does not leave behind
            if _state(pid):
                os.kill(pid, signal.SIGKILL)
        if folder:  # the killed starter could not remove its server's folder
            shutil.rmtree(folder, ignore_errors=True)
