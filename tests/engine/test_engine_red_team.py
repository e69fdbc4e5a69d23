"""The red team: for each check, a wrong answer plus patches that fool the kernel side.

Each check of ``grader.checks`` has an exercise in the engine's fixture course: in the
``redteam`` assignment, or ``redteam-keras`` for the TensorFlow and Keras checks (apart, so that
the other attackers' cold kernels need not import TensorFlow). Every attacker answers one
exercise wrongly and, from the student's own cell,
replaces the library functions (NumPy, PyTorch, Python builtins, the checks' own helpers)
that the check's kernel side calls, so that the in-kernel assertion passes: plain nbgrader
would give the points. The engine must give that test exactly what the same wrong answer earns
without the patches (nothing), on both kernel paths: forked from the zygote and cold.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import nbformat
import pytest

from grader.engine.autograde import autograde_all, load_course, prepare
from grader.engine.kernel import Timeouts
from grader.engine.sandbox import SandboxPolicy
from grader.engine.task import GradingOptions
from tests.support.engine import generate, options, shared_once, submit, toy_labels

pytestmark = pytest.mark.xdist_group("engine-red-team")

#: Exercise (its test's grade id) -> a wrong answer for its answer cell.
WRONG = {
    "test_triple": ("answer_triple", "def triple(x):\n    return 3 * np.asarray(x) + 0.1\n"),
    "test_epoch": (
        "answer_epoch",
        "def lowest_epoch(losses):\n    return int(np.argmax(losses))\n",
    ),
    "test_grad": ("answer_grad", "def grad_cube_sum(x):\n    return np.asarray(x) ** 2\n"),
    "test_softsign": (
        "answer_softsign",
        "class SoftSign(torch.autograd.Function):\n    @staticmethod\n"
        "    def forward(ctx, x):\n        ctx.save_for_backward(x)\n"
        "        return x / (1 + x.abs())\n\n    @staticmethod\n    def backward(ctx, grad):\n"
        "        (x,) = ctx.saved_tensors\n        return grad / (1 + x.abs())\n",
    ),
    "test_tf": (
        "answer_tf",
        "@tf.custom_gradient\ndef tf_square(x):\n    def grad(upstream):\n"
        "        return upstream * x\n\n    return x * x, grad\n",
    ),
    "test_model": (
        "answer_model",
        "def centroid_model(train):\n    return lambda x: np.zeros(len(x), dtype=int)\n",
    ),
    "test_place": (
        "answer_place",
        "def place(device):\n    return torch.zeros(3, device='meta')\n",
    ),
    "test_pick": ("answer_pick", "def pick():\n    return torch.device('cpu')\n"),
    "test_follow": ("answer_follow", "def make_on(device):\n    return torch.nn.Linear(2, 2)\n"),
    "test_runs": (
        "answer_runs",
        "def two_runs():\n    train = np.exp(-np.arange(40.0) / 10)\n"
        "    longer = np.exp(-np.arange(48.0) / 10)\n"
        "    return (train, train + 0.5), (longer, longer + 0.5)\n",
    ),
    "test_mlp": (
        "answer_mlp",
        "def mlp():\n    torch.manual_seed(0)\n"
        "    return torch.nn.Sequential(torch.nn.Linear(4, 16), torch.nn.Linear(16, 3))\n",
    ),
    "test_net": (
        "answer_net",
        "def build_net(f, k):\n    keras.utils.set_random_seed(0)\n"
        "    return keras.Sequential([keras.Input((f,)), keras.layers.Dense(64),\n"
        "        keras.layers.Dense(32, activation='relu'),\n"
        "        keras.layers.Dense(k, activation='softmax')])\n",
    ),
}

SORTED_HIDES = """import builtins
_sorted = sorted
builtins.sorted = lambda items, *a, **k: [] if {hidden!r} in items else _sorted(items, *a, **k)
"""

PICK_LIES = """import grader.checks.devices as _devices
_read = []
_devices.{name} = lambda d: (_read.append(d), "cuda" if len(_read) <= 2 else "cpu")[1]
"""

#: Exercise -> patches, each put before the wrong answer by one attacker: every library
#: function the check's kernel side decides with, replaced so that the wrong answer passes
#: the in-kernel assertion.
ATTACKS: dict[str, list[str]] = {
    "test_triple": [
        "np.allclose = lambda *a, **k: True\n",
        "_real_allclose = np.allclose\n"  # only while comparing: nothing else changes
        "np.allclose = lambda a, b, **k: _real_allclose(a - 0.1, b, **k)\n",
    ],
    "test_epoch": [
        "np.argmin = np.argmax\n",  # the kernel's expected answers (checks.best_epoch) follow
    ],
    "test_grad": ["np.max = lambda *a, **k: 0.0\n"],
    "test_softsign": ["np.max = lambda *a, **k: 0.0\n"],
    "test_tf": ["np.max = lambda *a, **k: 0.0\n"],
    "test_model": ["np.mean = lambda *a, **k: 1.0\n"],
    "test_place": [SORTED_HIDES.format(hidden="meta")],
    "test_pick": [  # the first two readings (condition, message) say cuda, the next cpu
        PICK_LIES.format(name="_device_type"),
        PICK_LIES.format(name="device_type"),
    ],
    "test_follow": [SORTED_HIDES.format(hidden="cpu")],
    "test_runs": [
        "_mean = np.mean\n"  # the regularized run's tail (12 epochs of 48) averages to zero
        "np.mean = lambda a, *x, **k: 0.0 if np.size(a) == 12 else _mean(a, *x, **k)\n",
    ],
    "test_mlp": [
        "np.linalg.lstsq = lambda a, b, rcond=None: (np.zeros((a.shape[1], b.shape[1])),)\n",
    ],
    "test_net": ["np.allclose = lambda *a, **k: True\n"],
}

#: The red team's assignments; the exercises on TensorFlow or Keras are in the second.
ASSIGNMENTS = ("redteam", "redteam-keras")
KERAS_TESTS = {"test_tf", "test_net"}


def assignment_of(test: str) -> str:
    """The assignment that holds the exercise of ``test``."""
    return ASSIGNMENTS[1] if test in KERAS_TESTS else ASSIGNMENTS[0]


def exercises_of(assignment: str) -> list[str]:
    """The exercises (their tests' grade ids) of one red-team assignment."""
    return [test for test in WRONG if assignment_of(test) == assignment]


#: Assignment -> student -> answers (grade id -> source). The honest student and the one with
#: every answer wrong hand in both assignments; each attacker the one of its exercise.
STUDENTS: dict[str, dict[str, dict[str, str]]] = {
    assignment: {
        "a_good": {},
        "all_wrong": dict(WRONG[test] for test in exercises_of(assignment)),
    }
    for assignment in ASSIGNMENTS
}
for test, patches in ATTACKS.items():
    for number, patch in enumerate(patches):
        cell, source = WRONG[test]
        STUDENTS[assignment_of(test)][f"attack_{test[5:]}_{number}"] = {cell: patch + source}


def _prepare(folder: Path, template: Path) -> None:
    """The fixture course with the red-team assignments generated, their reference runs cached
    and every student's submissions written: what both kernel paths grade (each in a copy)."""
    root = folder / "course"
    shutil.copytree(template, root)
    for assignment in ASSIGNMENTS:
        generate(root, assignment)
        prepare(load_course(root), assignment, _options(warm=False), labels=toy_labels)
        for student, answers in STUDENTS[assignment].items():
            submit(root, student, answers, assignment=assignment)


def _options(warm: bool) -> GradingOptions:
    return options(
        timeouts=Timeouts(cell=60, notebook=300),
        policy=SandboxPolicy(user="grader-sandbox-red"),
        warm=warm,
    )


def _grade(folder: Path, prepared: Path, warm: bool) -> None:
    """Both red-team assignments graded in one session (one zygote, on the forked path)."""
    root = folder / "course"
    shutil.copytree(prepared, root)
    autograde_all(load_course(root), ASSIGNMENTS, _options(warm), labels=toy_labels)


@pytest.fixture(scope="module", params=["forked", "cold"])
def graded(request, tmp_path_factory: pytest.TempPathFactory, template_course: Path):
    """Every red-team student graded in one run per kernel path and assignment: (root,
    results by assignment and student)."""
    path = request.param
    prepared = shared_once(
        tmp_path_factory, "red-team-prepared", lambda f: _prepare(f, template_course)
    )
    folder = shared_once(
        tmp_path_factory,
        f"red-team-{path}",
        lambda f: _grade(f, prepared / "course", warm=path == "forked"),
    )
    root = folder / "course"
    results = {
        assignment: {
            p.parts[-3]: json.loads(p.read_text())
            for p in (root / "autograded").glob(f"*/{assignment}/results.json")
        }
        for assignment in ASSIGNMENTS
    }
    return root, results


def _scores(document: dict) -> dict[str, float]:
    return {t["name"].split("/")[1]: t["score"] for t in document["tests"]}


def _kernel_error(root: Path, student: str, test: str) -> bool:
    """Whether the test cell raised in the student's kernel (the in-kernel assertion)."""
    assignment = assignment_of(test)
    notebook = nbformat.read(
        root / "autograded" / student / assignment / f"{assignment}.ipynb", as_version=4
    )
    (cell,) = [c for c in notebook.cells if c.metadata.get("nbgrader", {}).get("grade_id") == test]
    return any(o.get("output_type") == "error" for o in cell.get("outputs", []))


def test_the_reference_answers_earn_every_point(graded) -> None:
    _, results = graded
    for assignment in ASSIGNMENTS:
        expected = {test: 1.0 for test in exercises_of(assignment)}
        assert _scores(results[assignment]["a_good"]) == expected, assignment


def test_each_wrong_answer_loses_its_test(graded) -> None:
    _, results = graded
    for assignment in ASSIGNMENTS:
        expected = {test: 0.0 for test in exercises_of(assignment)}
        assert _scores(results[assignment]["all_wrong"]) == expected, assignment


ATTACKERS = [
    (test, f"attack_{test[5:]}_{n}")
    for test, patches in ATTACKS.items()
    for n in range(len(patches))
]


@pytest.mark.parametrize(("test", "student"), ATTACKERS, ids=[s for _, s in ATTACKERS])
def test_patching_the_checks_kernel_side_earns_what_the_wrong_answer_earns(
    graded, test: str, student: str
) -> None:
    root, results = graded
    document = results[assignment_of(test)][student]
    assert document["gradable"], document["reasons"]
    # the attack works where plain nbgrader looks: no error in the kernel ...
    assert not _kernel_error(root, student, test), f"{student} did not fool the kernel"
    # ... and earns the engine exactly what the unpatched wrong answer earns
    wrong = results[assignment_of(test)]["all_wrong"]
    assert _scores(document)[test] == _scores(wrong)[test] == 0.0
