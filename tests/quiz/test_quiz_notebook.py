"""The quizzes as nbgrader assignments: generated files in sync, and real nbgrader autograding
gives the same per-question score as the web for the same answers."""

from __future__ import annotations

import json

import nbformat
import pytest
from nbgrader.api import Gradebook

from grader.course import run_nbgrader
from grader.quiz.notebook import assignment_name, fill_answers, render, write_assignment
from tests.quiz.conftest import ROOT


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


def _as_typed(quiz, answers):
    """Web answers as a student would type them in the notebook."""
    out = {}
    for qid, value in answers.items():
        q = quiz.question(qid)
        out[qid] = value if q.type in ("numeric", "multiple") else value[0]
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
    assert "raise NotImplementedError()" in released

    students = {
        "ada": {
            "q01": ["a", "c"],
            "q02": ["b"],
            "q03": -6,
            "q04": 0.5,
            "q06": ["false"],
            "q12": ["a", "b", "c"],
            "q14": ["true"],
            "q16": ["a", "b", "c", "d"],
        },
        "bo": {
            q.id: (q.answer if q.type == "numeric" else list(q.correct_ids)) for q in quiz.questions
        },
    }
    web = {}
    for student, answers in students.items():
        r = client.post(
            "/api/quiz/frameworks-pre/attempts",
            headers={"Authorization": f"Bearer {token(student)}"},
            json={"answers": answers},
        )
        assert r.status_code == 201
        web[student] = {q["id"]: q["score"] for q in r.json()["questions"]}
        nb = fill_answers(nbformat.reads(released, as_version=4), _as_typed(quiz, answers))
        folder = course / "submitted" / student / "quiz-pre"
        folder.mkdir(parents=True)
        nbformat.write(nb, folder / "quiz-pre.ipynb")
    assert 0 < sum(web["ada"].values()) < quiz.max_score
    run_nbgrader(course, "autograde", "quiz-pre")
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", course_id="quiz-test") as gb:
        for student in students:
            notebook = {
                q.id: gb.find_grade(f"test_{q.id}", "quiz-pre", "quiz-pre", student).score
                for q in quiz.questions
            }
            assert notebook == pytest.approx(web[student]), student
            assert gb.find_submission("quiz-pre", student).score == pytest.approx(
                sum(web[student].values())
            )
