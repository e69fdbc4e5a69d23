"""Adversarial submissions against this course's own notebook (IntroPyTorch, first exercises).

To stay cheap, the assignment ``slice`` is the source of ``frameworks/IntroPyTorch.ipynb`` cut
after its device exercise: the real test cells, ``grader.checks`` and evidence, a few seconds a
kernel. One grading run for all students, the reference's included, in kernels forked from the
session's zygote, as ``grader autograde`` grades by default (the cold path is the adversarial
and red-team suites' to attack as well).
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import nbformat
import pytest

from grader.engine.autograde import autograde, load_course
from grader.engine.kernel import Timeouts
from tests.support import ROOT
from tests.support.engine import generate, options, shared_once

# Kept together under --dist loadgroup; the module's grading run is built once per test run
# in any case (conftest.shared_once), whichever workers its tests land on.
pytestmark = pytest.mark.xdist_group("engine-course")

SOURCE = ROOT / "source" / "frameworks" / "IntroPyTorch.ipynb"
LAST_CELL = "test-pick-device"
WRONG_GRADIENT = "def loss_gradient(w, x, y):\n    return torch.zeros_like(w)\n"

STUDENTS: dict[str, dict[str, str]] = {
    "honest": {},
    "transformer": {
        "loss-gradient": "get_ipython().input_transformers_cleanup.append(lambda lines: [])\n"
        + WRONG_GRADIENT
    },
    "allclose": {
        "loss-gradient": "import numpy, torch\n"
        "torch.allclose = lambda *a, **k: True\nnumpy.allclose = lambda *a, **k: True\n"
        "torch.equal = lambda *a, **k: True\n" + WRONG_GRADIENT
    },
    "checks_patch": {
        "loss-gradient": "from grader import checks\n"
        "for name in dir(checks):\n"
        "    if name.startswith('check_'):\n"
        "        setattr(checks, name, lambda *a, **k: True)\n" + WRONG_GRADIENT
    },
    "fake_evidence": {
        "loss-gradient": "from IPython.display import display\n"
        "def loss_gradient(w, x, y):\n"
        "    fake = {'format': 1, 'check': 'loss-gradient', 'kind': 'gradient',"
        " 'values': {}, 'expect': {'rtol': 1e9}, 'passed_in_kernel': True}\n"
        "    display({'application/vnd.frameworks-grader.evidence+json': fake}, raw=True)\n"
        "    return torch.zeros_like(w)\n"
    },
    "always_equal": {
        "loss-gradient": "class Anything(torch.Tensor):\n"
        "    def __eq__(self, other):\n        return True\n"
        "def loss_gradient(w, x, y):\n    return torch.zeros_like(w).as_subclass(Anything)\n"
    },
    "profiler": {  # sees every call of the checks: their locals, the values they emit
        "loss-gradient": "import sys\n"
        "def watch(frame, event, arg):\n    return None\n"
        "sys.setprofile(watch)\n" + WRONG_GRADIENT
    },
    "snoop_then_exit": {
        "pick-device": "import os\n"
        "for path in ('COURSE/gradebook.db', 'COURSE/source/slice/IntroPyTorch.ipynb'):\n"
        "    try:\n        open(path).read(1)\n        print('LEAKED', path)\n"
        "    except OSError as error:\n        print('blocked', type(error).__name__)\n"
        "import sys, time\nsys.stdout.flush()\ntime.sleep(1)\nos._exit(0)\n"
    },
}


def _solved(source: str) -> str:
    return re.sub(r"\n?[ \t]*### (BEGIN|END) SOLUTION", "", source)


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """(course root, results.json documents by student)."""
    root = shared_once(tmp_path_factory, "course-slice", _grade_all) / "course"
    results = {
        p.parts[-3]: json.loads(p.read_text())
        for p in (root / "autograded").glob("*/slice/results.json")
    }
    return root, results


def _grade_all(folder: Path) -> None:
    root = folder / "course"
    (root / "source/slice").mkdir(parents=True)
    shutil.copy(ROOT / "nbgrader_config.py", root / "nbgrader_config.py")
    nb = nbformat.read(SOURCE, 4)
    ids = [c.metadata.get("nbgrader", {}).get("grade_id") for c in nb.cells]
    nb.cells = nb.cells[: ids.index(LAST_CELL) + 1]
    nbformat.write(nb, root / "source/slice/IntroPyTorch.ipynb")
    generate(root, "slice")
    released = nbformat.read(root / "release/slice/IntroPyTorch.ipynb", 4)
    solutions = {
        c.metadata["nbgrader"]["grade_id"]: _solved(c.source)
        for c in nb.cells
        if c.metadata.get("nbgrader", {}).get("solution")
    }
    for student, answers in STUDENTS.items():
        copy = nbformat.from_dict(json.loads(json.dumps(released)))
        for cell in copy.cells:
            grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
            if grade_id in answers:
                cell.source = answers[grade_id].replace("COURSE", str(root))
            elif grade_id in solutions:
                cell.source = solutions[grade_id]
        folder = root / "submitted" / student / "slice"
        folder.mkdir(parents=True)
        nbformat.write(copy, folder / "IntroPyTorch.ipynb")
    # as `grader autograde --serial` grades: kernels forked from the session's zygote
    progress = autograde(
        load_course(root), "slice", options(timeouts=Timeouts(cell=60, notebook=240))
    )
    states = {student: row.state for student, row in progress.rows.items()}
    assert states == dict.fromkeys(STUDENTS, "graded"), states


def _score(document: dict, test: str) -> float:
    return next(t["score"] for t in document["tests"] if t["name"].endswith("/" + test))


def test_reference_solution_gets_full_marks(graded) -> None:
    document = graded[1]["honest"]
    assert document["score"] == document["max_score"] > 0, document["tests"]
    assert document["flags"] == []


@pytest.mark.parametrize(
    "student",
    ["transformer", "allclose", "checks_patch", "fake_evidence", "always_equal", "profiler"],
)
def test_tricks_earn_no_gradient_points(graded, student: str) -> None:
    document = graded[1][student]
    assert _score(document, "test-loss-gradient") == 0, document["tests"]


@pytest.mark.parametrize("student", ["transformer", "allclose", "checks_patch", "profiler"])
def test_tricks_are_flagged(graded, student: str) -> None:
    assert graded[1][student]["flags"]


def test_a_profile_function_is_named_in_the_flags(graded) -> None:
    assert graded[1]["profiler"]["flags"] == [
        "IntroPyTorch: a function that sees every call is installed (sys.setprofile)"
    ]


def test_snooping_is_blocked_and_exit_keeps_earlier_points(graded) -> None:
    root, results = graded
    document = results["snoop_then_exit"]
    assert _score(document, "test-loss-gradient") == 2  # finished before the kernel died
    assert _score(document, "test-pick-device") == 0
    nb = nbformat.read(root / "autograded/snoop_then_exit/slice/IntroPyTorch.ipynb", 4)
    text = json.dumps([c.get("outputs", []) for c in nb.cells])
    assert "LEAKED" not in text
    assert text.count("blocked") == 2
