"""The quizzes as nbgrader assignments: generated files in sync, options shuffled and lettered
apart from the bank, every allowed way of writing an answer read the same, and real nbgrader
autograding gives the same per-question score as the web for the same answers."""

from __future__ import annotations

import contextlib
import io
import json
from collections import Counter

import nbformat
import pytest
from nbgrader.api import Gradebook

from grader.course import run_nbgrader
from grader.quiz.notebook import (
    FORMS,
    Typed,
    assignment_name,
    check_source,
    display_options,
    fill_answers,
    helper_source,
    notebook_answer,
    render,
    scoring_source,
    write_assignment,
)
from grader.quiz.scoring import option_order, score_question
from tests.support import ROOT


@pytest.mark.parametrize("quiz_id", ["frameworks-pre", "frameworks-post"])
def test_committed_source_notebooks_match_the_bank(bank, quiz_id):
    quiz = bank[quiz_id]
    name = assignment_name(quiz)
    path = ROOT / "source" / name / f"{name}.ipynb"
    assert path.is_file(), "run `grader quiz notebook`"
    committed = json.loads(path.read_text(encoding="utf-8"))
    assert committed == json.loads(json.dumps(render(quiz))), "run `grader quiz notebook` again"
    graded = [c for c in committed["cells"] if c["metadata"]["nbgrader"].get("grade")]
    assert len(graded) == len(quiz.questions)
    assert sum(c["metadata"]["nbgrader"]["points"] for c in graded) == quiz.max_score


def test_points_are_written_with_the_right_plural(bank):
    texts = "\n".join(
        cell.source for quiz in bank.values() for cell in render(quiz).cells if cell.source
    )
    for right in ["(1 point)", "(2 points)", "(נקודה אחת)", "(2 נקודות)"]:
        assert right in texts, right
    for wrong in ["(1 points)", "(1 נקודות)", "(2 point)"]:
        assert wrong not in texts, wrong


@pytest.mark.parametrize("quiz_id", ["frameworks-pre", "frameworks-post"])
def test_options_are_shuffled_like_the_web_and_lettered_in_the_order_shown(bank, quiz_id):
    quiz = bank[quiz_id]
    moved, correct_letters = 0, Counter()
    for q in quiz.questions:
        shown = display_options(quiz, q)
        if q.type == "true_false":
            assert [label for label, _ in shown] == ["true", "false"]
            continue
        if q.type == "numeric":
            assert shown == []
            continue
        assert [o.id for _, o in shown] == option_order(
            quiz, q, f"notebook:{assignment_name(quiz)}"
        )
        assert [label for label, _ in shown] == list("abcdefgh"[: len(q.options)])
        moved += [o.id for _, o in shown] != [o.id for o in q.options]
        if q.type == "single":
            correct_letters.update(label for label, o in shown if o.correct)
    assert moved >= len([q for q in quiz.questions if q.options]) // 2
    singles = sum(correct_letters.values())
    assert max(correct_letters.values()) / singles <= 0.4, correct_letters
    assert render(quiz) == render(quiz)  # the same notebook for every student and every run


def _read(quiz, qid, value):
    """Run the notebook's answer reader on one value; return (answer, printed text)."""
    q = quiz.question(qid)
    namespace: dict = {}
    exec(helper_source(quiz), namespace)  # the notebook's own first cell
    if value is not _UNSET:
        namespace[f"answer_{qid}"] = value
    labels = tuple(label for label, _ in display_options(quiz, q))
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        answer = namespace["_quiz_read"](qid, q.type, labels)
    return answer, out.getvalue()


_UNSET = object()


@pytest.mark.parametrize(
    ("qid", "value", "expected"),
    [
        ("q06", False, {"false"}),
        ("q06", True, {"true"}),
        ("q06", "true", {"true"}),
        ("q06", "True", {"true"}),
        ("q06", " TRUE ", {"true"}),
        ("q06", ["false"], {"false"}),
        ("q06", "לא נכון", {"false"}),
        ("q02", "b", {"b"}),
        ("q02", " B ", {"b"}),
        ("q02", ["d"], {"d"}),
        ("q02", ("d",), {"d"}),
        ("q01", ["a", "c"], {"a", "c"}),
        ("q01", ("a", "c"), {"a", "c"}),
        ("q01", {"c", "a"}, {"a", "c"}),
        ("q01", "a,c", {"a", "c"}),
        ("q01", "a, c", {"a", "c"}),
        ("q01", "A C", {"a", "c"}),
        ("q01", ["A ", "c", "a"], {"a", "c"}),
        ("q03", -6, -6.0),
        ("q03", -6.0, -6.0),
        ("q03", "-6", -6.0),
        ("q04", " 0,6 ", 0.6),
    ],
)
def test_every_allowed_form_of_an_answer_is_read(bank, qid, value, expected):
    answer, printed = _read(bank["frameworks-pre"], qid, value)
    assert answer == (expected if isinstance(expected, float) else frozenset(expected))
    assert f"answer_{qid}: read as" in printed


@pytest.mark.parametrize(
    ("qid", "value", "reason"),
    [
        ("q06", "yes", "'yes' is neither true nor false"),
        ("q06", 1, "a value of type int cannot be read as an answer"),
        ("q02", "z", "'z' is not an option here (the options are a, b, c, d)"),
        ("q02", "a, c", "this question takes exactly one option, not 'a, c'"),
        ("q02", 2, "a value of type int cannot be read as an answer"),
        ("q01", "ac", "'ac' is not an option here (the options are a, b, c, d, e)"),
        ("q01", ["a", 3], "a value of type int cannot be read as an answer"),
        ("q03", "minus six", "'minus six' is not a number"),
        ("q03", True, "True is not a number"),
        ("q03", [-6], "[-6] is not a number"),
        ("q03", float("nan"), "nan is not a number"),
        ("q03", None, "not answered yet"),
        ("q04", _UNSET, "not answered yet"),
    ],
)
def test_an_unreadable_answer_is_told_the_accepted_forms(bank, qid, value, reason):
    quiz = bank["frameworks-pre"]
    answer, printed = _read(quiz, qid, value)
    assert answer is None
    kind = quiz.question(qid).type
    english, hebrew = printed.strip().splitlines()
    assert english == f"answer_{qid}: {reason}. Write {FORMS['en'][kind]}."
    assert hebrew.startswith(f"answer_{qid}: ")
    assert hebrew.endswith(f"התשובה צריכה להיות {FORMS['he'][kind]}.")


def _web_answers(q):
    """Every answer worth trying on the web for ``q``: each option alone, pairs and the correct
    set for choice questions; the answer, its edges and a foreseen mistake for numbers."""
    if q.type == "numeric":
        values = [q.answer, q.answer + q.tolerance * 0.9, q.answer - q.tolerance * 1.5]
        return values + [m.value for m in q.mistakes]
    ids = [o.id for o in q.options]
    answers = [(i,) for i in ids] + [tuple(q.correct_ids)]
    if q.type == "multiple":
        answers += [(a, b) for a in ids for b in ids if a < b] + [tuple(ids)]
    return answers


@pytest.mark.parametrize("quiz_id", ["frameworks-pre", "frameworks-post"])
def test_every_test_cell_scores_like_the_web(bank, quiz_id):
    """The test cells' own source, run on letters typed for many web answers, gives the web's
    points on every question of both quizzes (the full nbgrader run below covers one quiz)."""
    quiz = bank[quiz_id]
    rule = quiz.policy.multiple_choice_rule
    checked = 0
    for q in quiz.questions:
        cell = check_source(quiz, q) + "\n" + scoring_source(quiz, q)
        *body, last = cell.splitlines()
        for answer in _web_answers(q):
            namespace: dict = {}
            exec(helper_source(quiz), namespace)
            if q.type == "numeric":
                namespace[f"answer_{q.id}"] = answer
                web = score_question(q, float(answer), rule)
            else:
                typed = notebook_answer(quiz, q, list(answer))
                namespace[f"answer_{q.id}"] = typed if q.type == "multiple" else typed[0]
                web = score_question(q, tuple(sorted(answer)), rule)
            with contextlib.redirect_stdout(io.StringIO()):
                exec("\n".join(body), namespace)
            assert eval(last, namespace) == pytest.approx(web), (q.id, answer)
            checked += 1
    assert checked > 5 * len(quiz.questions)


def test_an_answer_that_breaks_repr_is_reported_not_raised(bank):
    class Hostile:
        def __repr__(self):
            raise RuntimeError("no repr for you")

    answer, printed = _read(bank["frameworks-pre"], "q03", Hostile())
    assert answer is None and "RuntimeError: no repr for you" in printed


def _typed(quiz, answers, style):
    """Web answers (bank option ids) as a student would type them in the notebook: ``plain``
    as the instructions show, ``lenient`` in the other accepted forms."""
    out = {}
    for qid, value in answers.items():
        q = quiz.question(qid)
        if q.type == "numeric":
            out[qid] = value if style == "plain" else str(value).replace(".", ",")
        elif q.type == "true_false":
            out[qid] = (value == ["true"]) if style == "plain" else f" {value[0].upper()} "
        else:
            letters = sorted(notebook_answer(quiz, q, value))
            if q.type == "single":
                out[qid] = letters[0] if style == "plain" else f" {letters[0].upper()} "
            elif style == "plain":
                out[qid] = letters
            else:
                out[qid] = Typed(
                    repr(tuple(letters)) if len(letters) > 2 else repr(" ".join(letters).upper())
                )
    return out


def test_autograded_notebook_scores_like_the_web(bank, client, token, tmp_path):
    quiz = bank["frameworks-pre"]
    course = tmp_path / "course"
    course.mkdir()
    (course / "nbgrader_config.py").write_text(
        "c = get_config()\nc.CourseDirectory.course_id = 'quiz-test'\nc.Execute.timeout = 60\n",
        encoding="utf-8",
    )
    write_assignment(quiz, course / "source")
    run_nbgrader(course, "generate_assignment", "quiz-pre", "--force")
    released = (course / "release" / "quiz-pre" / "quiz-pre.ipynb").read_text(encoding="utf-8")
    assert "BEGIN HIDDEN TESTS" not in released and "_points" not in released
    assert "raise NotImplementedError()" in released and "_quiz_read" in released

    partial = {
        "q01": ["a", "c"],
        "q02": ["b"],
        "q03": -6,
        "q04": 0.5,
        "q06": ["false"],
        "q12": ["a", "b", "c"],
        "q14": ["true"],
        "q16": ["a", "b", "c", "d"],
    }
    correct = {
        q.id: (q.answer if q.type == "numeric" else list(q.correct_ids)) for q in quiz.questions
    }
    students = {  # name: (answers on the web, how they are typed in the notebook)
        "ada": (partial, "plain"),
        "bo": (correct, "plain"),
        "cy": (partial, "lenient"),
        "dee": (correct, "lenient"),
    }
    web = {}
    for student, (answers, style) in students.items():
        r = client.post(
            "/api/quiz/frameworks-pre/attempts",
            headers={"Authorization": f"Bearer {token(student)}"},
            json={"answers": answers},
        )
        assert r.status_code == 201
        web[student] = {q["id"]: q["score"] for q in r.json()["questions"]}
        typed = _typed(quiz, answers, style)
        _submit(course, student, released, typed)
    # unreadable answers: a message each, no traceback, 0 points; unanswered ones likewise
    _submit(course, "eve", released, {"q02": "z", "q06": "yes", "q01": [1, 2], "q03": "three"})
    web["eve"] = {q.id: 0.0 for q in quiz.questions}
    assert 0 < sum(web["ada"].values()) < quiz.max_score
    assert sum(web["bo"].values()) == quiz.max_score
    assert web["cy"] == web["ada"] and web["dee"] == web["bo"]

    run_nbgrader(course, "autograde", "quiz-pre")
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", course_id="quiz-test") as gb:
        for student in web:
            notebook = {
                q.id: gb.find_grade(f"test_{q.id}", "quiz-pre", "quiz-pre", student).score
                for q in quiz.questions
            }
            assert notebook == pytest.approx(web[student]), student
            assert gb.find_submission("quiz-pre", student).score == pytest.approx(
                sum(web[student].values())
            )
    graded = nbformat.read(course / "autograded" / "eve" / "quiz-pre" / "quiz-pre.ipynb", 4)
    said = {}
    for cell in graded.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id", "")
        if grade_id.startswith("test_"):
            assert all(o.output_type != "error" for o in cell.outputs), grade_id
            said[grade_id[5:]] = "".join(o.get("text", "") for o in cell.outputs)
    assert "'z' is not an option here (the options are a, b, c, d)" in said["q02"]
    assert "'yes' is neither true nor false" in said["q06"]
    assert "a value of type int cannot be read" in said["q01"]
    assert "'three' is not a number" in said["q03"]
    assert "not answered yet" in said["q04"] and FORMS["he"]["numeric"] in said["q04"]


def _submit(course, student, released, answers):
    nb = fill_answers(nbformat.reads(released, as_version=4), answers)
    folder = course / "submitted" / student / "quiz-pre"
    folder.mkdir(parents=True)
    nbformat.write(nb, folder / "quiz-pre.ipynb")
