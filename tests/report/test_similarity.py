"""Copied work: pairs with similar answer cells and groups with identical wrong outputs.

Small course folders are built with nbformat in tmp_path; engine results are written as the
engine writes them (``SubmissionResults``); no kernel runs.
"""

from __future__ import annotations

import itertools
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import nbformat
import pytest

from grader.checks.messages import SUPPORTED
from grader.cli import main
from grader.course import Course, load_course
from grader.demo.class_sim import (
    COPIERS,
    ROSTER,
    disguise,
    load_alternatives,
    simulate_class,
    solutions_of,
    write_submissions,
)
from grader.engine import words
from grader.engine.feedback import write_feedback
from grader.engine.results import RESULTS_NAME, SubmissionResults, TestResult, write_json_atomic
from grader.report.render import write_report
from grader.report.similarity import (
    SimilaritySettings,
    compare_cell,
    find_similarity,
    hidden_tests,
    settings_of,
    starter_code,
)
from tests.support import ROOT

MUTANTS = ROOT / "tests" / "mutants"
ALTERNATIVES = ROOT / "tests" / "alternatives"

STARTER = (
    'def area(shape):\n    """The area of a shape."""\n'
    "    # YOUR CODE HERE\n    raise NotImplementedError()\n"
)
ORIGINAL = '''def area(shape):
    """The area of a shape."""
    # sum the triangles of a fan from the first vertex
    total = 0.0
    first = shape[0]
    for left, right in zip(shape[1:-1], shape[2:]):
        cross = (left[0] - first[0]) * (right[1] - first[1])
        cross -= (left[1] - first[1]) * (right[0] - first[0])
        total += cross / 2
    return abs(total)
'''
OTHER = '''def area(shape):
    """The area of a shape."""
    xs = [p[0] for p in shape]
    ys = [p[1] for p in shape]
    n = len(xs)
    return 0.5 * abs(sum(xs[i] * ys[(i + 1) % n] - xs[(i + 1) % n] * ys[i] for i in range(n)))
'''
THIRD = '''def area(shape):
    """The area of a shape."""
    import numpy as np
    points = np.asarray(shape, dtype=float)
    x, y = points[:, 0], points[:, 1]
    return float(np.abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))) / 2)
'''


def _notebook(answer: object) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell(STARTER)
    cell.metadata["nbgrader"] = {"grade_id": "area", "solution": True, "grade": False}
    if answer is not None:
        cell["source"] = answer  # type: ignore[assignment]
    test = nbformat.v4.new_code_cell("assert area([(0, 0), (1, 0), (0, 1)]) == 0.5")
    test.metadata["nbgrader"] = {"grade_id": "test_area", "grade": True, "points": 1}
    nb.cells = [nbformat.v4.new_markdown_cell("# Shapes"), cell, test]
    return nb


def _course(tmp_path: Path, answers: dict[str, object]) -> Course:
    """A course with assignment ``geo`` (one notebook) and one submission per student."""
    root = tmp_path / "course"
    (root / "release" / "geo").mkdir(parents=True)
    nbformat.write(_notebook(None), root / "release" / "geo" / "shapes.ipynb")
    for student, answer in answers.items():
        folder = root / "submitted" / student / "geo"
        folder.mkdir(parents=True)
        if isinstance(answer, bytes):
            (folder / "shapes.ipynb").write_bytes(answer)
        else:
            nbformat.write(_notebook(answer), folder / "shapes.ipynb")
    return load_course(root)


def test_disguised_copy_is_found_with_its_spans_marked(tmp_path: Path):
    course = _course(
        tmp_path,
        {"amy": ORIGINAL, "bob": disguise(ORIGINAL), "cy": OTHER, "dee": THIRD, "eli": None},
    )
    found = find_similarity(course, "geo", settings=SimilaritySettings())
    assert [(p.first, p.second) for p in found.pairs] == [("amy", "bob")]
    match = found.pairs[0].cells[0]
    assert match.score >= 0.9 and (match.notebook, match.cell) == ("shapes", "area")
    marked = "".join(s.text for s in match.left if s.matched)
    assert "for left, right in zip" in marked
    assert "".join(s.text for s in match.left) == ORIGINAL  # segments rebuild the answer
    assert found.students == 5 and found.cells == 1


def test_starter_code_alone_is_not_a_match(tmp_path: Path):
    long_starter = STARTER + "".join(f"    step_{i} = prepare(shape, {i})\n" for i in range(12))
    starter = {("shapes", "area"): long_starter}
    answers = {"a": long_starter + "    return 1.0\n", "b": long_starter + "    return 2.0\n"}
    assert compare_cell("shapes", "area", answers, long_starter, SimilaritySettings()) == []
    with_starter_counted = compare_cell("shapes", "area", answers, "", SimilaritySettings())
    assert with_starter_counted, "without the starter removed the two would match"
    assert starter


def test_bad_answers_are_skipped_with_a_note_and_the_rest_compared(tmp_path: Path):
    settings = SimilaritySettings(max_cell_bytes=1_000_000)
    course = _course(
        tmp_path,
        {
            "amy": ORIGINAL,
            "bob": disguise(ORIGINAL),
            "empty": "   \n",
            "huge": "x = 1\n" * 200_000,
            "rlang": "area <- function(shape) { sum(shape) }\n",
            "weird": 42,
            "broken": b'{"cells": [',
        },
    )
    found = find_similarity(course, "geo", settings=settings)
    assert [(p.first, p.second) for p in found.pairs] == [("amy", "bob")]
    reasons = {s.student: s.reason for s in found.skipped}
    assert reasons == {
        "empty": "empty",
        "huge": "huge",
        "rlang": "not_python",
        "weird": "unreadable_cell",
        "broken": "unreadable_notebook",
    }
    out = write_report_for_notes(found)
    assert "answer cell too large" in out and "unreadable notebook" in out


def write_report_for_notes(found: object) -> str:
    """The similarity section alone, rendered in English."""
    from grader.report.render import environment

    template = environment("en").from_string(
        '{% from "similarity.html" import similarity_section %}'
        "{{ similarity_section(sim, '', L) }}"
    )
    from grader.report.labels import labels

    return template.render(sim=found, L=labels("en"))


def test_archive_of_earlier_years_is_compared(tmp_path: Path):
    course = _course(tmp_path, {"amy": OTHER, "cy": THIRD})
    archive = tmp_path / "2025"
    (archive / "old1" / "geo").mkdir(parents=True)
    nbformat.write(_notebook(disguise(THIRD)), archive / "old1" / "geo" / "shapes.ipynb")
    (archive / "old2" / "geo").mkdir(parents=True)
    nbformat.write(_notebook(disguise(THIRD)), archive / "old2" / "geo" / "shapes.ipynb")
    found = find_similarity(course, "geo", archive, SimilaritySettings())
    pairs = {(p.first, p.second) for p in found.pairs}
    assert pairs == {("2025/old1", "cy"), ("2025/old2", "cy")}  # never old with old
    assert found.archived == 2


def _sim_course(tmp_path: Path) -> Course:
    root = tmp_path / "course"
    for part in ("release", "source"):
        shutil.copytree(ROOT / part / "frameworks", root / part / "frameworks")
    submissions = simulate_class(
        ROOT, MUTANTS, ALTERNATIVES, assignments=("frameworks",), roster=ROSTER + COPIERS
    )
    write_submissions(submissions, root / "submitted")
    return load_course(root)


def _results(course: Course, student: str, failures: dict[str, str]) -> None:
    results = SubmissionResults("frameworks", student)
    for name in sorted(hidden_tests(course, "frameworks") or ()):
        message = failures.get(name, "")
        results.tests.append(
            TestResult(
                name, 0.0 if message else 1.0, 1.0, "failed" if message else "passed", message
            )
        )
    write_json_atomic(
        course.autograded_dir(student, "frameworks") / RESULTS_NAME, results.to_json()
    )


def test_simulated_copiers_and_shared_wrong_answer_are_reported(tmp_path: Path):
    course = _sim_course(tmp_path)
    test = sorted(hidden_tests(course, "frameworks") or ())[0]
    shared = (
        f"{test.split('/')[1]}: values differ from the expected value (largest difference 0.347)"
    )
    for student in [s.id for s in ROSTER + COPIERS]:
        failures = {}
        if student in ("s15", "s16"):
            failures = {test: shared}
        elif student in ("s06", "s07"):
            failures = {test: f"{student}: NotImplementedError: "}
        elif student == "s04":
            failures = {test: "values differ from the expected value (largest difference 2.1)"}
        _results(course, student, failures)
    found = find_similarity(course, "frameworks", settings=settings_of(load_course(ROOT)))
    pairs = {(p.first, p.second): p for p in found.pairs}
    assert ("s13", "s14") in pairs
    copied = pairs[("s13", "s14")]
    assert copied.score >= 0.9 and len(copied.cells) >= 10
    for honest in itertools.combinations(["s01", "s02", "s03", "s13"], 2):
        assert honest not in pairs  # written independently
    assert [(g.students, g.test) for g in found.groups] == [(("s15", "s16"), test)]


def test_independent_correct_answers_stay_under_the_threshold():
    """Every pair of the reference and the correct alternatives, every answer cell of the
    course: none reaches the configured threshold (docs/report.md has the figures)."""
    course = load_course(ROOT)
    settings = settings_of(course)
    assert settings.cell_threshold == 0.8  # nbgrader_config.py's
    pairs, above = 0, []
    for assignment in ("frameworks", "overfitting", "lab"):
        starters = starter_code(course, assignment)
        for path in sorted((ROOT / "source" / assignment).glob("*.ipynb")):
            reference = solutions_of(nbformat.read(path, as_version=4))
            alternatives = load_alternatives(ALTERNATIVES, path.stem)
            for cell, text in reference.items():
                versions = {"reference": text}
                versions.update(
                    {f"alt{i}": a[cell] for i, a in enumerate(alternatives) if cell in a}
                )
                pairs += len(list(itertools.combinations(versions, 2)))
                found = compare_cell(
                    path.stem, cell, versions, starters[(path.stem, cell)], settings
                )
                above += [(path.stem, cell, a, b, m.score) for a, b, m in found]
    assert pairs >= 150
    assert above == []


def test_report_section_in_both_languages_and_nothing_reaches_feedback(
    graded_root: Path, tmp_path: Path
):
    root = tmp_path / "course"
    shutil.copytree(graded_root, root)
    course = load_course(root)
    source = nbformat.read(root / "source" / "demo" / "demo.ipynb", as_version=4)
    answer = next(
        c for c in source.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "answer_iris"
    )
    head = answer.source.split("### BEGIN SOLUTION")[0].rstrip(" ")
    for student, text in (("ada", ORIGINAL), ("ben", disguise(ORIGINAL))):
        body = textwrap.indent(text.replace("def area", "def helper"), "    ")
        answer.source = head + body + "    return helper\n"
        nbformat.write(source, course.submitted_dir(student, "demo") / "demo.ipynb")
    before = sorted(p for p in (root / "autograded").rglob("*"))
    english = write_report(course, root / "reports" / "demo.html", ["demo"])
    hebrew = write_report(course, root / "reports" / "demo.he.html", ["demo"], lang="he")
    text = english.read_text(encoding="utf-8")
    assert 'id="similarity-demo"' in text and "<mark>" in text
    assert "a reason to look, not a verdict" in text
    assert '<pre dir="ltr" class="code">' in text
    assert "ada</bdi> and <bdi>ben" in text
    he = hebrew.read_text(encoding="utf-8")
    assert "עבודות דומות" in he and "סיבה לבדוק, לא הכרעה" in he
    assert '<pre dir="ltr" class="code">' in he
    assert sorted(p for p in (root / "autograded").rglob("*")) == before  # nothing written there
    written = write_feedback(course, "demo")
    assert written
    for page in written:
        content = page.read_text(encoding="utf-8")
        student = page.parent.parent.name
        others = [s for s in ("ada", "ben") if s != student]
        assert "similar" not in content.lower() and "דומות" not in content
        assert not any(f">{o}<" in content for o in others)


def test_cli_prints_pairs_and_refuses_without_release(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    course = _course(tmp_path, {"amy": ORIGINAL, "bob": disguise(ORIGINAL)})
    assert main(["similarity", "geo", "--root", str(course.root)]) == 0
    out = capsys.readouterr().out
    assert "amy bob" in out and "not a verdict" in out
    assert main(["similarity", "nothing", "--root", str(course.root)]) == 2
    assert "grader release nothing" in capsys.readouterr().err


def test_fingerprints_are_the_same_in_every_process() -> None:
    """Python salts ``hash`` per process; the report's fingerprints must not move with it."""
    code = (
        "from grader.report.similarity import SimilaritySettings, _fingerprint, stable_hashes\n"
        "text = 'def area(width, height):\\n    total = width * height\\n    return total\\n'\n"
        "with stable_hashes():\n"
        "    prints = _fingerprint(text, SimilaritySettings(noise=5, guarantee=8))\n"
        "print(hash('def area'), sorted(prints.hashes))"
    )
    runs = []
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        done = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
        )
        salted, stable = done.stdout.split(" ", 1)
        runs.append((salted, stable))
    assert runs[0][0] != runs[1][0]  # Python's own hash moved
    assert runs[0][1] == runs[1][1] and runs[0][1].strip() != "[]"  # the fingerprints did not


def test_messages_that_say_nothing_are_ignored_in_every_language() -> None:
    """A check that never ran and a notebook not handed in say nothing about the work, in the
    engine's words of each language: shared by several students, they are no sign of copying."""
    patterns = [re.compile(p) for p in SimilaritySettings().ignored_outputs]
    for language in SUPPORTED:
        for said in (
            words.say(language, "no-evidence", check="toy-accuracy"),
            words.say(language, "not-submitted"),
        ):
            assert any(p.search(said) for p in patterns), (language, said)
    assert not any(p.search(words.say("he", "not-run")) for p in patterns)
