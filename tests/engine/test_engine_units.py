"""Unit tests of the engine's pure parts: validation, sanitizing, judging, tamper findings."""

from __future__ import annotations

import functools
import importlib.util
import io
import json
import os
import pickle
import re
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path

import nbformat
import numpy as np
import pytest

from grader import data, measures
from grader.checks.structure import nonlinear_probes
from grader.engine import judge, tamper
from grader.engine.kernel import describe_exit
from grader.engine.results import NotebookSummary, SubmissionResults, TestResult
from grader.engine.sandbox import (
    SandboxError,
    dataset_mask_paths,
    end_processes_of,
    ensure_user,
    processes_of,
)
from grader.engine.sealed import SEALED_DATASETS, sealed_files, write_sealed
from grader.engine.submission import (
    MasterCell,
    MasterNotebook,
    NotGradable,
    parse_notebook,
    sanitize,
    split_hidden,
)
from grader.evidence import MIME_TYPE, Evidence, evidence_in_outputs, to_payload


def _nb_bytes(cells: list[dict], nbformat_version: int = 4) -> bytes:
    return json.dumps(
        {"nbformat": nbformat_version, "nbformat_minor": 5, "metadata": {}, "cells": cells}
    ).encode()


def _code(source: str, cell_id: str = "a", **nbgrader: object) -> dict:
    metadata = {"nbgrader": nbgrader} if nbgrader else {}
    return {
        "cell_type": "code",
        "id": cell_id,
        "source": source,
        "metadata": metadata,
        "outputs": [],
        "execution_count": None,
    }


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"{not json", "not valid JSON"),
        (b"\xff\xfe{}", "not UTF-8"),
        (_nb_bytes([], nbformat_version=3), "nbformat 3"),
        (b'{"cells": []}', "not a Jupyter notebook"),
        (_nb_bytes([_code("1", "x"), _code("2", "x")]), "two cells with the id 'x'"),
        (_nb_bytes([{"cell_type": "bogus", "source": ""}]), "not a valid notebook cell"),
    ],
)
def test_invalid_notebooks_are_not_gradable_with_a_reason(raw: bytes, reason: str) -> None:
    with pytest.raises(NotGradable) as caught:
        parse_notebook(raw)
    assert reason in str(caught.value)
    assert caught.value.message.text("en") == str(caught.value)
    hebrew = caught.value.message.text("he")  # what a Hebrew student reads
    assert hebrew.startswith("\u2067") and re.search("[\u0590-\u05ff]", hebrew), hebrew


def _standard_pickle(error: Exception) -> bytes:
    """``error`` pickled by its own ``__reduce__``, as any process pool does (Dask's
    serialization replaces it for every exception class once ``distributed`` is imported)."""
    buffer = io.BytesIO()
    pickler = pickle.Pickler(buffer)
    pickler.dispatch_table = {}
    pickler.dump(error)
    return buffer.getvalue()


@pytest.mark.parametrize("dumps", [pickle.dumps, _standard_pickle], ids=["dask", "standard"])
def test_the_engines_errors_cross_processes_with_their_message(dumps) -> None:
    """An error raised in a grading worker is pickled to reach the caller: it must arrive
    whole, still wordable in the student's language (not only its English sentence)."""
    from grader.engine.kernel import NoAnswer

    for error in (
        NotGradable("too-large", size=30, limit=20),
        tamper.ProbeError("probe-not-run", reason="NameError"),
        NoAnswer("silent-at-start", seconds=60),
    ):
        arrived = pickle.loads(dumps(error))
        assert type(arrived) is type(error)
        assert arrived.message == error.message
        assert str(arrived) == str(error) and "{" not in str(error)
        assert arrived.message.text("he") != str(error)


def test_oversized_notebook_is_not_gradable(tmp_path) -> None:
    from grader.engine.submission import read_notebook

    path = tmp_path / "big.ipynb"
    path.write_bytes(_nb_bytes([_code("x = 1")]))
    with pytest.raises(NotGradable, match="over the limit"):
        read_notebook(path, max_bytes=10)


MASTER = MasterNotebook(
    "nb",
    (
        MasterCell("answer", "code", "# YOUR CODE HERE", "c1", locked=False, solution=True),
        MasterCell(
            "test1",
            "code",
            "assert f(1) == 1\n### BEGIN HIDDEN TESTS\nassert f(2) == 2\n### END HIDDEN TESTS",
            "c2",
            locked=True,
            grade=True,
            points=2.0,
        ),
        MasterCell("test2", "code", "assert f(3) == 3", "c3", locked=True, grade=True, points=1),
    ),
)


def test_sanitize_restores_tests_flags_and_clears_outputs() -> None:
    fake = {"output_type": "display_data", "data": {MIME_TYPE: {}}, "metadata": {}}
    cells = [
        _code("def f(x): return x", "a", grade_id="answer", solution=True),
        {**_code("pass", "b", grade_id="test1", grade=False, solution=True), "outputs": [fake]},
    ]
    sanitized = sanitize(parse_notebook(_nb_bytes(cells)), MASTER)
    nb = sanitized.notebook
    by_id = {c.metadata["nbgrader"]["grade_id"]: c for c in nb.cells}
    assert by_id["test1"].source == MASTER.cells[1].source  # edited test restored
    assert by_id["test1"].metadata["nbgrader"]["grade"] is True  # flags from the master
    assert by_id["test1"].metadata["nbgrader"]["points"] == 2.0
    assert by_id["test1"].outputs == []  # saved outputs never count
    assert [c.metadata["nbgrader"]["grade_id"] for c in nb.cells] == ["answer", "test1", "test2"]
    assert any("test2 was deleted" in note for note in sanitized.notes)
    assert any("test1 was modified" in note for note in sanitized.notes)


def test_sanitize_does_not_report_the_released_copy_of_a_hidden_test() -> None:
    public, hidden = split_hidden(MASTER.cells[1].source)
    assert hidden == ["assert f(2) == 2"] and "f(2)" not in public
    cells = [_code(public, "b", grade_id="test1", grade=True, points=2.0)]
    sanitized = sanitize(parse_notebook(_nb_bytes(cells)), MASTER)
    assert not any("test1" in note for note in sanitized.notes)


def _ev(values: dict, kind: str = "values", check: str = "c", **expect: object) -> Evidence:
    return Evidence(check, kind, values, expect)


def test_values_judged_with_reference_tolerances_and_shapes() -> None:
    ref = _ev({"g": np.array([1.0, 2.0]), "n": 3, "s": "ok", "flag": True}, rtol=1e-3)
    good = _ev({"g": np.array([1.0005, 2.0]), "n": 3, "s": "ok", "flag": True})
    assert judge.judge_values(good, ref) == []
    assert judge.judge_values(_ev({**good.values, "g": np.array([1.1, 2.0])}), ref)
    assert judge.judge_values(_ev({**good.values, "g": np.array([[1.0, 2.0]])}), ref)
    assert judge.judge_values(_ev({**good.values, "n": True}), ref)  # a bool is not an int
    assert judge.judge_values(_ev({**good.values, "s": "no"}), ref)
    missing = judge.judge_values(_ev({"n": 3, "s": "ok", "flag": True}), ref)
    assert missing == ["g is missing"]


def test_student_expect_is_ignored() -> None:
    ref = _ev({"g": 1.0})
    cheeky = _ev({"g": 5.0}, rtol=1e9, atol=1e9)
    assert judge.judge_values(cheeky, ref)


def test_predictions_use_trusted_labels_and_reference_threshold() -> None:
    labels = {"toy": np.array([0, 1, 2, 0])}.__getitem__
    ref = _ev(
        {"dataset": "toy", "predictions": np.array([0, 1, 2, 0])}, "predictions", threshold=0.75
    )
    assert judge.judge_predictions(_ev({"predictions": np.array([0, 1, 2, 1])}), ref, labels) == []
    low = judge.judge_predictions(_ev({"predictions": np.array([1, 1, 2, 1])}), ref, labels)
    assert low and "accuracy 0.500" in low[0]
    # the student cannot pick the dataset: the reference names it
    other = _ev({"dataset": "easy", "predictions": np.array([0, 0, 0, 0])}, threshold=0.0)
    assert judge.judge_predictions(other, ref, labels)
    assert judge.judge_predictions(_ev({"predictions": np.array([0.0, 1.0])}), ref, labels)


def test_the_judge_words_its_verdicts_in_the_notebooks_language() -> None:
    """What only the engine decides reaches a Hebrew student in Hebrew, values isolated; an
    English notebook (the default) keeps English; a cell that never ran says so in both."""
    labels = {"toy": np.array([0, 1, 2, 0])}.__getitem__
    ref = _ev({"dataset": "toy", "predictions": labels("toy")}, "predictions", threshold=0.75)
    student = [_ev({"dataset": "toy", "predictions": np.array([1, 1, 2, 1])}, "predictions")]
    english = judge.match_evidence(student, [ref], labels, "cpu")
    hebrew = judge.match_evidence(student, [ref], labels, "cpu", language="he")
    assert english == ["c: accuracy 0.500 on the hidden examples of toy, below the required 0.750"]
    assert hebrew == [
        "\u2067\u2068c\u2069: \u2067הדיוק על הקבוצה החבויה של \u2068toy\u2069 הוא "
        "\u20680.500\u2069; נדרש לפחות \u20680.750\u2069\u2069\u2069"
    ]
    cell = nbformat.v4.new_code_cell(
        "pass", metadata={"nbgrader": {"grade": True, "grade_id": "t"}}
    )
    facts = judge.CellFacts("not_run")
    verdict = judge.judge_cell(cell, facts, None, [], labels, "cpu", language="he")
    assert verdict.messages == ("\u2067התא לא הורץ\u2069",)


def test_device_must_be_the_one_given() -> None:
    ref = _ev({"devices": ["cuda"], "count": 2}, "device")
    assert judge.judge_device(_ev({"devices": ["cpu", "cpu"], "count": 2}), ref, "cpu") == []
    assert judge.judge_device(_ev({"devices": ["cpu", "cuda"], "count": 2}), ref, "cpu")
    assert judge.judge_device(_ev({"devices": [], "count": 2}), ref, "cpu")
    assert judge.judge_device(_ev({"devices": ["cpu"], "count": 1}), ref, "cpu")


def test_code_that_raised_on_the_device_it_was_given_fails_and_says_so() -> None:
    """A step that moved the batch but not the model (or the reverse) raises on ``meta``."""
    ref = _ev({"devices": ["meta", "meta"]}, "device", device="meta")
    assert judge.judge_device(_ev({"devices": ["meta", "meta"]}), ref, "cpu") == []
    error = "Tensor on device cpu is not on the expected device meta!"
    problems = judge.judge_device(_ev({"devices": ["error"], "error": error}), ref, "cpu")
    assert len(problems) == 1
    assert "raised an error on the device it was given (meta)" in problems[0]
    assert error in problems[0] and "the model or the batch" in problems[0]
    # "error" among real devices, or without the error's text, fails all the same
    assert judge.judge_device(_ev({"devices": ["meta", "error"]}), ref, "cpu")


def _curves(plain_gap: float, regularized_gap: float, epochs: int = 8) -> dict:
    """Four loss curves whose generalization gaps are the ones given."""
    train = np.linspace(1.0, 0.2, epochs)
    return {
        "plain_train": train,
        "plain_val": train + plain_gap,
        "regularized_train": train,
        "regularized_val": train + regularized_gap,
    }


def test_regularizer_gap_is_computed_and_judged_outside_the_kernel() -> None:
    ref = _ev(_curves(2.0, 0.5), "overfitting", max_ratio=0.8, min_ratio=-0.05)
    narrowed = _ev(_curves(3.0, 1.5), "overfitting", max_ratio=10.0)
    assert judge.judge_evidence(narrowed, ref, lambda n: np.array([]), "cpu") == []
    same = _ev(_curves(3.0, 2.9), "overfitting")
    assert "at most 80%" in judge.judge_evidence(same, ref, lambda n: np.array([]), "cpu")[0]
    swapped = _ev(_curves(3.0, -3.0), "overfitting")
    assert "training losses first" in judge.judge_overfitting(swapped, ref)[0]
    assert judge.judge_overfitting(_ev(_curves(-1.0, -2.0)), ref)
    assert judge.judge_overfitting(_ev({**_curves(1.0, 0.1), "plain_val": np.full(8, np.nan)}), ref)
    assert judge.judge_overfitting(_ev({**_curves(1.0, 0.1), "plain_val": np.ones(3)}), ref)
    assert judge.judge_overfitting(_ev({**_curves(1.0, 0.1), "plain_val": "low"}), ref)
    assert judge.judge_overfitting(_ev({"plain_train": np.ones(3)}), ref)
    # what the kernel concluded is never read
    lying = Evidence("c", "overfitting", _curves(3.0, 2.9), passed_in_kernel=True)
    assert judge.judge_overfitting(lying, ref)


def test_missing_and_surplus_evidence_fail() -> None:
    ref = [_ev({"g": 1.0})]
    assert judge.match_evidence([_ev({"g": 1.0})], ref, lambda n: np.array([]), "cpu") == []
    assert judge.match_evidence([], ref, lambda n: np.array([]), "cpu")
    two = [_ev({"g": 1.0}), _ev({"g": 1.0})]
    assert judge.match_evidence(two, ref, lambda n: np.array([]), "cpu")
    other_check = [_ev({"g": 1.0}, check="other")]
    assert judge.match_evidence(other_check, ref, lambda n: np.array([]), "cpu")


def _grade_cell(points: float = 1.0) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell("assert True")
    cell.metadata["nbgrader"] = {"grade": True, "grade_id": "t", "points": points}
    return cell


def _stream(name: str, text: str) -> dict:
    return {"output_type": "stream", "name": name, "text": text}


def test_plain_rule_ignores_stderr_but_not_error_replies() -> None:
    cell = _grade_cell()
    ok = judge.CellFacts("ok", outputs=[_stream("stderr", "UserWarning: careful")])
    assert judge.judge_cell(cell, ok, None, [], lambda n: n, "cpu").score == 1.0
    # the traceback was suppressed but the reply said error: no points
    silent_error = judge.CellFacts("error", "AssertionError: ", outputs=[])
    assert judge.judge_cell(cell, silent_error, None, [], lambda n: n, "cpu").score == 0.0
    partial = judge.CellFacts(
        "ok",
        outputs=[{"output_type": "execute_result", "data": {"text/plain": "0.5"}, "metadata": {}}],
    )
    assert judge.judge_cell(cell, partial, None, [], lambda n: n, "cpu").score == 0.5


def test_evidence_cell_needs_evidence_and_no_error() -> None:
    cell, ref = _grade_cell(2.0), [_ev({"g": 1.0})]
    good = [_ev({"g": 1.0})]
    assert judge.judge_cell(cell, judge.CellFacts("ok"), ref, good, lambda n: n, "cpu").passed
    assert not judge.judge_cell(cell, judge.CellFacts("ok"), ref, [], lambda n: n, "cpu").passed
    error = judge.CellFacts("error", "ValueError: x")
    assert not judge.judge_cell(cell, error, ref, good, lambda n: n, "cpu").passed
    installed = tamper.finding("tamper-input-transformer", name="x")
    tampered = judge.CellFacts("ok", tampered_before=(installed,))
    assert not judge.judge_cell(cell, tampered, ref, good, lambda n: n, "cpu").passed


def test_tamper_findings_compare_with_the_baseline() -> None:
    shell = ["tamper-on-instance", {"target": "shell.CustomTB"}]
    base = {"cleanup": ["IPython.a"], "post": [], "ast": [], "found": [shell]}
    same = dict(base)
    assert tamper.findings(base, same) == []
    worse = {
        **base,
        "cleanup": ["IPython.a", "__main__.<lambda>"],
        "custom_exceptions": ["E"],
        "found": [shell, ["tamper-replaced", {"target": "numpy.allclose", "origin": "<cell>"}]],
    }
    found = [str(f) for f in tamper.findings(base, worse)]
    assert found == [
        "numpy.allclose replaced by code from <cell>",
        "input transformer installed: __main__.<lambda>",
        "custom exception handler for E",
    ]


@pytest.mark.parametrize(
    "item",
    [
        "numpy.allclose replaced",  # not [message id, values]
        ["not-a-finding", {}],  # a message the probe does not send
        ["tamper-replaced", {"target": "numpy.allclose"}],  # a value missing
        ["tamper-replaced", ["numpy.allclose", "<cell>"]],
    ],
)
def test_a_finding_the_engine_cannot_read_is_an_unreadable_answer(item: object) -> None:
    (found,) = tamper.findings({}, {"found": [item]})
    assert str(found) == "probe answer unreadable"


def test_findings_are_told_in_the_notebooks_language() -> None:
    """The student reads what the probe found in the notebook's language, each value intact
    and isolated; the instructor's flags stay English."""
    report = {
        "found": [["tamper-replaced-by-class", {"target": "ev.f", "cls": "P", "module": "m"}]],
        "trace": True,
    }
    found = tamper.findings({}, report)
    assert [f.text("he") for f in found] == [
        "\u2067\u2068ev.f\u2069 הוחלף במחלקה \u2068P\u2069 של המודול \u2068m\u2069\u2069",
        "\u2067הותקנה פונקציית מעקב (sys.settrace)\u2069",
    ]
    assert [str(f) for f in found] == [
        "ev.f replaced by class P of module m",
        "a trace function is installed (sys.settrace)",
    ]
    facts = judge.CellFacts("ok", tampered_before=tuple(found))
    cell = nbformat.v4.new_code_cell(
        "", metadata={"nbgrader": {"grade": True, "grade_id": "t", "points": 1}}
    )
    (said,) = judge.judge_cell(cell, facts, None, [], lambda n: n, "cpu", "he").messages
    assert said.startswith("\u2067לפני הבדיקה הזו זוהה שינוי של מערכת הבדיקה: ")
    assert "sys.settrace" in said and "replaced" not in said


def test_probe_reply_that_is_not_ok_is_a_finding() -> None:
    with pytest.raises(tamper.ProbeError) as raised:
        tamper.parse_reply({"status": "error", "ename": "RuntimeError"})
    assert str(raised.value.message) == "probe request failed: RuntimeError"
    with pytest.raises(tamper.ProbeError):
        tamper.parse_reply(
            {"status": "ok", "user_expressions": {"probe": {"status": "ok", "data": {}}}}
        )
    text = repr(json.dumps({"found": []}))
    report = tamper.parse_reply(
        {
            "status": "ok",
            "user_expressions": {"probe": {"status": "ok", "data": {"text/plain": text}}},
        }
    )
    assert report == {"found": []}


def test_exit_status_in_words() -> None:
    assert "status 3" in describe_exit(3)
    assert "segmentation fault" in describe_exit(128 + signal.SIGSEGV)
    assert "killed" in describe_exit(-signal.SIGKILL)
    assert (
        describe_exit(-signal.SIGKILL, "he")
        == "\u2067הופסק בכוח (נגמר הזיכרון, או שנחצתה מגבלה)\u2069"
    )
    assert describe_exit(3, "he").startswith("\u2067יצא עם קוד היציאה \u20683\u2069")


def test_results_have_gradescope_fields_and_gradable() -> None:
    results = SubmissionResults("a", "s")
    results.tests.append(TestResult("nb/t", 1.0, 2.0, "failed", "why"))
    results.notebooks.append(NotebookSummary("nb", False, 1.0, 2.0, 0.5, reasons=["broken"]))
    document = results.to_json()
    for key in ("score", "max_score", "execution_time", "tests", "gradable", "reasons"):
        assert key in document
    assert set(document["tests"][0]) >= {
        "name",
        "score",
        "max_score",
        "status",
        "output",
        "visibility",
    }
    assert document["gradable"] is False and document["reasons"] == ["nb: broken"]
    assert document["score"] == 1.0 and document["max_score"] == 2.0


def test_evidence_payload_roundtrip_used_by_tests() -> None:
    payload = to_payload(_ev({"g": np.arange(3.0)}))
    assert payload["kind"] == "values"


def test_sealed_folder_is_read_only_and_holds_no_hidden_labels(tmp_path) -> None:
    folder = tmp_path / "sealed"
    assert write_sealed(folder, ("iris",)) == ("iris",)
    assert sorted(p.name for p in folder.iterdir()) == ["iris.npz"]
    assert folder.stat().st_mode & 0o777 == 0o555
    assert (folder / "iris.npz").stat().st_mode & 0o777 == 0o444
    with np.load(folder / "iris.npz", allow_pickle=False) as archive:
        assert "hidden_y" not in archive.files and archive["hidden_x"].shape == (30, 4)
    assert SEALED_DATASETS == ("iris", "digits", "blobs")  # mnist is not sealed by default


def test_sealed_files_computed_once_are_written_as_they_are(tmp_path, monkeypatch) -> None:
    """A worker writes the files the plan brings and computes only a dataset it lacks."""
    computed = sealed_files(("iris", "digits"))
    sealed_here = []
    sealed_bytes = data.sealed_bytes
    monkeypatch.setattr(
        data, "sealed_bytes", lambda name: sealed_here.append(name) or sealed_bytes(name)
    )
    folder = tmp_path / "sealed"
    assert write_sealed(folder, ("iris", "digits", "blobs"), computed) == (
        "iris",
        "digits",
        "blobs",
    )
    assert sealed_here == ["blobs"]
    assert (folder / "digits.npz").read_bytes() == computed["digits"]
    assert (folder / "iris.npz").stat().st_mode & 0o777 == 0o444


def test_bundled_dataset_files_are_found_for_masking() -> None:
    masked = dataset_mask_paths()
    sklearn_data = Path(importlib.util.find_spec("sklearn").origin).parent / "datasets" / "data"
    assert str(sklearn_data) in masked
    assert all(Path(p).is_dir() for p in masked)


def test_a_dataset_this_machine_lacks_is_left_out(tmp_path, monkeypatch) -> None:
    # a fresh cache of computed splits: an earlier test in this process may have loaded mnist
    monkeypatch.setattr(
        data, "_computed_splits", functools.cache(data._computed_splits.__wrapped__)
    )
    monkeypatch.setenv("GRADER_MNIST_PATH", str(tmp_path / "missing"))
    monkeypatch.setattr(data, "KERAS_MNIST", tmp_path / "no-keras.npz")
    monkeypatch.setattr(data, "DEBIAN_FASHION_MNIST", tmp_path / "no-debian")
    assert write_sealed(tmp_path / "sealed", ("mnist",)) == ()


@pytest.mark.skipif(
    os.geteuid() != 0 or not shutil.which("setpriv"), reason="needs root to run as another user"
)
def test_a_slot_user_starts_with_no_process_left_from_an_earlier_kernel() -> None:
    uid, gid = ensure_user("grader-sandbox-cleanup-test")  # not a slot any grader uses
    who = ["setpriv", f"--reuid={uid}", f"--regid={gid}", "--clear-groups"]
    leftover = subprocess.Popen([*who, "sh", "-c", "sleep 60 & sleep 60 & wait"])
    reaper = threading.Thread(target=leftover.wait)  # the test is the shell's parent: reap it
    reaper.start()
    deadline = time.monotonic() + 10
    while len(processes_of(uid)) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(processes_of(uid)) == 3  # the shell and its two children
    end_processes_of(uid)
    assert processes_of(uid) == []
    reaper.join(timeout=10)
    assert leftover.returncode == -signal.SIGKILL
    with pytest.raises(SandboxError):
        end_processes_of(0)


def _dense(rng: np.random.Generator, shape: tuple[int, int]) -> list[np.ndarray]:
    return [rng.normal(size=shape), rng.normal(size=shape[1]) * 0.1]


def _scores_at_every_scale(forward, probes: np.ndarray) -> list[np.ndarray]:
    return [forward(probes / shrink) for shrink in measures.PROBE_SHRINKS]


def test_nonlinearity_is_judged_from_the_models_raw_outputs() -> None:
    probes = nonlinear_probes(4)
    rng = np.random.default_rng(1)
    (w1, b1), (w2, b2) = _dense(rng, (4, 16)), _dense(rng, (16, 3))
    linear = _scores_at_every_scale(lambda x: (x @ w1 + b1) @ w2 + b2, probes)
    relu = _scores_at_every_scale(lambda x: np.maximum(x @ w1 + b1, 0) @ w2 + b2, probes)
    ref = _ev({"probes": probes, "scores": relu}, "nonlinear", tolerance=1e-3)
    assert judge.judge_nonlinear(_ev({"probes": probes, "scores": relu}), ref) == []
    problems = judge.judge_nonlinear(_ev({"probes": probes, "scores": linear}), ref)
    assert "linear function of its inputs" in problems[0]
    # one label per sample shows nothing of linearity (a linear model's argmax): it fails
    labels = [s.argmax(axis=1) for s in linear]
    (problem,) = judge.judge_nonlinear(_ev({"probes": probes, "scores": labels}), ref)
    assert "class labels, not class scores" in problem
    # linear outputs on easier inputs of the kernel's own choosing are no evidence
    assert (
        "not the test's"
        in judge.judge_nonlinear(
            _ev({"probes": probes[:, :1] * np.ones((1, 4)), "scores": linear}), ref
        )[0]
    )
    for bad in (linear[:2], [s.astype(str) for s in linear], [s[:10] for s in linear], "x"):
        assert judge.judge_nonlinear(_ev({"probes": probes, "scores": bad}), ref), bad
    nan = [np.full_like(s, np.nan) for s in relu]
    assert "not finite" in judge.judge_nonlinear(_ev({"probes": probes, "scores": nan}), ref)[0]


def _relu_relu_softmax(weights: list[np.ndarray], x: np.ndarray, hidden=np.maximum) -> np.ndarray:
    w1, b1, w2, b2, w3, b3 = weights
    z = hidden(hidden(x @ w1 + b1, 0) @ w2 + b2, 0) @ w3 + b3
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def test_a_keras_network_is_recomputed_from_its_own_weights() -> None:
    rng = np.random.default_rng(2)
    weights = _dense(rng, (7, 64)) + _dense(rng, (64, 32)) + _dense(rng, (32, 5))
    probe = rng.normal(size=(6, 7)).astype(np.float32)
    right = _relu_relu_softmax(weights, probe.astype(np.float64))
    ref = _ev({"probe": probe, "outputs": right, "weights": weights}, "network")
    ref = Evidence("c", "network", ref.values, {"network": "relu_relu_softmax", "atol": 1e-5})
    good = _ev({"probe": probe, "outputs": right.astype(np.float32), "weights": weights})
    assert judge.judge_network(good, ref) == []
    no_relu = _relu_relu_softmax(weights, probe.astype(np.float64), hidden=lambda z, _: z)
    problems = judge.judge_network(_ev({**good.values, "outputs": no_relu}), ref)
    assert "does not compute the network asked for (relu_relu_softmax)" in problems[0]
    missing_layer = _ev({**good.values, "weights": weights[2:]})
    assert judge.judge_network(missing_layer, ref)
    assert "not the test's" in judge.judge_network(_ev({**good.values, "probe": probe + 1}), ref)[0]
    for bad in ([], [np.array(["w"])], "weights", [np.ones(2)] * 100):
        assert judge.judge_network(_ev({**good.values, "weights": bad}), ref), bad
    unknown = Evidence("c", "network", ref.values, {"network": "relu_forever"})
    assert "no known network" in judge.judge_network(good, unknown)[0]


def test_unreadable_evidence_fails_its_test_with_the_reason() -> None:
    huge = Evidence("c", "values", {"g": np.zeros(3)})
    payload = to_payload(huge)
    payload["values"]["g"] = {"npy": "not base64!"}
    outputs = [
        {"output_type": "display_data", "data": {MIME_TYPE: payload}},
        {"output_type": "display_data", "data": {MIME_TYPE: {"format": 1, "kind": "values"}}},
    ]
    (item,) = evidence_in_outputs(outputs)  # the one without a check name is left out
    assert item.check == "c" and item.malformed
    ref = [_ev({"g": np.zeros(3)})]
    (problem,) = judge.match_evidence([item], ref, lambda n: np.array([]), "cpu")
    assert problem.startswith("c: its evidence could not be read")


def test_a_device_choice_is_read_from_the_name_returned() -> None:
    ref = Evidence("c", "pick", {"when_available": "cuda", "when_unavailable": "cpu"})
    chosen = {"when_available": "cuda:0", "when_unavailable": "cpu"}
    assert judge.judge_pick(_ev(chosen, "pick"), ref) == []
    tf_names = {"when_available": "/job:localhost/replica:0/task:0/device:GPU:0"}
    assert judge.judge_pick(_ev({**chosen, **tf_names}, "pick"), ref) == []
    always_cpu = judge.judge_pick(_ev({**chosen, "when_available": "cpu"}, "pick"), ref)
    assert always_cpu == ["when_available: chose cpu, expected cuda"]
    assert judge.judge_pick(_ev({"when_available": "cuda"}, "pick"), ref)


def test_links_are_not_a_submissions_files(tmp_path) -> None:
    """A link in a submitted folder would bring in what it points to (the course's solutions,
    another student's work): neither a linked file nor a file under a linked folder is read."""
    from grader.engine.files import submission_files

    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "solution.ipynb").write_text("{}", encoding="utf-8")
    folder = tmp_path / "submitted"
    (folder / "data").mkdir(parents=True)
    (folder / "work.ipynb").write_text("{}", encoding="utf-8")
    (folder / "data" / "x.csv").write_text("1,2", encoding="utf-8")
    (folder / "linked.ipynb").symlink_to(outside / "solution.ipynb")
    (folder / "data" / "more").symlink_to(outside, target_is_directory=True)
    assert sorted(submission_files(folder)) == ["data/x.csv", "work.ipynb"]


CURVES = ("plain_train", "plain_val", "regularized_train", "regularized_val")


def _references() -> list[Evidence]:
    """A reference item of every kind the judge knows, as a reference run records them."""
    probes = nonlinear_probes(4)
    rng = np.random.default_rng(3)
    weights = _dense(rng, (7, 64)) + _dense(rng, (64, 32)) + _dense(rng, (32, 5))
    probe = rng.normal(size=(6, 7))
    (w1, b1), (w2, b2) = _dense(rng, (4, 16)), _dense(rng, (16, 3))
    relu = _scores_at_every_scale(lambda x: np.maximum(x @ w1 + b1, 0) @ w2 + b2, probes)
    return [
        _ev({"g": np.array([1.0, 2.0]), "n": 3, "s": "ok"}),
        _ev({"dataset": "toy", "predictions": np.arange(4) % 3}, "predictions", threshold=0.5),
        _ev({"devices": ["cpu"], "count": 1}, "device"),
        _ev({name: np.linspace(1, 0, 8) for name in CURVES}, "overfitting", max_ratio=0.8),
        _ev({"probes": probes, "scores": relu}, "nonlinear"),
        Evidence(
            "c",
            "network",
            {"probe": probe, "outputs": _relu_relu_softmax(weights, probe), "weights": weights},
            {"network": "relu_relu_softmax"},
        ),
        _ev({"when_available": "cuda", "when_unavailable": "cpu"}, "pick"),
    ]


#: Values a kernel may put under any name of its evidence (the format allows JSON and arrays).
ODD_VALUES: tuple[object, ...] = (
    None,
    True,
    "error",
    10**30,
    float("nan"),
    {"k": 1},
    [],
    [None],
    [np.arange(2)],
    [["a"]],
    [np.array(1.0)] * len(measures.PROBE_SHRINKS),
    [np.zeros((2, 2, 2))] * len(measures.PROBE_SHRINKS),
    np.array(1.0),
    np.array([]),
    np.zeros((2, 2, 2)),
    np.array(["a", "b"]),
    np.array([np.inf]),
    np.zeros(0, dtype=np.int64),
)


@pytest.mark.parametrize("reference", _references(), ids=lambda r: r.kind)
def test_no_value_a_kernel_sends_makes_the_judge_fail(reference: Evidence) -> None:
    """The judge words what is wrong with any value the kernel sent: an error of its own
    would record the submission as the engine's failure (graded again on every run, never
    scored) instead of the test the student's evidence fails."""
    labels = {"toy": np.array([0, 1, 2, 0])}.__getitem__
    for name in reference.values:
        for odd in ODD_VALUES:
            student = _ev({**reference.values, name: odd}, reference.kind)
            problems = judge.match_evidence([student], [reference], labels, "cpu")
            assert all(isinstance(p, str) for p in problems), (name, odd)
        assert judge.match_evidence([_ev({}, reference.kind)], [reference], labels, "cpu")
