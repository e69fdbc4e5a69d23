"""The quiz bank: load YAML quiz files, validate them, and expose them as immutable objects.

Validation has two layers: the JSON Schema ``grader/quiz/quiz.schema.json`` (shapes and types)
and the rules a schema cannot say (unique ids, exactly one correct option for a single choice,
every text in every declared language, the post quiz re-testing the pre quiz's concepts).
Every problem names the file, the question id and the field.
"""

from __future__ import annotations

import importlib.resources
import json
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema
import yaml

SCHEMA_NAME = "quiz.schema.json"
QUESTION_TYPES = ("single", "multiple", "true_false", "numeric")

#: Option texts of a true/false question, per language (English for languages not listed).
TRUE_FALSE_TEXT: Mapping[str, Mapping[str, str]] = {
    "true": {"en": "True", "he": "נכון"},
    "false": {"en": "False", "he": "לא נכון"},
}

Text = Mapping[str, str]


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a quiz file: where (file, question, field) and what."""

    file: str
    question: str | None
    field: str
    message: str

    def __str__(self) -> str:
        where = f"question {self.question}" if self.question else "quiz"
        return f"{self.file}: {where}: field {self.field}: {self.message}"


class QuizError(ValueError):
    """A quiz file (or the bank) is invalid; ``problems`` lists every problem found."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


@dataclass(frozen=True)
class Option:
    """One choice of a single, multiple or true/false question."""

    id: str
    correct: bool
    text: Text
    feedback: Text


@dataclass(frozen=True)
class Mistake:
    """A foreseen wrong numeric answer with its own feedback."""

    value: float
    tolerance: float
    feedback: Text


@dataclass(frozen=True)
class Question:
    """One question; ``options`` is empty for a numeric question."""

    id: str
    type: str
    concept: str
    points: float
    text: Text
    options: tuple[Option, ...] = ()
    answer: float | None = None
    tolerance: float = 0.0
    mistakes: tuple[Mistake, ...] = ()
    feedback: Mapping[str, Text] = field(default_factory=dict)
    section: str | None = None
    notebook: str | None = None

    @property
    def correct_ids(self) -> tuple[str, ...]:
        """Ids of the correct options (empty for numeric questions)."""
        return tuple(o.id for o in self.options if o.correct)

    def option(self, option_id: str) -> Option | None:
        """The option with this id, or None."""
        return next((o for o in self.options if o.id == option_id), None)


@dataclass(frozen=True)
class Policy:
    """How a quiz is taken: attempts, when feedback shows, which attempt counts, partial credit."""

    max_attempts: int = 1
    feedback: str = "immediate"
    grading: str = "best"
    shuffle_options: bool = True
    multiple_choice_rule: str = "right-minus-wrong"


@dataclass(frozen=True)
class Quiz:
    """One quiz of the bank."""

    id: str
    languages: tuple[str, ...]
    title: Text
    policy: Policy
    questions: tuple[Question, ...]
    description: Text = field(default_factory=dict)
    kind: str = "other"
    pair: str | None = None
    nbgrader_assignment: str | None = None
    source: str = "<memory>"

    @property
    def max_score(self) -> float:
        """The sum of the questions' points."""
        return float(sum(q.points for q in self.questions))

    def question(self, question_id: str) -> Question | None:
        """The question with this id, or None."""
        return next((q for q in self.questions if q.id == question_id), None)

    @property
    def concepts(self) -> tuple[str, ...]:
        """The concepts this quiz tests, in order of first appearance."""
        return tuple(dict.fromkeys(q.concept for q in self.questions))


def default_bank_dir() -> Path:
    """The bank folder: ``$GRADER_QUIZ_BANK``, else ``quizzes/`` of the working folder, else
    the ``quizzes/`` folder of the course this package lives in."""
    env = os.environ.get("GRADER_QUIZ_BANK")
    if env:
        return Path(env)
    here = Path.cwd() / "quizzes"
    if here.is_dir():
        return here
    return Path(__file__).resolve().parents[2] / "quizzes"


def load_schema(bank_dir: Path | None = None) -> dict[str, Any]:
    """The quiz JSON Schema: ``bank_dir``'s own if it has one, else the one in this package."""
    if bank_dir is not None and (bank_dir / SCHEMA_NAME).is_file():
        return json.loads((bank_dir / SCHEMA_NAME).read_text(encoding="utf-8"))
    packaged = importlib.resources.files("grader.quiz").joinpath(SCHEMA_NAME)
    return json.loads(packaged.read_text(encoding="utf-8"))


def _question_label(data: Any, path: list[Any]) -> tuple[str | None, list[Any]]:
    """Split a JSON path into (question id, path inside the question)."""
    if len(path) >= 2 and path[0] == "questions" and isinstance(path[1], int):
        questions = data.get("questions") if isinstance(data, dict) else None
        qid = None
        if isinstance(questions, list) and path[1] < len(questions):
            item = questions[path[1]]
            if isinstance(item, dict) and isinstance(item.get("id"), str):
                qid = item["id"]
        return qid or f"#{path[1] + 1}", path[2:]
    return None, path


def _field_name(path: Iterable[Any]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def _schema_problems(file: str, data: Any, schema: Mapping[str, Any]) -> list[Problem]:
    validator = jsonschema.Draft202012Validator(schema)
    problems: list[Problem] = []
    seen: set[tuple[Any, ...]] = set()
    for error in sorted(validator.iter_errors(data), key=lambda e: list(map(str, e.path))):
        leaves = [error]
        if error.context:  # if/then and allOf: report the innermost errors
            leaves = [e for e in error.context if not e.context] or leaves
        for leaf in leaves:
            path = list(leaf.absolute_path)
            if leaf.validator == "required" and isinstance(leaf.validator_value, list):
                instance = leaf.instance if isinstance(leaf.instance, dict) else {}
                missing = [k for k in leaf.validator_value if k not in instance]
                path = [*path, missing[0]] if missing else path
            qid, inner = _question_label(data, path)
            key = (qid, tuple(inner), leaf.message)
            if key in seen:
                continue
            seen.add(key)
            problems.append(Problem(file, qid, _field_name(inner), leaf.message))
    return problems


def _text(raw: Mapping[str, str] | None) -> dict[str, str]:
    return {str(k): str(v) for k, v in (raw or {}).items()}


def _build(data: Mapping[str, Any], file: str) -> Quiz:
    questions = []
    for q in data["questions"]:
        kind = q["type"]
        options: tuple[Option, ...] = ()
        feedback: dict[str, Text] = {}
        answer = None
        if kind in ("single", "multiple"):
            options = tuple(
                Option(o["id"], bool(o["correct"]), _text(o["text"]), _text(o["feedback"]))
                for o in q["options"]
            )
        elif kind == "true_false":
            answer_true = bool(q["answer"])
            options = tuple(
                Option(
                    key,
                    (key == "true") == answer_true,
                    {
                        lang: TRUE_FALSE_TEXT[key].get(lang, TRUE_FALSE_TEXT[key]["en"])
                        for lang in data["languages"]
                    },
                    _text(q["feedback"][key]),
                )
                for key in ("true", "false")
            )
        else:
            answer = float(q["answer"])
            feedback = {k: _text(v) for k, v in q["feedback"].items()}
        questions.append(
            Question(
                id=q["id"],
                type=kind,
                concept=q["concept"],
                points=float(q["points"]),
                text=_text(q["text"]),
                options=options,
                answer=answer,
                tolerance=float(q.get("tolerance", 0.0)),
                mistakes=tuple(
                    Mistake(float(m["value"]), float(m.get("tolerance", 0.0)), _text(m["feedback"]))
                    for m in q.get("common_mistakes", ())
                ),
                feedback=feedback,
                section=q.get("section"),
                notebook=q.get("notebook"),
            )
        )
    pol = data["policy"]
    return Quiz(
        id=data["id"],
        languages=tuple(data["languages"]),
        title=_text(data["title"]),
        description=_text(data.get("description")),
        policy=Policy(
            max_attempts=int(pol["max_attempts"]),
            feedback=pol["feedback"],
            grading=pol.get("grading", "best"),
            shuffle_options=bool(pol.get("shuffle_options", True)),
            multiple_choice_rule=pol.get("multiple_choice_rule", "right-minus-wrong"),
        ),
        questions=tuple(questions),
        kind=data.get("kind", "other"),
        pair=data.get("pair"),
        nbgrader_assignment=data.get("nbgrader_assignment"),
        source=file,
    )


def _texts_of(q: Question) -> Iterable[tuple[str, Text]]:
    yield "text", q.text
    for o in q.options:
        if q.type != "true_false":
            yield f"options[{o.id}].text", o.text
        yield (
            f"options[{o.id}].feedback" if q.type != "true_false" else f"feedback.{o.id}",
            (o.feedback),
        )
    for key, text in q.feedback.items():
        yield f"feedback.{key}", text
    for i, m in enumerate(q.mistakes):
        yield f"common_mistakes[{i}].feedback", m.feedback


def semantic_problems(quiz: Quiz) -> list[Problem]:
    """Rules beyond the schema: unique ids, correct-option counts, every declared language."""
    f = quiz.source
    problems: list[Problem] = []
    for name, text in (("title", quiz.title), ("description", quiz.description)):
        if text or name == "title":
            problems += [
                Problem(f, None, f"{name}.{lang}", f"missing text in language '{lang}'")
                for lang in quiz.languages
                if not text.get(lang, "").strip()
            ]
    seen: set[str] = set()
    for q in quiz.questions:
        if q.id in seen:
            problems.append(Problem(f, q.id, "id", "duplicate question id"))
        seen.add(q.id)
        ids = [o.id for o in q.options]
        for dup in sorted({i for i in ids if ids.count(i) > 1}):
            problems.append(Problem(f, q.id, f"options[{dup}].id", "duplicate option id"))
        ncorrect = len(q.correct_ids)
        if q.type == "single" and ncorrect != 1:
            problems.append(
                Problem(
                    f,
                    q.id,
                    "options",
                    f"a single choice needs exactly 1 correct option, has {ncorrect}",
                )
            )
        if q.type == "multiple" and ncorrect < 1:
            problems.append(Problem(f, q.id, "options", "needs at least 1 correct option"))
        for i, m in enumerate(q.mistakes):
            if q.answer is not None and abs(m.value - q.answer) <= max(m.tolerance, q.tolerance):
                problems.append(
                    Problem(f, q.id, f"common_mistakes[{i}].value", "overlaps the right answer")
                )
        for name, text in _texts_of(q):
            for lang in quiz.languages:
                if not text.get(lang, "").strip():
                    problems.append(
                        Problem(f, q.id, f"{name}.{lang}", f"missing text in language '{lang}'")
                    )
    return problems


def parse_quiz(data: Any, file: str, schema: Mapping[str, Any]) -> Quiz:
    """Validate already-parsed quiz data and build the Quiz; raise QuizError listing problems."""
    problems = _schema_problems(file, data, schema)
    if problems:
        raise QuizError(problems)
    quiz = _build(data, file)
    problems = semantic_problems(quiz)
    if problems:
        raise QuizError(problems)
    return quiz


def load_quiz(path: Path, schema: Mapping[str, Any] | None = None) -> Quiz:
    """Load and validate one quiz file (YAML or JSON)."""
    file = path.name if path.parent.name != "quizzes" else f"quizzes/{path.name}"
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise QuizError([Problem(file, None, "(syntax)", f"not valid YAML: {exc}")]) from exc
    quiz = parse_quiz(data, file, schema if schema is not None else load_schema(path.parent))
    if path.stem != quiz.id:
        raise QuizError([Problem(file, None, "id", f"quiz id '{quiz.id}' differs from file name")])
    return quiz


def bank_problems(quizzes: Mapping[str, Quiz]) -> list[Problem]:
    """Rules across quizzes: a post quiz re-tests every concept of its pre quiz."""
    problems = []
    for quiz in quizzes.values():
        if quiz.kind != "post" or not quiz.pair:
            continue
        pre = quizzes.get(quiz.pair)
        if pre is None:
            problems.append(Problem(quiz.source, None, "pair", f"no quiz '{quiz.pair}' in bank"))
            continue
        for concept in pre.concepts:
            if concept not in quiz.concepts:
                problems.append(
                    Problem(
                        quiz.source,
                        None,
                        "questions",
                        f"concept '{concept}' of {pre.id} is not re-tested",
                    )
                )
    return problems


def load_bank(bank_dir: Path | None = None) -> dict[str, Quiz]:
    """Load and validate every ``*.yaml`` quiz of the bank; raise QuizError with all problems."""
    folder = bank_dir or default_bank_dir()
    schema = load_schema(folder)
    quizzes: dict[str, Quiz] = {}
    problems: list[Problem] = []
    for path in sorted(folder.glob("*.yaml")):
        try:
            quiz = load_quiz(path, schema)
        except QuizError as exc:
            problems += exc.problems
            continue
        quizzes[quiz.id] = quiz
    problems += bank_problems(quizzes)
    if problems:
        raise QuizError(problems)
    return quizzes


def text_in(text: Text, lang: str) -> str:
    """The text in ``lang``, falling back to English, then to any language present."""
    return text.get(lang) or text.get("en") or next(iter(text.values()), "")


#: ``grader quiz check`` reports a quiz whose single-choice questions give their answer away:
#: the correct option is the uniquely longest in more than MAX_LONGEST_SHARE of them (in any
#: language), or sits at one position of the file order in more than MAX_POSITION_SHARE of them.
#: With three or four options, chance alone puts the correct one at a given place about a third or
#: a quarter of the time; 0.4 leaves room for chance and still catches a habit of the author.
MAX_LONGEST_SHARE = 0.4
MAX_POSITION_SHARE = 0.4
#: Fewer single-choice questions than this say nothing about a habit; the check skips the quiz.
MIN_BALANCE_QUESTIONS = 4


@dataclass(frozen=True)
class Balance:
    """Where the correct option of each single-choice question sits: which questions have it as
    the uniquely longest option (per language), and which have it at each position of the file
    order (0 = first)."""

    questions: int
    longest: Mapping[str, tuple[str, ...]]
    positions: Mapping[int, tuple[str, ...]]

    def longest_share(self, lang: str) -> float:
        """The share of questions whose correct option is the uniquely longest in ``lang``."""
        return len(self.longest.get(lang, ())) / self.questions if self.questions else 0.0

    def position_share(self) -> tuple[int, float]:
        """The most common position of the correct option (0 = first) and its share."""
        if not self.questions:
            return 0, 0.0
        position, ids = max(self.positions.items(), key=lambda item: (len(item[1]), -item[0]))
        return position, len(ids) / self.questions


def _uniquely_longest(q: Question, lang: str) -> bool:
    lengths = [len(text_in(o.text, lang).strip()) for o in q.options]
    best = max(lengths)
    correct = next(i for i, o in enumerate(q.options) if o.correct)
    return lengths[correct] == best and lengths.count(best) == 1


def answer_balance(quiz: Quiz) -> Balance:
    """Find, over the quiz's single-choice questions, those whose correct option is the uniquely
    longest (per language) and those whose correct option is at each position of the file order."""
    single = [q for q in quiz.questions if q.type == "single" and len(q.correct_ids) == 1]
    longest = {
        lang: tuple(q.id for q in single if _uniquely_longest(q, lang)) for lang in quiz.languages
    }
    positions: dict[int, tuple[str, ...]] = {}
    for q in single:
        index = next(i for i, o in enumerate(q.options) if o.correct)
        positions[index] = (*positions.get(index, ()), q.id)
    return Balance(len(single), longest, positions)


def balance_problems(quiz: Quiz) -> list[Problem]:
    """Problems when the correct options of a quiz are recognisable by length or by position.

    Not part of loading (an imported quiz stays usable); ``grader quiz check`` reports them."""
    balance = answer_balance(quiz)
    if balance.questions < MIN_BALANCE_QUESTIONS:
        return []
    problems = []
    for lang in quiz.languages:
        if balance.longest_share(lang) > MAX_LONGEST_SHARE:
            ids = balance.longest[lang]
            problems.append(
                Problem(
                    quiz.source,
                    None,
                    f"options.text.{lang}",
                    f"the correct option is the uniquely longest in {len(ids)} of "
                    f"{balance.questions} single-choice questions ({', '.join(ids)}; at most "
                    f"{MAX_LONGEST_SHARE:.0%} allowed): shorten it or lengthen a wrong one",
                )
            )
    position, share = balance.position_share()
    if share > MAX_POSITION_SHARE:
        ids = balance.positions[position]
        problems.append(
            Problem(
                quiz.source,
                None,
                "options",
                f"the correct option is option {position + 1} in {len(ids)} of "
                f"{balance.questions} single-choice questions ({', '.join(ids)}; at most "
                f"{MAX_POSITION_SHARE:.0%} allowed): move some of them",
            )
        )
    return problems


#: ``grader quiz check`` warns when the correct option of a quiz's single-choice questions holds
#: one length rank (longest, second-longest, ...) in more than this share of them, in a language.
#: A warning, not a failure: a habit (the key is nearly always the second-longest) is a tell even
#: when the key is rarely the very longest.
MAX_RANK_SHARE = 0.4

#: Words that make a statement absolute, per language. Test-wise students learn that options with
#: them are usually wrong; ``grader quiz check`` warns about a word found only in wrong options.
#: Hebrew words also match with the prefixes ו-, ש-, וש-; English words in lower case or
#: capitalized, except that "None" is Python's constant, not the word.
ABSOLUTE_WORDS: Mapping[str, tuple[str, ...]] = {
    "en": ("always", "never", "only", "none", "nothing", "every", "all", "cannot"),
    "he": ("תמיד", "אף פעם", "לעולם", "רק", "אף אחד", "אף אחת", "שום", "בכלל", "אי אפשר"),
}


@dataclass(frozen=True)
class LengthRanks:
    """The length rank of the correct option of each single-choice question, per language:
    rank 1 is the longest option, 2 the second-longest...; a correct option as long as another
    option is ``tied`` and has no rank (its length tells nothing)."""

    questions: int
    ranks: Mapping[str, Mapping[int, tuple[str, ...]]]
    tied: Mapping[str, tuple[str, ...]]

    def share(self, lang: str, rank: int) -> float:
        """The share of single-choice questions whose correct option has this rank in ``lang``."""
        ids = self.ranks.get(lang, {}).get(rank, ())
        return len(ids) / self.questions if self.questions else 0.0


_RANK_NAMES = {1: "longest", 2: "second-longest", 3: "third-longest"}


def rank_name(rank: int) -> str:
    """'longest', 'second-longest', 'third-longest', then '4th-longest' and so on."""
    return _RANK_NAMES.get(rank, f"{rank}th-longest")


def length_ranks(quiz: Quiz) -> LengthRanks:
    """Where the correct option of each single-choice question ranks by length, per language."""
    single = [q for q in quiz.questions if q.type == "single" and len(q.correct_ids) == 1]
    ranks: dict[str, dict[int, tuple[str, ...]]] = {}
    tied: dict[str, tuple[str, ...]] = {}
    for lang in quiz.languages:
        per_rank: dict[int, tuple[str, ...]] = {}
        for q in single:
            lengths = [len(text_in(o.text, lang).strip()) for o in q.options]
            key = lengths[next(i for i, o in enumerate(q.options) if o.correct)]
            if lengths.count(key) > 1:
                tied[lang] = (*tied.get(lang, ()), q.id)
                continue
            rank = 1 + sum(1 for n in lengths if n > key)
            per_rank[rank] = (*per_rank.get(rank, ()), q.id)
        ranks[lang] = dict(sorted(per_rank.items()))
    return LengthRanks(len(single), ranks, tied)


def rank_report(quiz: Quiz) -> list[str]:
    """One line per language: how often the correct option is the longest, the second-longest...
    e.g. ``frameworks-pre (en): correct option by length over 8 single-choice questions:
    longest 2, second-longest 3, third-longest 2, tied 1``."""
    ranks = length_ranks(quiz)
    lines = []
    for lang in quiz.languages:
        parts = [f"{rank_name(r)} {len(ids)}" for r, ids in ranks.ranks.get(lang, {}).items()]
        parts.append(f"tied {len(ranks.tied.get(lang, ()))}")
        lines.append(
            f"{quiz.id} ({lang}): correct option by length over {ranks.questions} single-choice "
            f"questions: {', '.join(parts)}"
        )
    return lines


def _absolute_pattern(word: str, lang: str) -> re.Pattern[str]:
    forms = [word] if lang != "en" or word == "none" else [word, word.capitalize()]
    body = "|".join(r"\s+".join(re.escape(w) for w in form.split()) for form in forms)
    prefix = "(?:ו|ש|וש)?" if lang == "he" else ""
    return re.compile(rf"(?<!\w){prefix}(?:{body})(?!\w)")


def _judged_texts(quiz: Quiz) -> Iterable[tuple[str, bool, Text]]:
    """(where, correct, text) of every text that a student judges true or false: the options of
    choice questions, and the statement of a true/false question (correct when it is true)."""
    for q in quiz.questions:
        if q.type in ("single", "multiple"):
            for o in q.options:
                yield f"{q.id} {o.id}", o.correct, o.text
        elif q.type == "true_false":
            yield f"{q.id} statement", q.correct_ids == ("true",), q.text


def absolute_word_tells(quiz: Quiz) -> dict[str, dict[str, tuple[str, ...]]]:
    """Per language, the absolute words (``ABSOLUTE_WORDS``) found in wrong options only, each
    with where it is (``"q17 a"``; a false true/false statement counts as a wrong option)."""
    tells: dict[str, dict[str, tuple[str, ...]]] = {}
    judged = list(_judged_texts(quiz))
    for lang in quiz.languages:
        for word in ABSOLUTE_WORDS.get(lang, ()):
            pattern = _absolute_pattern(word, lang)
            hits = [(where, ok) for where, ok, text in judged if pattern.search(text.get(lang, ""))]
            if hits and not any(ok for _, ok in hits):
                tells.setdefault(lang, {})[word] = tuple(where for where, _ in hits)
    return tells


def answer_warnings(quiz: Quiz) -> list[str]:
    """Warnings of ``grader quiz check`` (they do not fail it): the correct option holds one
    length rank too often, or an absolute word appears only in wrong options."""
    warnings = []
    ranks = length_ranks(quiz)
    if ranks.questions >= MIN_BALANCE_QUESTIONS:
        for lang in quiz.languages:
            for rank, ids in ranks.ranks.get(lang, {}).items():
                if ranks.share(lang, rank) > MAX_RANK_SHARE:
                    warnings.append(
                        f"{quiz.source}: the correct option is the {rank_name(rank)} option in "
                        f"{len(ids)} of {ranks.questions} single-choice questions in '{lang}' "
                        f"({', '.join(ids)}; more than {MAX_RANK_SHARE:.0%}): a student can guess "
                        "by length; rewrite options so that lengths vary"
                    )
    for lang, words in absolute_word_tells(quiz).items():
        for word, places in words.items():
            warnings.append(
                f"{quiz.source}: the absolute word '{word}' ({lang}) appears only in wrong "
                f"options ({', '.join(places)}): a student can rule them out by it; use it in a "
                "correct option too, or reword"
            )
    return warnings
