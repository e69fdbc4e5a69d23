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
    absolute_word_tells,
    answer_balance,
    answer_warnings,
    balance_problems,
    length_ranks,
    load_bank,
    load_schema,
    parse_quiz,
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
    assert post.question("q01").correct_ids == ("b", "d")
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


@pytest.mark.parametrize("quiz_id", ["frameworks-pre", "frameworks-post"])
def test_shipped_quizzes_have_no_length_habit_and_no_absolute_word_tell(bank, quiz_id):
    quiz = bank[quiz_id]
    ranks = length_ranks(quiz)
    for lang in quiz.languages:
        shares = {rank: ranks.share(lang, rank) for rank in ranks.ranks[lang]}
        assert max(shares.values()) <= 0.4, (lang, ranks.ranks[lang])
        # the key is not the longest or second-longest in most questions either
        assert shares.get(1, 0) + shares.get(2, 0) <= 0.6, (lang, ranks.ranks[lang])
    assert absolute_word_tells(quiz) == {}
    assert answer_warnings(quiz) == []


def _synthetic(lengths_of_key: list[int], wrong_words: str = "", key_words: str = "") -> dict:
    """A quiz of single-choice questions with four options of lengths 10, 20, 30, 40 (in
    characters, in both languages); the correct one is the option of the given length."""
    questions = []
    for i, key in enumerate(lengths_of_key):
        options = []
        for j, n in enumerate((10, 20, 30, 40)):
            extra = key_words if n == key else wrong_words
            text = (extra + " " if extra else "") + "x" * n
            he = (extra + " " if extra else "") + "א" * n
            options.append(
                {
                    "id": "abcd"[j],
                    "correct": n == key,
                    "text": {"en": text, "he": he},
                    "feedback": {"en": "Because.", "he": "כי."},
                }
            )
        shift = ((10, 20, 30, 40).index(key) - i) % 4  # the key sits at position i % 4
        options = options[shift:] + options[:shift]
        questions.append(
            {
                "id": f"q{i + 1:02d}",
                "type": "single",
                "concept": f"c{i}",
                "points": 1,
                "text": {"en": "Which?", "he": "איזו?"},
                "options": options,
            }
        )
    return {
        "id": "synthetic",
        "languages": ["en", "he"],
        "title": {"en": "Synthetic", "he": "סינתטי"},
        "policy": {"max_attempts": 1, "feedback": "immediate"},
        "questions": questions,
    }


def _check(tmp_path: Path, data: dict, capsys) -> tuple[int, str, str]:
    folder = tmp_path / "bank"
    folder.mkdir(exist_ok=True)
    (folder / "synthetic.yaml").write_text(
        yaml.safe_dump(data, allow_unicode=True), encoding="utf-8"
    )
    status = main(["quiz", "check", "--bank", str(folder)])
    out, err = capsys.readouterr()
    return status, out, err


def test_check_prints_the_length_rank_distribution(tmp_path, capsys):
    status, out, err = _check(tmp_path, _synthetic([10, 20, 30, 40, 40, 30, 20, 10]), capsys)
    assert status == 0 and "warning" not in err
    for lang in ("en", "he"):
        assert (
            f"synthetic ({lang}): correct option by length over 8 single-choice questions: "
            "longest 2, second-longest 2, third-longest 2, 4th-longest 2, tied 0"
        ) in out


def test_check_warns_when_the_key_is_always_longest(tmp_path, capsys):
    status, out, err = _check(tmp_path, _synthetic([40] * 6), capsys)
    assert status == 1  # the uniquely-longest rule fails the check
    assert "longest 6, tied 0" in out or "longest in 6 of 6" in err
    assert (
        "warning: synthetic.yaml: the correct option is the longest option in 6 of 6 "
        "single-choice questions in 'en' (q01, q02, q03, q04, q05, q06; more than 40%)"
    ) in err


def test_check_warns_when_the_key_is_mostly_second_longest(tmp_path, capsys):
    status, out, err = _check(tmp_path, _synthetic([30, 30, 30, 10, 40, 30]), capsys)
    assert status == 0  # a warning, not a failure
    for lang in ("en", "he"):
        assert (
            f"the correct option is the second-longest option in 4 of 6 single-choice questions "
            f"in '{lang}' (q01, q02, q03, q06;"
        ) in err
    assert "longest 1, second-longest 4, 4th-longest 1, tied 0" in out
    assert "2 warning(s)" in err


def test_a_key_as_long_as_another_option_is_tied_not_ranked():
    data = _synthetic([10, 20, 30, 40])
    data["questions"][0]["options"][1]["text"]["en"] = "y" * 10  # as long as the key (10)
    quiz = parse_quiz(data, "synthetic.yaml", load_schema())
    ranks = length_ranks(quiz)
    assert ranks.tied["en"] == ("q01",) and "he" not in ranks.tied
    assert dict(ranks.ranks["en"]) == {1: ("q04",), 2: ("q03",), 3: ("q02",)}
    assert ranks.ranks["he"][4] == ("q01",)


def test_check_warns_about_absolute_words_only_in_wrong_options(tmp_path, capsys):
    data = _synthetic([10, 20, 30, 40], wrong_words="It never")
    for q in data["questions"]:
        for o in q["options"]:
            if not o["correct"]:
                o["text"]["he"] = "תמיד " + o["text"]["he"]
    status, _, err = _check(tmp_path, data, capsys)
    assert status == 0
    assert "the absolute word 'never' (en) appears only in wrong options (q01 b, q01 c" in err
    assert "the absolute word 'תמיד' (he) appears only in wrong options" in err
    # the same words in a correct option too: no tell, no warning
    for q in data["questions"][:1]:
        for o in q["options"]:
            if o["correct"]:
                o["text"]["en"] = "It never " + o["text"]["en"]
                o["text"]["he"] = "ותמיד " + o["text"]["he"]  # with a prefix
    status, _, err = _check(tmp_path, data, capsys)
    assert status == 0 and "absolute word" not in err


def test_absolute_words_are_words_and_true_false_statements_count():
    data = _synthetic([10, 20, 30, 40], wrong_words="Nonetheless overall")  # no "none", "all"
    data["questions"][0]["options"][0]["text"]["en"] = "None is returned"  # Python's None
    data["questions"].append(
        {
            "id": "q05",
            "type": "true_false",
            "concept": "tf",
            "points": 1,
            "text": {"en": "It is always so.", "he": "זה תמיד כך."},
            "answer": False,
            "feedback": {
                "true": {"en": "No.", "he": "לא."},
                "false": {"en": "Right.", "he": "נכון."},
            },
        }
    )
    quiz = parse_quiz(data, "synthetic.yaml", load_schema())
    assert absolute_word_tells(quiz) == {
        "en": {"always": ("q05 statement",)},
        "he": {"תמיד": ("q05 statement",)},
    }
