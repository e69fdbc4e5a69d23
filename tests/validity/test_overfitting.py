"""The grading of Overfitting means something (the shared tests are in `suite.py`)."""

import tempfile
import uuid
from pathlib import Path

import nbformat

from grader import course
from tests.validity.suite import *  # noqa: F403
from tests.validity.suite import ROOT
from tests.validity.variants import nbgrader_meta

NOTEBOOK = "Overfitting"


def test_a_stuck_cell_costs_only_its_own_test(tmp_path: Path) -> None:
    """An answer cell that never finishes is interrupted; everything after it still grades.
    What the kernel left in its temporary folder is gone with the command (nbgrader ends its
    kernels at once, before they could clean up)."""
    assignment, name = "overfitting", "Overfitting"
    root = course.make_course_copy(ROOT, tmp_path / "course", [assignment])
    with (root / "nbgrader_config.py").open("a", encoding="utf-8") as config:
        # the stuck cell is interrupted after 3 s; every other cell keeps a budget that a
        # busy machine cannot exhaust (a global 45 s cut the 300-epoch training runs short)
        config.write(
            "\nc.Execute.timeout_func = "
            "lambda cell: 3 if cell.source.startswith('while True:') else 900\n"
        )
    course.release(root, [assignment])
    stuck = nbformat.read(ROOT / "source" / assignment / f"{name}.ipynb", as_version=4)
    left = f"left-by-the-kernel-{uuid.uuid4().hex}"
    for cell in stuck.cells:
        if nbgrader_meta(cell).get("grade_id") == "best-epoch":
            cell.source = "while True:\n    pass\n\n" + cell.source
        if nbgrader_meta(cell).get("grade_id") == "poly-fit":  # an answer: nbgrader keeps it
            cell.source += (
                f"\nimport tempfile\n\nopen(tempfile.gettempdir() + '/{left}', 'w').close()\n"
            )
    path = tmp_path / "stuck.ipynb"
    nbformat.write(stuck, path)
    course.submit(root, "stuck", assignment, {name: path})
    course.autograde(root, assignment)
    scores = {s.grade_id: (s.score, s.max_score) for s in course.scores(root, assignment, "stuck")}
    assert scores.pop("test-best-epoch")[0] == 0
    assert all(score == maximum for score, maximum in scores.values()), scores
    assert not (Path(tempfile.gettempdir()) / left).exists()
