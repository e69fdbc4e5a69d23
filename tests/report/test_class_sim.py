"""The simulated class: reproducible, and each student hands in what their profile says.

Nothing is graded here: the checks are on the files (structure, the unreadable file, the
cheat, the crash, timestamps) and on the quiz attempts stored through the quiz service.
"""

from __future__ import annotations

import json
import shutil
from datetime import datetime
from pathlib import Path

import nbformat
import pytest

from grader.demo.class_sim import (
    DEFAULT_DUE,
    ROSTER,
    TIMESTAMP_FORMAT,
    SimulationError,
    Submission,
    hand_in,
    simulate_class,
    simulate_quizzes,
    solutions_of,
    write_submissions,
)
from grader.quiz.bank import load_bank
from grader.quiz.store import Store
from tests.support import ROOT

MUTANTS = ROOT / "tests" / "mutants"
ALTERNATIVES = ROOT / "tests" / "alternatives"
PROFILE = {s.id: s.profile for s in ROSTER}


@pytest.fixture(scope="module")
def submissions() -> list[Submission]:
    return simulate_class(ROOT, MUTANTS, ALTERNATIVES, seed=0)


def final(submissions: list[Submission], student: str, assignment: str) -> Submission:
    return [s for s in submissions if (s.student, s.assignment) == (student, assignment)][-1]


def answers(content: bytes) -> dict[str, str]:
    nb = nbformat.reads(content.decode(), as_version=4)
    return {
        c.metadata["nbgrader"]["grade_id"]: c.source
        for c in nb.cells
        if c.metadata.get("nbgrader", {}).get("solution") and c.cell_type == "code"
    }


def reference(assignment: str, name: str) -> dict[str, str]:
    return solutions_of(nbformat.read(ROOT / "source" / assignment / f"{name}.ipynb", 4))


def test_same_seed_same_class_other_seed_other_class(submissions):
    again = simulate_class(ROOT, MUTANTS, ALTERNATIVES, seed=0)
    assert again == submissions
    other = simulate_class(ROOT, MUTANTS, ALTERNATIVES, seed=1)
    assert [s.files for s in other] != [s.files for s in submissions]


def test_a_dozen_students_with_every_profile(submissions):
    assert len(ROSTER) == 12 and len({s.id for s in ROSTER}) == 12
    assert set(PROFILE.values()) == {
        "strong", "average", "weak", "late", "unreadable", "cheat", "crash", "misfiled",
    }  # fmt: skip
    per = {(s.student, s.assignment) for s in submissions}
    assert len(per) == 12 * 3 - 1  # the misfiled student hands in nothing for the lab
    assert ("s12", "lab") not in per


def test_strong_is_reference_or_alternatives_average_has_mutants(submissions):
    s01 = final(submissions, "s01", "frameworks").files["IntroPyTorch.ipynb"]
    assert answers(s01) == reference("frameworks", "IntroPyTorch")
    s02 = answers(final(submissions, "s02", "frameworks").files["IntroPyTorch.ipynb"])
    assert s02 != reference("frameworks", "IntroPyTorch")  # alternatives, written otherwise
    avg = final(submissions, "s04", "overfitting")
    changed = {
        cell
        for cell, source in answers(avg.files["Overfitting.ipynb"]).items()
        if source != reference("overfitting", "Overfitting")[cell]
    }
    assert 1 <= len(changed) <= 2
    assert {n.split("/")[1].split(":")[0] for n in avg.notes} == changed


def test_weak_leaves_an_exercise_unanswered(submissions):
    weak = answers(final(submissions, "s06", "lab").files["LabFrameworks.ipynb"])
    assert sum("raise NotImplementedError" in s for s in weak.values()) == 1


def test_the_unreadable_file_is_unreadable(submissions):
    for assignment in ("frameworks", "overfitting", "lab"):
        files = final(submissions, "s09", assignment).files
        broken = sorted(files)[0]
        with pytest.raises(json.JSONDecodeError):
            json.loads(files[broken])
        for name in sorted(files)[1:]:
            nbformat.validate(nbformat.reads(files[name].decode(), as_version=4))


def test_the_cheat_and_the_crash_are_there(submissions):
    cheat = answers(final(submissions, "s10", "frameworks").files["IntroPyTorch.ipynb"])
    first = next(iter(cheat.values()))
    assert "input_transformers_post.append" in first
    assert "torch.allclose = lambda *a, **k: True" in first
    keras = answers(final(submissions, "s10", "frameworks").files["IntroKeras.ipynb"])
    assert "input_transformers_post.append" in next(iter(keras.values()))
    assert "torch.allclose" not in next(iter(keras.values()))  # only where PyTorch is used
    for assignment in ("frameworks", "overfitting", "lab"):
        for content in final(submissions, "s11", assignment).files.values():
            crashing = [s for s in answers(content).values() if "signal.SIGKILL" in s]
            assert len(crashing) == 1


def test_only_the_late_student_is_late(submissions):
    for sub in submissions:
        assert (sub.timestamp > DEFAULT_DUE) is (PROFILE[sub.student] == "late"), sub.student


def test_twice_and_misfiled(submissions):
    twice = [s for s in submissions if (s.student, s.assignment) == ("s05", "lab")]
    assert len(twice) == 2 and twice[0].timestamp < twice[1].timestamp
    assert "raise NotImplementedError" in "".join(
        answers(twice[0].files["LabFrameworks.ipynb"]).values()
    )
    assert "IntroKeras (final).ipynb" in final(submissions, "s12", "frameworks").files
    assert list(final(submissions, "s12", "overfitting").files) == ["IntroKeras.ipynb"]


def test_written_like_nbgrader_submitted(submissions, tmp_path: Path):
    written = write_submissions(submissions, tmp_path)
    assert len(set(written)) == 35
    stamp = (tmp_path / "s08" / "lab" / "timestamp.txt").read_text()
    assert datetime.strptime(stamp, TIMESTAMP_FORMAT).replace(tzinfo=DEFAULT_DUE.tzinfo) > (
        DEFAULT_DUE
    )
    lab = (tmp_path / "s05" / "lab" / "LabFrameworks.ipynb").read_bytes()
    assert lab == final(submissions, "s05", "lab").files["LabFrameworks.ipynb"]  # the second
    assert sorted(p.name for p in (tmp_path / "s12" / "frameworks").iterdir()) == [
        "IntroKeras (final).ipynb", "IntroKerasTF.ipynb", "IntroPyTorch.ipynb", "timestamp.txt",
    ]  # fmt: skip


def test_hand_in_replaces_the_released_notebooks_and_keeps_the_rest(submissions, tmp_path):
    fetched = tmp_path / "frameworks"
    fetched.mkdir()
    for name in ("IntroKeras.ipynb", "IntroKerasTF.ipynb", "IntroPyTorch.ipynb", "data.npz"):
        (fetched / name).write_bytes(b"released")
    hand_in(final(submissions, "s12", "frameworks"), fetched)
    assert sorted(p.name for p in fetched.iterdir()) == [
        "IntroKeras (final).ipynb", "IntroKerasTF.ipynb", "IntroPyTorch.ipynb", "data.npz",
    ]  # fmt: skip
    assert (fetched / "data.npz").read_bytes() == b"released"
    with pytest.raises(SimulationError, match="not a fetched assignment folder"):
        hand_in(final(submissions, "s12", "frameworks"), tmp_path / "missing")


def test_quiz_attempts_through_the_quiz_service(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'quiz.db'}"
    bank = load_bank(ROOT / "quizzes")
    assert simulate_quizzes(url, bank) == 12 + 11  # the misfiled student skips the post quiz
    assert simulate_quizzes(url, bank) == 0  # nothing twice
    with Store.open(url) as store:
        pre, post = store.attempts("frameworks-pre"), store.attempts("frameworks-post")
    mean = lambda rows: sum(a.score / a.max_score for a in rows) / len(rows)  # noqa: E731
    assert mean(post) > mean(pre) + 0.15
    assert {a.student for a in pre if a.lang == "he"} == {"s02", "s04", "s07", "s11"}


def test_a_course_without_release_or_with_a_stale_mutant_is_refused(tmp_path: Path):
    with pytest.raises(SimulationError, match="grader release lab"):
        simulate_class(tmp_path, MUTANTS, assignments=("lab",))
    mutants = tmp_path / "mutants"
    mutants.mkdir()
    shutil.copy(MUTANTS / "LabFrameworks.yaml", mutants)
    text = (mutants / "LabFrameworks.yaml").read_text()
    (mutants / "LabFrameworks.yaml").write_text(
        text + '- test: t\n  cell: normalizer\n  why: stale\n  replace: ["no such code", "x"]\n'
    )
    with pytest.raises(SimulationError, match="'stale' does not apply to normalizer"):
        simulate_class(ROOT, mutants, assignments=("lab",))
