"""Import of the AI-For-Beginners quiz-app JSON; GIFT import, export and round trip."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from grader.cli import main
from grader.quiz.bank import load_schema, parse_quiz
from grader.quiz.formats import ai4b, gift

FIXTURES = Path(__file__).parent / "fixtures" / "ai4b-quiz-app"


def test_every_ai4b_fixture_imports_and_locales_merge():
    files = sorted(FIXTURES.glob("*/*.json"))
    assert len(files) == 4
    result = ai4b.import_files(files)
    quizzes = {q["id"]: parse_quiz(q, q["id"], load_schema()) for q in result.quizzes}
    assert set(quizzes) == {"ai4b-104", "ai4b-204", "ai4b-105", "ai4b-205"}
    pre = quizzes["ai4b-105"]
    assert pre.languages == ("en", "th", "tr") and pre.kind == "pre" and pre.pair == "ai4b-205"
    assert len(pre.questions) == 3 and all(len(q.correct_ids) == 1 for q in pre.questions)
    assert pre.questions[0].options[0].text["th"] == "True"  # the Thai file's quirk, kept
    assert pre.questions[1].correct_ids == ("b",)
    post = quizzes["ai4b-205"]  # th and tr lack the fourth question: only English is complete
    assert post.languages == ("en",) and len(post.questions) == 4
    assert "th" in post.questions[0].text
    assert any("locale th lacks question 4" in n for n in result.notes)
    assert any("title in tr" in n for n in result.notes)


def test_import_ai4b_command_writes_valid_yaml(tmp_path, capsys):
    files = [str(p) for p in sorted(FIXTURES.glob("*/lesson-5.json"))]
    assert main(["quiz", "import-ai4b", *files, "--out", str(tmp_path)]) == 0
    data = yaml.safe_load((tmp_path / "ai4b-105.yaml").read_text(encoding="utf-8"))
    assert data["languages"] == ["en", "th", "tr"]
    assert main(["quiz", "import-ai4b", str(tmp_path / "nothing.json")]) == 2


def test_ai4b_rejects_malformed_files(tmp_path):
    bad = tmp_path / "en" / "lesson-1.json"
    bad.parent.mkdir()
    bad.write_text('[{"quizzes": [{"id": 1, "quiz": [{"answerOptions": []}]}]}]')
    with pytest.raises(ai4b.Ai4bError, match="quiz 1 question 1 is malformed"):
        ai4b.import_files([bad])


def test_ai4b_reads_is_correct_written_as_text(tmp_path):
    """Some translations write ``"isCorrect": "false"``: a string, true to ``bool``. It is
    read as written, and anything but true or false is refused, naming the option."""
    quiz = {
        "id": 1,
        "title": "t",
        "quiz": [
            {
                "questionText": "q",
                "answerOptions": [
                    {"answerText": "right", "isCorrect": "true"},
                    {"answerText": "wrong", "isCorrect": "false"},
                    {"answerText": "also wrong", "isCorrect": "False"},
                ],
            }
        ],
    }
    path = tmp_path / "es" / "lesson-1.json"
    path.parent.mkdir()
    path.write_text(json.dumps([{"quizzes": [quiz]}]), encoding="utf-8")
    (question,) = ai4b.import_files([path]).quizzes[0]["questions"]
    assert [o["correct"] for o in question["options"]] == [True, False, False]
    quiz["quiz"][0]["answerOptions"][1]["isCorrect"] = "maybe"
    path.write_text(json.dumps([{"quizzes": [quiz]}]), encoding="utf-8")
    with pytest.raises(ai4b.Ai4bError, match="question 1 option 2: isCorrect is neither"):
        ai4b.import_files([path])


SAMPLE = r"""// A sample in Moodle's GIFT
$CATEGORY: sample

::tf1:: Gradients accumulate in PyTorch until zeroed. {TRUE#No, they do.#Yes.}

::mc1:: Pick the framework of Keras. {
  =TensorFlow#Right.
  ~Lightning#No: that is PyTorch's.
}

::multi:: Which cause overfitting? {
  ~%50%Too little data#Yes
  ~%50%Noise#Yes
  ~%-50%More validation data#No
}

::num1:: The gradient of (x-3)^2 at 0 is {#=-6:0.001#Right =%0%6:0#Sign! ####Use 2(x - 3).}

::range:: A number between 1 and 3: {#1..3}

::esc:: What does a\: b \{c\} mean? {=yes\#1#ok ~no#nope}
"""


def test_gift_import_of_each_supported_type():
    quiz = parse_quiz(gift.import_quiz(SAMPLE, "sample"), "sample", load_schema())
    tf, mc, multi, num, rng, esc = quiz.questions
    assert (tf.type, tf.correct_ids) == ("true_false", ("true",))
    assert tf.options[0].feedback["en"] == "Yes." and tf.options[1].feedback["en"] == "No, they do."
    assert (mc.type, mc.correct_ids, mc.options[1].feedback["en"]) == (
        "single",
        ("a",),
        "No: that is PyTorch's.",
    )
    assert (multi.type, multi.correct_ids) == ("multiple", ("a", "b"))
    assert (num.type, num.answer, num.tolerance) == ("numeric", -6.0, 0.001)
    assert num.mistakes[0].value == 6.0 and num.mistakes[0].feedback["en"] == "Sign!"
    assert num.feedback["incorrect"]["en"] == "Use 2(x - 3)."
    assert (rng.answer, rng.tolerance) == (2.0, 1.0)
    assert esc.text["en"] == "What does a: b {c} mean?"
    assert esc.options[0].text["en"] == "yes#1"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("::m:: Match {=a -> 1 =b -> 2}", "matching"),
        ("::s:: Short {=one =uno}", "short-answer"),
        ("::e:: Essay {}", "not supported"),
        ("no braces", "no answer block"),
    ],
)
def test_gift_refuses_unsupported_questions(text, message):
    with pytest.raises(gift.GiftError, match=message):
        gift.import_quiz(text, "x")


@pytest.mark.parametrize("lang", ["en", "he"])
@pytest.mark.parametrize("quiz_id", ["frameworks-pre", "frameworks-post"])
def test_gift_round_trip_of_the_bank(bank, quiz_id, lang):
    quiz = bank[quiz_id]
    back = parse_quiz(
        gift.import_quiz(gift.export_quiz(quiz, lang), quiz_id, lang), "x", load_schema()
    )
    assert len(back.questions) == len(quiz.questions)
    for a, b in zip(quiz.questions, back.questions, strict=True):
        assert (a.id, a.type, a.concept, a.points) == (b.id, b.type, b.concept, b.points)
        assert a.text[lang] == b.text[lang]
        assert a.correct_ids == b.correct_ids
        assert [(o.text[lang], o.feedback[lang]) for o in a.options] == [
            (o.text[lang], o.feedback[lang]) for o in b.options
        ]
        assert (a.answer, a.tolerance) == (b.answer, b.tolerance)
        assert [(m.value, m.feedback[lang]) for m in a.mistakes] == [
            (m.value, m.feedback[lang]) for m in b.mistakes
        ]
        assert {k: v[lang] for k, v in a.feedback.items()} == {
            k: v[lang] for k, v in b.feedback.items()
        }


def test_gift_commands(tmp_path, capsys):
    out = tmp_path / "pre.gift"
    assert main(["quiz", "export-gift", "frameworks-pre", "--lang", "he", "--out", str(out)]) == 0
    assert "::q01::" in out.read_text(encoding="utf-8")
    assert (
        main(
            [
                "quiz",
                "import-gift",
                str(out),
                "--id",
                "copy",
                "--lang",
                "he",
                "--out",
                str(tmp_path),
            ]
        )
        == 0
    )
    data = yaml.safe_load((tmp_path / "copy.yaml").read_text(encoding="utf-8"))
    assert data["languages"] == ["he"] and len(data["questions"]) == 16
    assert main(["quiz", "export-gift", "frameworks-pre", "--lang", "fr"]) == 2
