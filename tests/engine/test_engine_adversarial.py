"""Adversarial submissions of the demo course, graded together in one run per kernel path.

Both ways a kernel enters the sandbox are attacked: forked from the zygote (the default) and
cold (``grader autograde --cold``: each kernel started through the launcher). Each student
earns no point it did not earn honestly, and none of them stops the grading of the others (they
are graded one after another in the same run, and the honest students around them get full
marks).
"""

from __future__ import annotations

import json
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import nbformat
import pytest

from grader.engine.autograde import autograde, load_course
from grader.engine.gradebook import recorded_scores
from grader.engine.kernel import Timeouts
from grader.engine.sandbox import Limits, SandboxPolicy
from grader.engine.schedule import ClusterOptions
from tests.support.engine import options, shared_once, submit, toy_labels

# Kept together under --dist loadgroup; the module's grading run is built once per test run
# in any case (conftest.shared_once), whichever workers its tests land on.
pytestmark = pytest.mark.xdist_group("engine-adversarial")

FULL = 7.0
WRONG_DOUBLE = "def double(x):\n    return x\n"

#: Student code that reports whether each way out of the sandbox worked.
ATTEMPT = """
def attempt(label, action):
    try:
        action()
        print(label, "LEAKED")
    except Exception as error:
        print(label, "blocked", type(error).__name__, getattr(error, "errno", None))
"""

SNOOP = (
    """
import glob, os, socket
"""
    + ATTEMPT
    + """attempt("gradebook", lambda: open(COURSE + "/gradebook.db", "rb").read(10))
attempt("source", lambda: open(COURSE + "/source/demo/demo.ipynb").read(10))
attempt("other", lambda: open(COURSE + "/submitted/good/demo/demo.ipynb").read(10))
attempt("reference", lambda: os.listdir(COURSE + "/autograded/.reference")[0])
attempt("root", lambda: [n for n in os.listdir("/root") if n != ".pyenv"][0])
attempt("network", lambda: socket.create_connection(("1.1.1.1", 53), timeout=2))
attempt("loopback", lambda: socket.create_connection(("127.0.0.1", LOOPBACK_PORT), timeout=2))
print("processes", sorted(int(p) for p in os.listdir("/proc") if p.isdigit())[:3])
def double(x):
    return 2 * x
"""
)

#: The "model" is the hidden labels themselves, asked of grader.data inside the kernel.
HIDDEN_LABELS = """
from grader import data
def iris_model(train):
    truth = data.hidden_split("iris").y
    return lambda x: truth
"""

#: Every other way to the iris labels inside the kernel; the model looks them up in sklearn.
LOOKUP = (
    """
import os, sys, sysconfig
import scipy, sklearn
from grader import data
"""
    + ATTEMPT
    + """def unsealed():
    saved = os.environ.pop("GRADER_SEALED_DATA")
    try:
        return data.hidden_split("iris").y
    finally:
        os.environ["GRADER_SEALED_DATA"] = saved
base = sysconfig.get_paths(vars={"base": sys.base_prefix, "platbase": sys.base_prefix})["purelib"]
arff = "/io/arff/tests/data/iris.arff"
sealed = os.environ["GRADER_SEALED_DATA"]
attempt("load_iris", lambda: __import__("sklearn.datasets").datasets.load_iris())
attempt("csv", lambda: open(os.path.dirname(sklearn.__file__) + "/datasets/data/iris.csv").read(9))
attempt("arff", lambda: open(os.path.dirname(scipy.__file__) + arff).read(9))
attempt("base-arff", lambda: open(base + "/scipy" + arff).read(9))
attempt("debian", lambda: os.listdir("/usr/share/datasets")[0])
attempt("sources", lambda: data._SOURCES["iris"].load())
attempt("unsealed", unsealed)
attempt("sealed-write", lambda: open(sealed + "/iris.npz", "ab").write(b"0"))
from sklearn.datasets import make_classification
print("sklearn.datasets still imports")
def iris_model(train):
    from sklearn.datasets import load_iris
    bunch = load_iris()
    def predict(x):
        return np.array([bunch.target[np.abs(bunch.data - r).sum(axis=1).argmin()] for r in x])
    return predict
"""
)

ALWAYS_EQUAL = """
class Anything:
    def __eq__(self, other):
        return True
    def __array__(self, dtype=None, copy=None):
        raise TypeError("not an array")
def double(x):
    return Anything()
"""

#: A file of the submission named as the kernel's own start module: had the kernel started from
#: the working folder, this would run before any probe, then start the real kernel.
HIJACK_LAUNCHER = """import builtins, os, runpy, sys
builtins.HIJACKED = True
sys.path[:] = [p for p in sys.path if p not in ("", os.getcwd())]
sys.modules.pop("ipykernel_launcher", None)
runpy.run_module("ipykernel_launcher", run_name="__main__")
"""

#: Files besides the notebook, by student.
EXTRA_FILES = {"hijack": {"ipykernel_launcher.py": HIJACK_LAUNCHER}}

STUDENTS = {
    "a_good": {},
    "blank": None,  # the released notebook, untouched
    "wrong_hidden": {
        "answer_double": "def double(x):\n    if np.ndim(x) == 0:\n        return 2 * x\n"
        "    return 2 * x + 0.5\n"
    },
    "fake_evidence": {
        "answer_double": "from IPython.display import display\n"
        "def double(x):\n"
        "    fake = {'format': 1, 'check': 'double', 'kind': 'values', 'values': {'y': [0.0]},"
        " 'expect': {'rtol': 1e9}, 'passed_in_kernel': True}\n"
        "    display({'application/vnd.frameworks-grader.evidence+json': fake}, raw=True)\n"
        "    return x\n"
    },
    "transformer": {
        "answer_double": "get_ipython().input_transformers_cleanup.append(lambda lines: [])\n"
        + WRONG_DOUBLE,
        "answer_labels": "raise NotImplementedError()",
        "answer_devices": "raise NotImplementedError()",
    },
    "custom_exc": {
        "answer_double": "get_ipython().set_custom_exc((Exception,), lambda *a, **k: None)\n"
        + WRONG_DOUBLE
    },
    "allclose": {"answer_double": "np.allclose = lambda *a, **k: True\n" + WRONG_DOUBLE},
    "checks_patch": {
        "answer_double": "import grader.evidence as ev\n"
        "ev.to_payload = lambda e: {'format': 1, 'check': e.check, 'kind': e.kind,"
        " 'values': {}, 'expect': {}}\n" + WRONG_DOUBLE
    },
    "checks_class": {  # the same forgery by a class of the notebook's own
        "answer_double": "import grader.evidence as ev\n"
        "class Payload(dict):\n    def __init__(self, e):\n"
        "        super().__init__(format=1, check=e.check, kind=e.kind, values={}, expect={})\n"
        "ev.to_payload = Payload\n" + WRONG_DOUBLE
    },
    "always_equal": {"answer_double": ALWAYS_EQUAL},
    "hijack": {
        "answer_double": "import builtins\n"
        "print('launcher ran:', getattr(builtins, 'HIJACKED', False))\n" + WRONG_DOUBLE
    },
    "exit_mid": {"answer_devices": "def devices():\n    import os\n    os._exit(3)\n"},
    "sys_exit": {
        "answer_labels": "def labels(x):\n    return np.asarray(x, dtype=int) % 3\n"
        "import sys\nsys.exit(1)\n"
    },
    "snoop": {"answer_double": SNOOP},
    "hidden_labels": {"answer_iris": HIDDEN_LABELS},
    "lookup": {"answer_iris": LOOKUP},
    "forkbomb": {
        "answer_labels": "import os\n"
        "try:\n    while True:\n        os.fork()\nexcept OSError:\n    pass\n"
        "def labels(x):\n    return np.asarray(x, dtype=int) % 3\n"
    },
    "membomb": {
        "answer_labels": "def bomb():\n    hoard = []\n    while True:\n"
        "        hoard.append(bytearray(2**26))\n"
        "try:\n    bomb()\nexcept MemoryError:\n    print('memory limit hit')\n"
        "def labels(x):\n    return np.asarray(x, dtype=int) % 3\n"
    },
    # the two who hold their kernel for a whole cell budget are named to be graded early
    # (students are graded in name order): the others are graded beside them, not after them
    "busy_loop": {"answer_devices": "while True:\n    pass\n"},
    "busy_stubborn": {
        "answer_devices": "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\n"
        "while True:\n    pass\n"
    },
    "z_good": {},
}


def _saved_outputs(course: Path) -> None:
    """A wrong submission whose saved notebook carries the reference's evidence as outputs."""
    reference = json.loads((course / "autograded/.reference/demo/demo.json").read_text())
    payload = reference["cells"]["test_double"]["payloads"][0]

    def edit(nb: nbformat.NotebookNode) -> None:
        for cell in nb.cells:
            if cell.metadata.get("nbgrader", {}).get("grade_id") == "test_double":
                cell.outputs = [
                    nbformat.v4.new_output(
                        "display_data",
                        data={"application/vnd.frameworks-grader.evidence+json": payload},
                    )
                ]

    submit(course, "saved_outputs", {"answer_double": WRONG_DOUBLE}, edit)


@contextmanager
def loopback_server() -> Iterator[tuple[int, list[tuple[str, int]]]]:
    """A TCP server on this machine's loopback, outside any sandbox: (port, who connected).

    A kernel without a network namespace of its own reaches it; the sandbox's kernel must not.
    """
    with socket.create_server(("127.0.0.1", 0)) as server:
        server.settimeout(0.2)
        accepted: list[tuple[str, int]] = []
        stop = threading.Event()

        def serve() -> None:
            while not stop.is_set():
                try:
                    connection, address = server.accept()
                except TimeoutError:
                    continue
                with connection:
                    accepted.append(address)

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        try:
            yield server.getsockname()[1], accepted
        finally:
            stop.set()
            thread.join()


def _reached(accepted: list, count: int) -> bool:
    deadline = time.monotonic() + 5
    while len(accepted) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    return len(accepted) >= count


def _grade_all(folder: Path, template: Path, warm: bool) -> None:
    with loopback_server() as (port, accepted):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()  # reachable from here
        control = _reached(accepted, 1)
        _grade_students(folder, template, port, warm)
        reached = {"control": control, "from_kernels": len(accepted) - 1}
    (folder / "loopback.json").write_text(json.dumps(reached))


def _grade_students(folder: Path, template: Path, port: int, warm: bool) -> None:
    root = folder / "course"
    shutil.copytree(template, root)
    for student, answers in STUDENTS.items():
        if answers is None:
            target = root / "submitted" / student / "demo"
            target.mkdir(parents=True)
            shutil.copy(root / "release/demo/demo.ipynb", target / "demo.ipynb")
        else:
            answers = {
                k: v.replace("COURSE", repr(str(root))).replace("LOOPBACK_PORT", str(port))
                for k, v in answers.items()
            }
            submit(root, student, answers)
        for name, text in EXTRA_FILES.get(student, {}).items():
            (root / "submitted" / student / "demo" / name).write_text(text)
    _saved_outputs(root)
    policy = SandboxPolicy(
        user="grader-sandbox-adv",  # its own process budget, apart from other test modules
        limits=Limits(memory_bytes=2 * 2**30, processes=160),
    )
    # 15 s a cell: a memory bomb must reach its limit even on a loaded machine
    opts = options(timeouts=Timeouts(cell=15, notebook=90), policy=policy, warm=warm)
    # In parallel, as `grader autograde` grades by default: two Dask worker processes.
    autograde(load_course(root), "demo", opts, cluster=ClusterOptions(workers=2), labels=toy_labels)


@pytest.fixture(scope="module", params=["forked", "cold"])
def graded(request, tmp_path_factory: pytest.TempPathFactory, template_course: Path):
    """All adversarial students graded in one run per kernel path (kernels forked from the
    zygote, and cold kernels each started through the launcher): (root, results by student)."""
    warm = request.param == "forked"
    folder = shared_once(
        tmp_path_factory,
        f"adversarial-{request.param}",
        lambda f: _grade_all(f, template_course, warm),
    )
    root = folder / "course"
    results = {
        p.parts[-3]: json.loads(p.read_text())
        for p in (root / "autograded").glob("*/demo/results.json")
    }
    results["loopback"] = json.loads((folder / "loopback.json").read_text())
    return root, results


def _scores(results: dict) -> dict[str, float]:
    return {t["name"].split("/")[1]: t["score"] for t in results["tests"]}


def _outputs(root: Path, student: str) -> str:
    nb = nbformat.read(root / "autograded" / student / "demo" / "demo.ipynb", 4)
    return json.dumps([c.get("outputs", []) for c in nb.cells])


def test_honest_students_around_the_attacks_get_full_marks(graded) -> None:
    _, results = graded
    assert results["a_good"]["score"] == FULL
    assert results["z_good"]["score"] == FULL  # graded after every attack
    assert results["a_good"]["flags"] == [] and results["a_good"]["gradable"] is True


def test_blank_submission_earns_nothing(graded) -> None:
    _, results = graded
    assert results["blank"]["score"] == 0


def test_values_are_judged_at_hidden_points(graded) -> None:
    scores = _scores(graded[1]["wrong_hidden"])
    assert scores["test_double"] == 0  # right at the public points, wrong at the hidden ones
    assert scores["test_plain"] == 1 and scores["test_warning"] == 1


@pytest.mark.parametrize("student", ["fake_evidence", "saved_outputs"])
def test_fake_evidence_earns_nothing(graded, student: str) -> None:
    scores = _scores(graded[1][student])
    assert scores["test_double"] == 0 and scores["test_plain"] == 0


@pytest.mark.parametrize(
    ("student", "finding"),
    [
        ("transformer", "input transformer installed"),
        ("custom_exc", "custom exception handler"),
        ("allclose", "numpy.allclose replaced"),
        ("checks_patch", "grader.evidence.to_payload replaced"),
        ("checks_class", "grader.evidence.to_payload replaced by class Payload of module __main__"),
        ("always_equal", "compare equal to anything"),
    ],
)
def test_tampering_earns_nothing_and_is_flagged(graded, student: str, finding: str) -> None:
    root, results = graded
    document = results[student]
    assert document["score"] == 0, document["tests"]
    assert any(finding in flag for flag in document["flags"]), document["flags"]
    scores = recorded_scores(load_course(root).db_url, "demo", student)["demo"]
    assert all(score == 0 for score in scores.values())


def test_a_submitted_file_does_not_replace_the_kernel(graded) -> None:
    """A submitted ``ipykernel_launcher.py`` stays a file: the kernel starts from the installed
    packages, so no student code runs before the probe's baseline (which the probe would take
    for the clean state)."""
    root, results = graded
    assert "launcher ran: False" in _outputs(root, "hijack")
    assert _scores(results["hijack"])["test_double"] == 0


def test_dead_kernel_keeps_finished_tests(graded) -> None:
    document = graded[1]["exit_mid"]
    scores = _scores(document)
    assert document["score"] == FULL - 1
    assert scores["test_device"] == 0
    device = next(t for t in document["tests"] if t["name"] == "demo/test_device")
    assert "exited with status 3" in device["output"]
    assert "test_device" in device["output"]


def test_sys_exit_does_not_stop_grading(graded) -> None:
    assert graded[1]["sys_exit"]["score"] == FULL


def test_student_code_cannot_read_course_or_network(graded) -> None:
    root, results = graded
    text = _outputs(root, "snoop")
    assert "LEAKED" not in text
    for label in ("gradebook", "source", "other", "reference", "root", "network", "loopback"):
        assert f"{label} blocked" in text
    assert results["snoop"]["score"] == FULL
    # A refused port proves nothing: a server on this machine's loopback, reachable from the
    # test itself, must not be reachable from the kernel (it has no network of its own).
    assert results["loopback"] == {"control": True, "from_kernels": 0}


def test_reference_ran_with_sealed_data(graded) -> None:
    root, _ = graded
    reference = json.loads((root / "autograded/.reference/demo/demo.json").read_text())
    (payload,) = reference["cells"]["test_iris"]["payloads"]
    assert payload["kind"] == "predictions" and payload["expect"] == {"threshold": 0.8}
    assert payload["passed_in_kernel"] is None  # the kernel had no labels to judge with


def test_hidden_labels_are_not_in_the_kernel(graded) -> None:
    root, results = graded
    document = results["hidden_labels"]
    assert _scores(document)["test_iris"] == 0
    assert document["score"] == FULL - 1  # the rest of the notebook grades normally
    assert "hidden labels are not available inside a graded kernel" in _outputs(
        root, "hidden_labels"
    )


def test_bundled_dataset_files_are_masked(graded) -> None:
    root, results = graded
    text = _outputs(root, "lookup")
    assert "LEAKED" not in text
    for label in ("load_iris", "csv", "arff", "base-arff", "debian", "sources", "unsealed"):
        assert f"{label} blocked" in text, label
    assert "sealed-write blocked" in text
    assert "sklearn.datasets still imports" in text
    document = results["lookup"]
    assert _scores(document)["test_iris"] == 0
    assert document["score"] == FULL - 1


def test_fork_bomb_is_contained(graded) -> None:
    document = graded[1]["forkbomb"]
    assert document["gradable"] is True
    assert _scores(document)["test_double"] == 2  # the kernel kept working


def test_memory_bomb_is_contained(graded) -> None:
    root, results = graded
    assert "memory limit hit" in _outputs(root, "membomb")
    assert results["membomb"]["score"] == FULL


def test_infinite_loop_times_out_and_grading_goes_on(graded) -> None:
    document = graded[1]["busy_loop"]
    assert document["score"] == FULL - 1  # only the device test depends on the looping cell
    assert any("timed out after 15 s in cell answer_devices" in r for r in document["reasons"])


def test_kernel_that_ignores_interrupts_is_killed(graded) -> None:
    document = graded[1]["busy_stubborn"]
    assert document["score"] == 0
    assert any("did not stop when interrupted" in t["output"] for t in document["tests"])
