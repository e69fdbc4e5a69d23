"""The bank: valid, bilingual, covering the lesson, with correct numeric answers."""

from __future__ import annotations

import json
import re
import shutil
from difflib import SequenceMatcher
from pathlib import Path

import pytest
import yaml

from grader.cli import main
from grader.quiz.bank import (
    MAX_LONGEST_SHARE,
    MAX_POSITION_SHARE,
    QuizError,
    answer_balance,
    balance_problems,
    load_bank,
)
from tests.support.quiz import BANK_DIR

HEBREW = re.compile(r"[\u0590-\u05FF]")
FIXTURES = Path(__file__).parent / "fixtures" / "ai4b-quiz-app"
SECTIONS = {
    "why-frameworks",
    "api-levels",
    "pytorch",
    "tensorflow",
    "keras",
    "lightning",
    "overfitting",
    "bias-variance",
}


def all_texts(quiz):
    for q in quiz.questions:
        yield q.id, "text", q.text, True
        for o in q.options:
            if q.type != "true_false":
                yield q.id, f"option {o.id}", o.text, False
            yield q.id, f"feedback {o.id}", o.feedback, True
        for k, t in q.feedback.items():
            yield q.id, f"feedback {k}", t, True
        for m in q.mistakes:
            yield q.id, f"mistake {m.value}", m.feedback, True


def test_bank_has_both_quizzes_with_every_question_type(bank):
    assert set(bank) == {"frameworks-pre", "frameworks-post"}
    for quiz in bank.values():
        assert len(quiz.questions) >= 10
        assert {q.type for q in quiz.questions} == {"single", "multiple", "true_false", "numeric"}
        assert quiz.policy.multiple_choice_rule == "right-minus-wrong"
        assert all(q.concept for q in quiz.questions)
    assert bank["frameworks-pre"].nbgrader_assignment == "quiz-pre"
    assert bank["frameworks-post"].nbgrader_assignment == "quiz-post"


@pytest.mark.parametrize("quiz_id", ["frameworks-pre", "frameworks-post"])
def test_every_text_is_in_english_and_hebrew(bank, quiz_id):
    quiz = bank[quiz_id]
    assert set(quiz.languages) == {"en", "he"}
    assert HEBREW.search(quiz.title["he"]) and HEBREW.search(quiz.description["he"])
    for qid, where, text, must_be_hebrew in all_texts(quiz):
        assert text.get("en", "").strip(), f"{quiz_id} {qid} {where}: no English"
        assert text.get("he", "").strip(), f"{quiz_id} {qid} {where}: no Hebrew"
        if must_be_hebrew:  # option texts may be code; sentences must really be Hebrew
            assert HEBREW.search(text["he"]), f"{quiz_id} {qid} {where}: Hebrew text not Hebrew"


def test_hebrew_uses_the_lessons_terms(bank):
    hebrew = " ".join(t["he"] for quiz in bank.values() for *_, t, _ in all_texts(quiz))
    for term in [
        "טנסור",
        "גרדיאנט",
        "ירידת גרדיאנט",
        "פונקציית האובדן",
        "Overfitting",
        "שגיאת הוולידציה",
        "רגולריזציה",
        "שגיאות הטיה",
        "שגיאות מסוג שונות",
    ]:
        assert term in hebrew, term


def test_hebrew_has_none_of_the_known_slips(bank):
    """Phrases a native instructor would not write: "שגיאות שונות" reads as "various errors",
    the others are grammar slips or the wrong term."""
    hebrew = " ".join(t["he"] for quiz in bank.values() for *_, t, _ in all_texts(quiz))
    for slip in ["שגיאות שונות", "חצי הראשון", "הבחירה הניידת", "משוכפל", "מטרות שלמות"]:
        assert slip not in hebrew, slip


def test_answer_keys_and_feedback_say_what_is_true(bank):
    pre, post = bank["frameworks-pre"], bank["frameworks-post"]
    # a GPU speeds arithmetic up; it is no reason to stop writing backward passes by hand
    assert post.question("q01").correct_ids == ("b",)
    # the gradient points uphill; descent goes against it
    correct = pre.question("q03").feedback["correct"]["en"]
    assert "uphill" in correct and "downhill" not in correct


def test_each_quiz_covers_every_section_and_post_retests_pre(bank):
    pre, post = bank["frameworks-pre"], bank["frameworks-post"]
    for quiz in (pre, post):
        assert {q.section for q in quiz.questions} >= SECTIONS, quiz.id
    assert set(pre.concepts) <= set(post.concepts)
    extra = [q for q in post.questions if q.concept not in pre.concepts]
    assert len(extra) >= 4 and all(q.notebook for q in extra)
    assert {q.notebook for q in post.questions} >= {
        "IntroPyTorch",
        "IntroKerasTF",
        "IntroKeras",
        "Overfitting",
        "LabFrameworks",
    }


def test_numeric_answers_are_mathematically_right(bank):
    pre, post = bank["frameworks-pre"], bank["frameworks-post"]

    def gd(steps, x=0.0, lr=0.1, target=3.0):
        for _ in range(steps):
            x -= lr * 2 * (x - target)
        return x

    assert pre.question("q03").answer == pytest.approx(2 * (0 - 3))
    assert pre.question("q04").answer == pytest.approx(gd(1))
    assert post.question("q04").answer == pytest.approx(gd(3), abs=1e-9)
    assert post.question("q04").answer == pytest.approx(3 * (1 - 0.8**3))

    # c = mean(sqrt(a^2 + b^2)), a = [3, 0], b = [4, 1]: central difference in a[0]
    def c(a0):
        return (((a0**2 + 16) ** 0.5) + ((0 + 1) ** 0.5)) / 2

    h = 1e-6
    assert post.question("q03").answer == pytest.approx((c(3 + h) - c(3 - h)) / (2 * h), 1e-6)
    assert post.question("q05").answer == pytest.approx(3 * 4 * 1.5)  # 3 x d(2x^2)/dx at 1.5


def test_questions_are_our_own_wording(bank):
    theirs = []
    for path in FIXTURES.glob("*/*.json"):
        for block in json.loads(path.read_text(encoding="utf-8")):
            theirs += [q["questionText"].lower() for quiz in block["quizzes"] for q in quiz["quiz"]]
    assert theirs, "fixtures not found"
    for quiz in bank.values():
        for q in quiz.questions:
            ours = q.text["en"].lower()
            best = max(SequenceMatcher(None, ours, t).ratio() for t in theirs)
            assert best < 0.75, (quiz.id, q.id, best)


def _broken_bank(tmp_path: Path, mutate) -> Path:
    folder = tmp_path / "quizzes"
    shutil.copytree(BANK_DIR, folder)
    path = folder / "frameworks-pre.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    mutate(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return folder


def _q(data, qid):
    return next(q for q in data["questions"] if q["id"] == qid)


@pytest.mark.parametrize(
    ("mutate", "qid", "field"),
    [
        (lambda d: _q(d, "q02")["options"][1]["feedback"].pop("he"), "q02", "feedback.he"),
        (lambda d: _q(d, "q03").pop("tolerance"), "q03", "tolerance"),
        (lambda d: _q(d, "q02")["options"][0].update(correct=True), "q02", "options"),
        (lambda d: _q(d, "q05").update(type="essay"), "q05", "type"),
        (lambda d: _q(d, "q06").update(answer="yes"), "q06", "answer"),
        (lambda d: _q(d, "q07").update(id="q01"), "q01", "id"),
    ],
    ids=[
        "missing-hebrew",
        "missing-tolerance",
        "two-correct",
        "bad-type",
        "bad-answer",
        "duplicate-id",
    ],
)
def test_schema_errors_name_file_question_and_field(tmp_path, mutate, qid, field):
    folder = _broken_bank(tmp_path, mutate)
    with pytest.raises(QuizError) as info:
        load_bank(folder)
    message = str(info.value)
    assert "frameworks-pre.yaml" in message
    assert f"question {qid}" in message
    assert field in message


def test_post_quiz_must_retest_every_pre_concept(tmp_path):
    folder = _broken_bank(tmp_path, lambda d: _q(d, "q02").update(concept="brand-new"))
    with pytest.raises(QuizError, match="concept 'brand-new' of frameworks-pre is not re-tested"):
        load_bank(folder)


def test_check_command(tmp_path, capsys):
    assert main(["quiz", "check", "--bank", str(BANK_DIR)]) == 0
    assert "ok  frameworks-pre" in capsys.readouterr().out
    folder = _broken_bank(tmp_path, lambda d: _q(d, "q04")["text"].pop("he"))
    assert main(["quiz", "check", "--bank", str(folder)]) == 1
    err = capsys.readouterr().err
    assert "frameworks-pre.yaml: question q04: field text.he" in err


@pytest.mark.parametrize("quiz_id", ["frameworks-pre", "frameworks-post"])
def test_shipped_quizzes_give_no_answer_away_by_length_or_position(bank, quiz_id):
    quiz = bank[quiz_id]
    balance = answer_balance(quiz)
    assert balance.questions >= 8
    for lang in quiz.languages:
        assert balance.longest_share(lang) <= MAX_LONGEST_SHARE, (lang, balance.longest[lang])
    assert balance.position_share()[1] <= MAX_POSITION_SHARE, balance.positions
    assert balance_problems(quiz) == []


def _correct_first(data):
    for q in data["questions"]:
        if q["type"] == "single":
            q["options"].sort(key=lambda o: not o["correct"])


def _correct_longest(data):
    for q in data["questions"]:
        if q["type"] == "single":
            for o in q["options"]:
                if o["correct"]:
                    o["text"]["en"] += ", which is what the lecture explained in detail"


def test_check_reports_answers_given_away_by_position(tmp_path, capsys):
    folder = _broken_bank(tmp_path, _correct_first)
    assert main(["quiz", "check", "--bank", str(folder)]) == 1
    err = capsys.readouterr().err
    assert (
        "frameworks-pre.yaml: quiz: field options: the correct option is option 1 in 8 of 8" in err
    )
    assert "frameworks-post" not in err and "longest" not in err


def test_check_reports_answers_given_away_by_length(tmp_path, capsys):
    folder = _broken_bank(tmp_path, _correct_longest)
    assert main(["quiz", "check", "--bank", str(folder)]) == 1
    err = capsys.readouterr().err
    assert (
        "frameworks-pre.yaml: quiz: field options.text.en: the correct option is the uniquely"
        in err
    )
    assert "longest in 8 of 8 single-choice questions (q02, q05" in err
    assert "options.text.he" not in err and "option 1 in" not in err
