"""The pipeline end to end on the demo course: gradebook, results.json, resume, feedback, CLI."""

from __future__ import annotations

import argparse
import html
import json
import logging
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import numpy as np
import pytest
from nbgrader.api import Gradebook

from grader import data
from grader.course import run_nbgrader
from grader.engine import cli as engine_cli
from grader.engine.autograde import (
    GradingSession,
    autograde_all,
    load_course,
    prepare,
    record_failure,
)
from grader.engine.feedback import write_feedback
from grader.engine.gradebook import recorded_scores
from grader.engine.sandbox import SandboxPolicy
from grader.engine.schedule import GradingFailure
from grader.engine.sealed import SEALED_DATASETS
from grader.engine.task import unreadable
from tests.support.engine import options, submit, tool_env, toy_labels

# Kept together under --dist loadgroup; the module's grading run is built once per test run
# in any case (conftest.shared_once), whichever workers its tests land on.
pytestmark = pytest.mark.xdist_group("engine-pipeline")


WRONG_DOUBLE = "def double(x):\n    return x\n"


def _grade(root: Path, **overrides: object) -> dict:
    course = load_course(root)
    context = prepare(course, "demo", options(**overrides), labels=toy_labels)
    import grader.engine.autograde as ag

    return {s: ag.grade_submission(context, s) for s in course.students("demo")}


def test_gradebook_results_and_repairs(course: Path) -> None:
    submit(course, "good")
    submit(course, "broken", raw=b'{"nbformat": 4, "cells": [')

    def delete_tests(nb: nbformat.NotebookNode) -> None:
        nb.cells = [
            c
            for c in nb.cells
            if c.metadata.get("nbgrader", {}).get("grade_id") not in ("test_plain", "test_double")
        ]

    submit(course, "deleter", edit=delete_tests)
    outcomes = _grade(course)
    db_url = load_course(course).db_url

    good = json.loads((course / "autograded/good/demo/results.json").read_text())
    assert good["score"] == 7 and good["max_score"] == 7 and good["gradable"]
    assert recorded_scores(db_url, "demo", "good")["demo"]["test_double"] == 2.0
    with Gradebook(db_url) as gb:
        grade = gb.find_grade("explain", "demo", "demo", "good")
        assert grade.auto_score == 0 and not grade.needs_manual_grade  # unanswered, as nbgrader
        assert gb.find_comment("explain", "demo", "demo", "good").auto_comment == "No response."
        assert gb.find_comment("answer_double", "demo", "demo", "good").auto_comment is None

    broken = outcomes["broken"].to_json()
    assert broken["gradable"] is False and "not valid JSON" in broken["reasons"][0]
    with Gradebook(db_url) as gb:
        grade = gb.find_grade("test_double", "demo", "demo", "broken")
        assert grade.auto_score is None and grade.needs_manual_grade  # never a silent zero
        assert gb.find_submission_notebook("demo", "demo", "broken").flagged

    deleter = outcomes["deleter"].to_json()
    assert deleter["score"] == 7  # deleted test cells came back and ran
    assert any("test_plain was deleted" in r for r in deleter["reasons"])


def test_nbgrader_export_reads_the_engine_grades(course: Path) -> None:
    submit(course, "good")
    _grade(course)
    run_nbgrader(course, "export")
    rows = (course / "grades.csv").read_text().splitlines()
    header, row = rows[0].split(","), next(r for r in rows[1:] if ",good," in r).split(",")
    assert float(row[header.index("raw_score")]) == 7.0


def test_rerun_grades_only_what_is_missing_after_kill(course: Path) -> None:
    for student in ("s1", "s2", "s3"):
        submit(course, student)
    command = [
        sys.executable,
        "-c",
        "import argparse, sys\n"
        "import numpy as np\n"
        "from grader.engine import cli, task\n"
        "real = task._hidden_labels  # the demo's 'toy' dataset is not grader.data's\n"
        "task._hidden_labels = lambda n: np.arange(30) % 3 if n == 'toy' else real(n)\n"
        "p = argparse.ArgumentParser(); cli.register(p.add_subparsers())\n"
        "a = p.parse_args(sys.argv[1:]); sys.exit(a.func(a))",
        "autograde",
        "demo",
        "--serial",  # in this process, where the labels above apply
        "--root",
        str(course),
        "--timeout-cell",
        "20",
    ]
    process = subprocess.Popen(
        command, env=tool_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    first = course / "autograded/s1/demo/results.json"
    deadline = time.monotonic() + 120
    while not first.exists() and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.1)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert first.exists()
    graded_before = {s for s in ("s1", "s2", "s3") if (course / f"autograded/{s}/demo").is_dir()}
    assert "s3" not in graded_before  # killed before the end

    outcomes = _grade(course)
    assert outcomes["s1"] is None  # already graded: skipped
    assert all(outcomes[s] is not None for s in ("s2", "s3") if s not in graded_before)
    db_url = load_course(course).db_url
    for student in ("s1", "s2", "s3"):  # the gradebook agrees with every results.json
        document = json.loads((course / f"autograded/{student}/demo/results.json").read_text())
        recorded = recorded_scores(db_url, "demo", student)["demo"]
        assert sum(recorded.values()) == document["score"]
    assert outcomes["s3"].to_json()["score"] == 7
    assert not list((course / "autograded").glob("*/.demo.partial"))

    submit(course, "s2", answers={"answer_double": "def double(x):\n    return x\n"})
    outcomes = _grade(course)  # a changed submission is graded again
    assert outcomes["s1"] is None and outcomes["s2"] is not None
    assert outcomes["s2"].to_json()["score"] < 7


def test_feedback_shows_messages_but_no_hidden_tests(course: Path) -> None:
    """No hidden test reaches the feedback: not its source, not its outputs, not in a later
    cell that read it (IPython keeps every cell's source within the kernel's reach) and
    printed it encoded, where masking cannot find it; what ran before shows."""

    def add_cells(nb: nbformat.NotebookNode) -> None:
        nb.cells.insert(2, nbformat.v4.new_code_cell("print('EARLY', 6 * 7)"))
        nb.cells.append(
            nbformat.v4.new_code_cell(
                "import base64\nprint('LEAK', base64.b64encode('\\n'.join(In).encode()))"
            )
        )

    submit(
        course,
        "wrong",
        answers={"answer_double": "def double(x):\n    return x + 1\n"},
        edit=add_cells,
    )
    _grade(course)
    executed = (course / "autograded/wrong/demo/demo.ipynb").read_text()
    assert "LEAK b'" in executed  # the cell ran and printed the tests, encoded
    paths = write_feedback(load_course(course), "demo")
    assert [p.relative_to(course).as_posix() for p in paths] == ["feedback/wrong/demo/demo.html"]
    page = html.unescape(re.sub(r"<[^>]+>", "", paths[0].read_text()))
    assert "EARLY 42" in page and "LEAK b'" not in page
    assert "it ran after a test with a hidden part" in page
    assert "linspace" not in page  # the hidden test's inputs
    assert "BEGIN HIDDEN TESTS" not in page
    assert "application/vnd.frameworks-grader.evidence+json" not in page
    assert "assert double(1) == 2" in page  # the public part of the test stays
    assert "AssertionError" in page  # a failed test shows its message
    assert '<html lang="he"' not in paths[0].read_text() and "Score" in page


def test_feedback_of_a_hebrew_notebook_is_hebrew_and_right_to_left(course: Path) -> None:
    submit(course, "dana", answers={"answer_double": "def double(x):\n    return x + 1\n"})
    _grade(course)
    source = course / "source/demo/demo.ipynb"  # the instructor's notebook names the language
    nb = nbformat.read(source, 4)
    nb.metadata["grader"] = {"language": "he"}
    nbformat.write(nb, source)
    page = write_feedback(load_course(course), "demo")[0].read_text()
    assert '<html lang="he" dir="rtl">' in page
    assert "ציון" in page and "(בדיקות נסתרות)" in page and "נכשלה" in page
    assert "direction: ltr" in page  # code and outputs stay left to right


def test_a_hebrew_notebook_hears_the_engine_in_hebrew(course: Path) -> None:
    """What only the engine decides (the hidden points, the hidden labels) is worded in the
    notebook's language, with its values isolated: a Hebrew student reads no English there."""
    source = course / "source/demo/demo.ipynb"
    nb = nbformat.read(source, 4)
    nb.metadata["grader"] = {"language": "he"}
    nbformat.write(nb, source)

    def edit_a_test(nb: nbformat.NotebookNode) -> None:
        (cell,) = [
            c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "test_plain"
        ]
        cell.source = "assert True"

    submit(
        course,
        "noa",  # right at the public point, wrong at the hidden ones; every label wrong
        answers={
            "answer_double": "def double(x):\n    return 2 * x if np.isscalar(x) else x\n",
            "answer_labels": "def labels(x):\n    print('x\\n' * 1500)\n"
            "    return (np.asarray(x, dtype=int) + 1) % 3\n",
        },
        edit=edit_a_test,
    )
    submit(course, "dan", {"answer_double": "np.allclose = lambda *a, **k: True\n" + WRONG_DOUBLE})
    _grade(course)
    tampered = json.loads((course / "autograded/dan/demo/results.json").read_text())
    (said,) = [t["output"] for t in tampered["tests"] if t["name"] == "demo/test_double"]
    assert "לפני הבדיקה הזו זוהה שינוי של מערכת הבדיקה" in said, said
    assert "\u2068numpy.allclose\u2069 הוחלף בקוד מתוך" in said, said
    assert tampered["flags"][0].startswith("demo: numpy.allclose replaced by code from ")
    document = json.loads((course / "autograded/noa/demo/results.json").read_text())
    assert document["reasons"] == [
        "demo: \u2067תא הבדיקה \u2068test_plain\u2069 שונה; התא המקורי הוחזר\u2069"
    ]
    executed = nbformat.read(course / "autograded/noa/demo/demo.ipynb", 4)
    printed = "".join(o.get("text", "") for c in executed.cells for o in c.get("outputs", []))
    assert "[מערכת הבדיקה: הפלט קוצר: \u2067יותר מ-\u20681000\u2069 שורות\u2069]" in printed
    said = {t["name"].split("/")[1]: t["output"] for t in document["tests"]}
    assert "שונה מהערך הנכון" in said["test_double"], said["test_double"]
    accuracy = said["test_predictions"]
    assert "הדיוק על הקבוצה החבויה של \u2068toy\u2069 הוא \u20680.000\u2069" in accuracy
    assert "\u2068toy-accuracy\u2069" in accuracy and "below the required" not in accuracy
    (noa,) = [p for p in write_feedback(load_course(course), "demo") if "noa" in p.parts]
    page = html.unescape(noa.read_text())
    assert "נדרש לפחות \u20680.900\u2069" in page
    context = prepare(load_course(course), "demo", options(), labels=toy_labels)
    record_failure(context, GradingFailure("noa", "ZeroDivisionError: an engine bug", ""))
    document = json.loads((course / "autograded/noa/demo/results.json").read_text())
    assert document["reasons"] == [
        "demo: \u2067שגיאה של מערכת הבדיקה (לא שלכם): "
        "\u2068ZeroDivisionError: an engine bug\u2069\u2069"
    ]
    unread = unreadable(context.plan, "ida", "files-unreadable", error="Permission denied")
    assert unread.results.notebooks[0].reasons == [
        "\u2067אי אפשר לקרוא את קובצי ההגשה (\u2068Permission denied\u2069)\u2069"
    ]


def test_without_sandbox_it_warns_once_and_still_grades(course: Path, caplog) -> None:
    submit(course, "good")
    with caplog.at_level(logging.WARNING):
        outcomes = _grade(course, policy=SandboxPolicy(enabled=False))
    assert outcomes["good"].to_json()["score"] == 7
    warnings = [r.getMessage() for r in caplog.records if "sandbox" in r.getMessage()]
    assert len(warnings) == 1 and "disabled" in warnings[0]


def test_cli_registers_autograde_and_feedback_options() -> None:
    parser = argparse.ArgumentParser()
    engine_cli.register(parser.add_subparsers())
    args = parser.parse_args(
        [
            "autograde",
            "lab",
            "lab-he",
            "--root",
            "x",
            "--student",
            "a",
            "b",
            "--timeout-cell",
            "5",
            "--timeout-notebook",
            "50",
        ]
    )
    assert (args.assignments, args.root, args.student) == (["lab", "lab-he"], "x", ["a", "b"])
    assert (args.timeout_cell, args.timeout_notebook) == (5.0, 50.0)
    assert args.func is engine_cli.run_autograde
    feedback = parser.parse_args(["feedback", "lab"])
    assert feedback.func is engine_cli.run_feedback and feedback.root == "."


@pytest.mark.skipif(os.geteuid() != 0, reason="the uid switch needs root")
def test_kernel_runs_as_its_own_user(course: Path) -> None:
    def show_user(nb: nbformat.NotebookNode) -> None:
        nb.cells.append(nbformat.v4.new_code_cell("import os; print('uid', os.getuid())"))

    submit(course, "who", edit=show_user)
    _grade(course)
    nb = nbformat.read(course / "autograded/who/demo/demo.ipynb", 4)
    text = "".join(o.get("text", "") for o in nb.cells[-1].outputs)
    assert text.startswith("uid ") and text.split()[1] != "0"


def test_an_assignment_of_several_notebooks_is_graded_as_one_submission(
    course: Path, caplog
) -> None:
    """Every notebook of an assignment is graded for each student (the course's ``frameworks``
    has three): results.json names each test by its notebook, the totals add up over the
    notebooks, and a wrong answer in one notebook costs only that notebook's tests. Graded
    beside ``demo`` in one session (:func:`autograde_all`, ``grader autograde A B``): one
    zygote serves both assignments, each student graded in the assignments they submitted."""
    pair = course / "source" / "pair"
    pair.mkdir()
    for name in ("first", "second"):
        shutil.copy(course / "source" / "demo" / "demo.ipynb", pair / f"{name}.ipynb")
    shutil.copy(course / "source" / "demo" / "data.txt", pair / "data.txt")
    run_nbgrader(course, "generate_assignment", "pair", "--force")
    right = submit(course, "right")
    wrong = submit(course, "wrong", {"answer_double": "def double(x):\n    return x + 1\n"})
    notebooks = {"both_right": (right, right), "second_wrong": (right, wrong)}
    for student, (first, second) in notebooks.items():
        folder = course / "submitted" / student / "pair"
        folder.mkdir(parents=True)
        shutil.copy(first, folder / "first.ipynb")
        shutil.copy(second, folder / "second.ipynb")
    contexts = [
        prepare(load_course(course), a, options(), labels=toy_labels, run_references=False)
        for a in ("pair", "demo")
    ]
    for unnamed in (None, "lab"):  # a session of several grades only an assignment it holds
        with pytest.raises(ValueError, match="pair, demo"):
            GradingSession(contexts).context_of(unnamed)
    with caplog.at_level(logging.INFO):
        progress = autograde_all(
            load_course(course), ["pair", "demo"], options(), labels=toy_labels
        )
    ready = [r.getMessage() for r in caplog.records if "kernel zygote ready" in r.getMessage()]
    assert len(ready) == 1, ready
    assert list(progress) == ["pair", "demo"]
    assert sorted(progress["pair"].rows) == ["both_right", "second_wrong"]
    assert sorted(progress["demo"].rows) == ["right", "wrong"]
    assert progress["demo"].rows["right"].score == 7 > progress["demo"].rows["wrong"].score
    results = {
        s: json.loads((course / "autograded" / s / "pair" / "results.json").read_text())
        for s in notebooks
    }
    both = results["both_right"]
    assert both["gradable"] and both["score"] == both["max_score"] == 2 * 7
    assert {t["name"].split("/")[0] for t in both["tests"]} == {"first", "second"}
    lost = {t["name"]: t["score"] for t in results["second_wrong"]["tests"] if t["score"] == 0}
    # the three tests that call double(), 2 + 1 + 1 points, in the second notebook only
    assert lost == {"second/test_double": 0, "second/test_plain": 0, "second/test_warning": 0}
    assert results["second_wrong"]["score"] == 2 * 7 - 4
    recorded = recorded_scores(load_course(course).db_url, "pair", "second_wrong")
    assert recorded["first"]["test_double"] == 2.0 and recorded["second"]["test_double"] == 0


def test_a_session_runs_a_missing_reference_forked_and_it_matches_a_cold_run(
    course: Path, caplog
) -> None:
    """Grading runs a reference not cached yet in a kernel forked from its zygote (the
    libraries imported once), and that run yields what a kernel started from scratch did."""
    cache = load_course(course).reference_cache("demo")
    cold = json.loads((cache / "demo.json").read_text())  # the template's run, from scratch
    shutil.rmtree(cache)
    context = prepare(
        load_course(course), "demo", options(), labels=toy_labels, run_references=False
    )
    assert context.plan.references["demo"].pending
    assert context.plan.references["demo"].key == cold["key"]
    with caplog.at_level(logging.INFO), GradingSession(context) as session:
        forked = session.context.plan.references["demo"]
        assert session.ready()
    assert not forked.pending
    assert "running the reference solution demo.ipynb in a kernel forked from the zygote" in [
        r.getMessage() for r in caplog.records
    ]
    assert {name: cell.status for name, cell in forked.cells.items()} == {
        name: cell["status"] for name, cell in cold["cells"].items()
    }
    assert {name: list(cell.payloads) for name, cell in forked.cells.items()} == {
        name: cell["payloads"] for name, cell in cold["cells"].items()
    }
    assert json.loads((cache / "demo.json").read_text())["cells"] == cold["cells"]
    submit(course, "good")
    caplog.clear()
    with caplog.at_level(logging.INFO), GradingSession(context) as session:
        assert session.grade(["good"]).rows["good"].state == "graded"
    ran = [r.getMessage() for r in caplog.records if "running the reference" in r.getMessage()]
    assert not ran, "a second session of the same context ran the cached reference again"
    assert json.loads((course / "autograded/good/demo/results.json").read_text())["score"] == 7


def test_the_plan_carries_the_sealed_files_and_hidden_labels_computed_once(course: Path) -> None:
    """Workers load no dataset: the plan brings the sealed files of the policy's datasets and,
    unless labels are given, those datasets' hidden labels to judge by."""
    plan = prepare(load_course(course), "demo", options()).plan
    assert sorted(plan.sealed) == sorted(SEALED_DATASETS)
    assert plan.sealed["iris"] == data.sealed_bytes("iris")
    assert plan.labels is not None
    assert np.array_equal(plan.labels("digits"), data.hidden_split("digits").y)
    given = prepare(load_course(course), "demo", options(), labels=toy_labels).plan
    assert given.labels is toy_labels and sorted(given.sealed) == sorted(SEALED_DATASETS)
