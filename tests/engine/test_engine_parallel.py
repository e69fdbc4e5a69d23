"""A class graded at once: Dask workers, one bad submission never stops the rest, bounded
output, nothing left behind when the grader is killed, workers that cannot see the course."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import nbformat
import numpy as np
import pytest

from grader.cli import main
from grader.engine import judge, schedule
from grader.engine.autograde import autograde, load_course
from grader.engine.gradebook import recorded_scores
from grader.engine.progress import Progress
from grader.engine.schedule import RESUBMITS, ClusterOptions, fitting_threads
from grader.engine.task import FixedLabels
from tests.support.engine import TOY_LABELS, options, submit, tool_env, toy_labels
from tests.support.net import free_port

WRONG_DOUBLE = "def double(x):\n    return 3 * x\n"
CRASH = "import os\nos._exit(3)\n"
PRINT_BOMB = "for i in range(300000):\n    print('spam', i)\n\ndef double(x):\n    return 2 * x\n"
SLEEPER = "import time\ntime.sleep(300)\n"


def _document(course: Path, student: str) -> dict:
    return json.loads((course / f"autograded/{student}/demo/results.json").read_text())


@pytest.fixture(scope="module")
def graded_class(tmp_path_factory: pytest.TempPathFactory, template_course: Path):
    """A small class graded by two Dask worker processes: (course, progress)."""
    course = tmp_path_factory.mktemp("class") / "course"
    shutil.copytree(template_course, course)
    submit(course, "good")
    submit(course, "wrong", {"answer_double": WRONG_DOUBLE})
    submit(course, "crash", {"answer_labels": CRASH})
    submit(course, "bomb", {"answer_double": PRINT_BOMB})
    submit(course, "unreadable", raw=b'{"cells": [')

    def uid_cell(nb: nbformat.NotebookNode) -> None:
        nb.cells.insert(1, nbformat.v4.new_code_cell("import os\nprint('uid', os.getuid())"))

    submit(course, "uid", edit=uid_cell)

    def warmth_cell(nb: nbformat.NotebookNode) -> None:
        probe = "import os, sys\nprint('warm', 'numpy' in sys.modules, 'grader' in sys.modules)"
        nb.cells.insert(0, nbformat.v4.new_code_cell(probe + "\nprint('pid', os.getpid())"))

    submit(course, "warmth", edit=warmth_cell)
    for folder in (course / "submitted").iterdir():  # as nbgrader's collect leaves them
        (folder / "demo/timestamp.txt").write_text("2026-11-30 09:00:00.000000 UTC")
    progress = Progress(total=0, live=False)
    autograde(
        load_course(course),
        "demo",
        options(),
        cluster=ClusterOptions(workers=2),
        progress=progress,
        labels=toy_labels,
    )
    return course, progress


def test_every_submission_is_accounted_for_once(graded_class) -> None:
    _, progress = graded_class
    students = {"good", "wrong", "crash", "bomb", "unreadable", "uid", "warmth"}
    assert set(progress.rows) == students
    assert progress.done == progress.total == len(students)
    assert progress.rows["unreadable"].state == "not gradable"
    assert progress.needs_attention
    table = progress.summary()
    for student in students:
        assert sum(line.startswith(student + " ") for line in table.splitlines()) == 1
    assert "1 not gradable" in table and "0 errors" in table


def test_parallel_grades_equal_what_each_submission_earns(graded_class) -> None:
    course, _ = graded_class
    db_url = load_course(course).db_url
    good = _document(course, "good")
    assert good["gradable"] and good["score"] == good["max_score"] == 7
    wrong = _document(course, "wrong")
    lost = {t["name"] for t in wrong["tests"] if t["score"] < t["max_score"]}
    assert lost == {"demo/test_double", "demo/test_plain", "demo/test_warning"}
    crash = _document(course, "crash")
    assert crash["gradable"] and any("exited with status 3" in r for r in crash["reasons"])
    assert {t["name"]: t["score"] for t in crash["tests"]}["demo/test_double"] == 0
    assert not _document(course, "unreadable")["gradable"]
    for student in ("good", "wrong", "crash", "bomb", "uid"):
        recorded = recorded_scores(db_url, "demo", student)["demo"]
        assert sum(recorded.values()) == _document(course, student)["score"], student
        timestamp = course / f"autograded/{student}/demo/timestamp.txt"
        assert (
            timestamp.read_text()
            == (course / f"submitted/{student}/demo/timestamp.txt").read_text()
        )


def test_a_print_bomb_is_cut_and_costs_nothing(graded_class) -> None:
    course, _ = graded_class
    bomb = _document(course, "bomb")
    assert bomb["score"] == bomb["max_score"], bomb["tests"]
    executed = course / "autograded/bomb/demo/demo.ipynb"
    assert executed.stat().st_size < 200_000
    nb = nbformat.read(executed, 4)
    cell = next(
        c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "answer_double"
    )
    text = "".join(o.get("text", "") for o in cell.outputs)
    assert "output truncated: more than 1000 lines" in text
    assert text.count("spam") == 1000


def test_each_kernel_runs_as_a_sandbox_user_of_its_own(graded_class) -> None:
    import pwd

    course, _ = graded_class
    nb = nbformat.read(course / "autograded/uid/demo/demo.ipynb", 4)
    printed = "".join(o.get("text", "") for o in nb.cells[1].outputs)
    uid = int(printed.split()[1])
    assert uid != 0
    assert pwd.getpwuid(uid).pw_name.startswith("grader-sandbox-")


def test_kernels_are_forked_warm_into_a_namespace_of_their_own(graded_class) -> None:
    course, _ = graded_class
    document = _document(course, "warmth")
    assert document["score"] == document["max_score"], document["tests"]
    nb = nbformat.read(course / "autograded/warmth/demo/demo.ipynb", 4)
    printed = "".join(o.get("text", "") for o in nb.cells[0].outputs)
    # numpy came with the zygote; the project's own modules did not (a fresh copy is imported)
    assert "warm True False" in printed
    assert int(printed.split("pid")[1].split()[0]) < 10  # a PID namespace of its own


def test_slots_give_concurrent_kernels_different_users(tmp_path: Path) -> None:
    from grader.engine.sandbox import user_slot

    with (
        user_slot("grader-sandbox-t", tmp_path) as first,
        user_slot("grader-sandbox-t", tmp_path) as second,
    ):
        assert first != second
    with user_slot("grader-sandbox-t", tmp_path) as again:
        assert again == first  # released slots are used again


class ExplodingLabels(FixedLabels):
    """A label source that fails: an engine-side error inside the judge."""

    def __call__(self, dataset: str) -> np.ndarray:
        raise RuntimeError("the label store is offline")


@pytest.fixture
def dashboard_port_taken() -> Iterator[None]:
    """Dask's default dashboard port held, as another cluster on the machine would hold it."""
    with socket.socket() as taken:
        try:
            taken.bind(("127.0.0.1", 8787))
            taken.listen()
        except OSError:  # held already, which is as good
            pass
        yield


# a local cluster's scheduler does not reach for port 8787 (a warning, and a clash with any
# other cluster on the machine): the warning would fail the test here
@pytest.mark.filterwarnings("error:Port 8787")
@pytest.mark.usefixtures("dashboard_port_taken")
def test_judge_errors_are_recorded_not_zeros_and_a_rerun_grades_them(course: Path) -> None:
    submit(course, "a")
    submit(course, "b", {"answer_double": WRONG_DOUBLE})
    progress = Progress(total=0, live=False)
    autograde(
        load_course(course),
        "demo",
        options(),
        cluster=ClusterOptions(workers=2),
        progress=progress,
        labels=ExplodingLabels(),
    )
    assert {r.state for r in progress.rows.values()} == {"error"}
    for student in ("a", "b"):
        document = _document(course, student)
        assert not document["gradable"]
        assert any("label store is offline" in r for r in document["reasons"])
        assert not document["fingerprint"]  # graded again next time
    progress = Progress(total=0, live=False)
    autograde(
        load_course(course), "demo", options(), cluster=None, progress=progress, labels=toy_labels
    )
    assert {r.state for r in progress.rows.values()} == {"graded"}
    assert _document(course, "a")["score"] == 7


def test_one_failing_submission_does_not_stop_the_others(
    course: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = judge.judge_device

    def fragile(student, reference, device, language="en"):  # an engine bug one submission hits
        if len(student.values.get("devices", [])) == 2:
            raise ZeroDivisionError("an engine bug")
        return real(student, reference, device, language)

    monkeypatch.setattr(judge, "judge_device", fragile)
    submit(course, "ok1")
    submit(course, "victim", {"answer_devices": "def devices():\n    return ['cpu', 'cpu']\n"})
    submit(course, "ok2")
    progress = Progress(total=0, live=False)
    autograde(
        load_course(course), "demo", options(), cluster=None, progress=progress, labels=toy_labels
    )
    assert progress.rows["victim"].state == "error"
    assert "ZeroDivisionError: an engine bug" in progress.rows["victim"].notes[0]
    assert progress.rows["ok1"].state == progress.rows["ok2"].state == "graded"
    assert _document(course, "ok2")["score"] == 7


def test_the_command_prints_progress_a_table_and_fails_on_attention(
    course: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    submit(course, "broken", raw=b"not a notebook")
    status = main(["autograde", "demo", "--root", str(course), "--serial", "--timeout-cell", "20"])
    out, err = capsys.readouterr()
    assert status == 1
    assert "[1/1] broken: NOT GRADABLE" in err
    assert "broken" in out and "1 not gradable" in out


def test_without_a_sandbox_grading_refuses_to_start(
    course: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    bare = tmp_path / "bin"  # a machine without util-linux's unshare and setpriv
    bare.mkdir()
    monkeypatch.setenv("PATH", str(bare))
    submit(course, "s")
    status = main(["autograde", "demo", "--root", str(course), "--serial"])
    assert status == 2
    assert "--no-sandbox" in capsys.readouterr().err
    assert not (course / "autograded/s").exists()


# --- processes: nothing outlives the grader ---------------------------------------------------


def _ours(mark: str, scratch: Path) -> list[int]:
    """Processes started for this test's grader: by its environment mark or its scratch folder."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        if mark.encode() in environ or str(scratch).encode() in cmdline:
            found.append(int(entry.name))
    return found


def _kernels(scratch: Path) -> int:
    return sum(
        1
        for entry in Path("/proc").iterdir()
        if entry.name.isdigit() and _cmdline_has(entry, str(scratch), "ipykernel_launcher")
    )


def _cmdline_has(entry: Path, *words: str) -> bool:
    try:
        cmdline = (entry / "cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return False
    return all(word in cmdline for word in words)


def _wait(condition, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return condition()


@pytest.fixture
def short_tmp() -> Iterator[Path]:
    """A folder with a short path, for a grader's TMPDIR: the kernels' and the zygote's Unix
    sockets live below it, and pytest's own folders leave too little of a socket path's 107
    bytes (``grader.engine.scratch``)."""
    with tempfile.TemporaryDirectory(prefix="gt-") as made:
        yield Path(made)


@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_killing_the_grader_leaves_no_process(
    course: Path, tmp_path: Path, short_tmp: Path, how: int
) -> None:
    for student in ("s1", "s2", "s3"):
        submit(course, student, {"answer_double": SLEEPER})
    mark = f"grader-test-{uuid.uuid4().hex}"
    scratch = short_tmp
    env = {
        "PATH": "/usr/bin:/bin",  # the README's `.venv/bin/grader`, environment not activated
        "HOME": str(tmp_path),
        "TMPDIR": str(scratch),
        "GRADER_TEST_MARK": mark,
        "PYTHONPATH": tool_env()["PYTHONPATH"],
    }
    grader = Path(sys.executable).parent / "grader"
    command = [str(grader), "autograde", "demo", "--root", str(course), "--workers", "2"]
    log = tmp_path / "grader.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            command, env=env, stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT
        )
    try:
        assert _wait(lambda: _kernels(scratch) >= 2, 120), log.read_text()
        time.sleep(1)
        process.send_signal(how)
        process.wait(timeout=60)
        assert _wait(lambda: not _ours(mark, scratch), 20), _ours(mark, scratch)
    finally:
        if process.poll() is None:
            process.kill()
        for pid in _ours(mark, scratch):
            os.kill(pid, signal.SIGKILL)
    if how == signal.SIGTERM:
        assert process.returncode == 130
        assert "interrupted" in log.read_text()


# --- workers that cannot see the course -------------------------------------------------------


DASK = str(Path(sys.executable).parent / "dask")


def _dask_scheduler(log: Path, env: dict[str, str]) -> tuple[subprocess.Popen, str]:
    """``dask scheduler`` on a free loopback port, as started by hand; and its address."""
    port = free_port()
    with log.open("wb") as output:
        process = subprocess.Popen(
            [DASK, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    return process, f"tcp://127.0.0.1:{port}"


def _stop(*processes: subprocess.Popen) -> None:
    """Terminate ``processes`` one after the other, each killed if still there after 20 s:
    workers before their scheduler, whose going first can hold a worker's close for the 20 s."""
    for process in processes:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def blind_cluster(course: Path, tmp_path: Path, short_tmp: Path) -> Iterator[str]:
    """A Dask scheduler, and one worker in a mount namespace with an empty tmpfs over the
    course folder: the worker cannot see the course. Yields the scheduler's address."""
    if os.geteuid() != 0 or not shutil.which("unshare"):
        pytest.skip("needs root and unshare to hide the course folder from the worker")
    env = {**tool_env(), "TMPDIR": str(short_tmp)}
    scheduler, address = _dask_scheduler(tmp_path / "scheduler.log", env)
    hide = f"mount -t tmpfs -o size=1m tmpfs {course} && exec {DASK} worker {address} "
    hide += "--nworkers 1 --nthreads 1 --no-dashboard"
    with (tmp_path / "worker.log").open("wb") as output:
        worker = subprocess.Popen(
            ["unshare", "-m", "--propagation", "private", "sh", "-c", hide],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        yield address
    finally:
        _stop(worker, scheduler)


def test_workers_need_not_see_the_course(course: Path, blind_cluster: str) -> None:
    from distributed import Client

    submit(course, "far")
    submit(course, "far-wrong", {"answer_double": WRONG_DOUBLE})
    with Client(blind_cluster, timeout=60) as client:
        client.wait_for_workers(1, timeout=60)
        seen = client.run(os.listdir, str(course))
        assert list(seen.values()) == [[]]  # the course folder is empty for the worker
    progress = Progress(total=0, live=False)
    autograde(
        load_course(course),
        "demo",
        options(),
        cluster=ClusterOptions(scheduler=blind_cluster),
        progress=progress,
        labels=FixedLabels({"toy": TOY_LABELS}),
    )
    assert _document(course, "far")["score"] == 7
    assert _document(course, "far-wrong")["score"] == 3
    assert {r.state for r in progress.rows.values()} == {"graded"}


# --- a Dask worker killed mid-class -------------------------------------------------------------

WORKER_FLAGS = ("--no-nanny", "--no-dashboard")


def slow_double(seconds: int) -> str:
    """A right answer whose cell takes ``seconds``: a kernel busy long enough to act on."""
    return f"import time\ntime.sleep({seconds})\n\ndef double(x):\n    return 2 * x\n"


def _dask_worker(address: str, scratch: Path, mark: str, log: Path) -> subprocess.Popen:
    """``dask worker`` without a nanny (the process that grades is the one killed), marked."""
    scratch.mkdir()
    env = {**tool_env(), "TMPDIR": str(scratch), "GRADER_TEST_MARK": mark}
    with log.open("wb") as output:
        return subprocess.Popen(
            [DASK, "worker", address, "--nworkers", "1", "--nthreads", "1", *WORKER_FLAGS],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )


def _grading_thread(
    course: Path, address: str, progress: Progress, errors: list[BaseException]
) -> threading.Thread:
    """A thread (not started) that grades the course's ``demo`` on the Dask cluster at
    ``address``; what it raises goes to ``errors``, for the main thread to report."""

    def grade() -> None:
        try:
            autograde(
                load_course(course),
                "demo",
                options(),
                cluster=ClusterOptions(scheduler=address),
                progress=progress,
                labels=toy_labels,
            )
        except BaseException as error:  # reported by the main thread
            errors.append(error)

    return threading.Thread(target=grade)


def test_a_killed_worker_takes_its_kernels_and_the_class_still_completes(
    course: Path, tmp_path: Path, short_tmp: Path
) -> None:
    for student in ("s1", "s2", "s3"):
        submit(course, student, {"answer_double": slow_double(4)})
    scheduler, address = _dask_scheduler(tmp_path / "scheduler.log", tool_env())
    marks = {name: f"grader-test-{name}-{uuid.uuid4().hex}" for name in ("doomed", "kept")}
    scratch = {name: short_tmp / name for name in marks}
    workers = {
        name: _dask_worker(address, scratch[name], marks[name], tmp_path / f"{name}.log")
        for name in marks
    }
    progress = Progress(total=0, live=False)
    errors: list[BaseException] = []
    grading = _grading_thread(course, address, progress, errors)
    try:
        from distributed import Client

        with Client(address, timeout=60) as client:
            client.wait_for_workers(2, timeout=120)
            # two one-thread workers on this machine: each kernel gets half of its cores
            assert fitting_threads(client) == max(1, (os.cpu_count() or 1) // 2)
        grading.start()
        assert _wait(lambda: _kernels(scratch["doomed"]) >= 1, 180), "no kernel on the worker"
        assert _ours(marks["doomed"], scratch["doomed"]), "the worker's processes are not seen"
        workers["doomed"].kill()
        workers["doomed"].wait(timeout=30)
        gone = _wait(lambda: not _ours(marks["doomed"], scratch["doomed"]), 20)
        assert gone, (
            f"left behind by the killed worker: {_ours(marks['doomed'], scratch['doomed'])}"
        )
        grading.join(timeout=300)
        assert not grading.is_alive(), "grading did not finish after losing a worker"
    finally:
        _stop(*workers.values(), scheduler)
        for name, mark in marks.items():
            for pid in _ours(mark, scratch[name]):
                os.kill(pid, signal.SIGKILL)
        grading.join(timeout=60)
    assert not errors, errors
    # the submission the lost worker held was graded again on the other one
    assert {s: r.state for s, r in progress.rows.items()} == dict.fromkeys(
        ("s1", "s2", "s3"), "graded"
    )
    assert [_document(course, s)["score"] for s in ("s1", "s2", "s3")] == [7, 7, 7]


@pytest.mark.parametrize("resubmits", [RESUBMITS, 0], ids=["resubmitted", "not-resubmitted"])
def test_a_plan_the_cluster_forgets_is_scattered_again_and_the_class_completes(
    course: Path,
    tmp_path: Path,
    short_tmp: Path,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    resubmits: int,
) -> None:
    """The plan is scattered data: when its last copy goes (a worker dies holding it), Dask
    forgets every task waiting on it. Forgetting it on purpose mid-class shows that each such
    submission is submitted again with the plan scattered anew, not recorded as an error; and,
    with no resubmission left, that the error recorded says what happened."""
    from distributed import Client, Future

    monkeypatch.setattr(schedule, "RESUBMITS", resubmits)
    for student in ("s1", "s2"):
        submit(course, student, {"answer_double": slow_double(3)})
    scheduler, address = _dask_scheduler(tmp_path / "scheduler.log", tool_env())
    mark = f"grader-test-{uuid.uuid4().hex}"
    worker = _dask_worker(address, short_tmp / "scratch", mark, tmp_path / "worker.log")
    progress = Progress(total=0, live=False)
    errors: list[BaseException] = []
    grading = _grading_thread(course, address, progress, errors)
    try:
        with Client(address, timeout=60) as client:
            client.wait_for_workers(1, timeout=120)
            grading.start()
            assert _wait(lambda: _kernels(short_tmp / "scratch") >= 1, 180), "no kernel started"
            held = {key for keys in client.has_what().values() for key in keys}
            plans = [key for key in held if not str(key).startswith("grade-")]
            assert len(plans) == 1, held
            client.cancel([Future(plans[0], client)], force=True)  # forgets its dependents too
        grading.join(timeout=300)
        assert not grading.is_alive(), "grading did not finish after the plan was forgotten"
    finally:
        _stop(worker, scheduler)
        for pid in _ours(mark, short_tmp / "scratch"):
            os.kill(pid, signal.SIGKILL)
        grading.join(timeout=60)
    assert not errors, errors
    again = [r.getMessage() for r in caplog.records if "submitting it again" in r.getMessage()]
    if resubmits:
        assert {s: r.state for s, r in progress.rows.items()} == {"s1": "graded", "s2": "graded"}
        assert [_document(course, s)["score"] for s in ("s1", "s2")] == [7, 7]
        assert len(again) == 2, again
        return
    assert not again, again
    assert {s: r.state for s, r in progress.rows.items()} == {"s1": "error", "s2": "error"}
    for student in ("s1", "s2"):
        (reason,) = _document(course, student)["reasons"]
        assert "FutureCancelledError" in reason and "cancelled" in reason, reason
