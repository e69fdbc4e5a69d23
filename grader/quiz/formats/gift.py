"""Moodle GIFT: import (multiple choice, true/false, numeric with tolerance, per-answer
feedback) and export.

GIFT holds one language. Export writes the quiz in one language; a comment line before each
question (``// grader: {"concept": ..., "points": ...}``), which Moodle ignores, carries what
GIFT cannot say, so that export then import gives back the same quiz. Multiple choice is written
with Moodle's weights (each right option +100/R %, each wrong one -100/R %), which is the
right-minus-wrong rule. A numeric question's generic "incorrect" feedback becomes the question's
general feedback (``####``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

from grader.quiz.bank import Question, Quiz, text_in
from grader.quiz.formats import imported_policy

SPECIAL = "~=#{}:"
_ESC = {f"\\{c}": f"\x00{ord(c)}\x00" for c in SPECIAL} | {"\\n": "\n"}


class GiftError(ValueError):
    """GIFT text that cannot be imported; the message names the question."""


def escape(text: str) -> str:
    """Escape GIFT's special characters (and newlines) in a text."""
    out = text.replace("\\", "\\\\")
    for c in SPECIAL:
        out = out.replace(c, "\\" + c)
    return out.replace("\n", "\\n")


def _protect(text: str) -> str:
    text = text.replace("\\\\", "\x00b\x00")
    for esc, placeholder in _ESC.items():
        text = text.replace(esc, placeholder)
    return text


def _restore(text: str) -> str:
    for c in SPECIAL:
        text = text.replace(f"\x00{ord(c)}\x00", c)
    return text.replace("\x00b\x00", "\\").strip()


def _num(x: float) -> str:
    return f"{x:g}" if abs(x) >= 1e-4 or x == 0 else repr(x)


def _weight(w: float) -> str:
    return f"{w:.5f}".rstrip("0").rstrip(".")


def export_question(quiz: Quiz, q: Question, lang: str) -> str:
    """One question in GIFT, preceded by its grader comment line."""
    meta = {"concept": q.concept, "points": q.points}
    if q.section:
        meta["section"] = q.section
    comment = f"// grader: {json.dumps(meta, ensure_ascii=False)}"
    head = f"{comment}\n::{q.id}::{escape(text_in(q.text, lang))}"
    if q.type == "true_false":
        right = next(o for o in q.options if o.correct)
        wrong = next(o for o in q.options if not o.correct)
        key = "TRUE" if right.id == "true" else "FALSE"
        return (
            f"{head} {{{key}#{escape(text_in(wrong.feedback, lang))}"
            f"#{escape(text_in(right.feedback, lang))}}}"
        )
    if q.type == "numeric":
        parts = [
            f"={_num(q.answer or 0.0)}:{_num(q.tolerance)}#"
            f"{escape(text_in(q.feedback['correct'], lang))}"
        ]
        parts += [
            f"=%0%{_num(m.value)}:{_num(m.tolerance)}#{escape(text_in(m.feedback, lang))}"
            for m in q.mistakes
        ]
        general = escape(text_in(q.feedback["incorrect"], lang))
        return f"{head} {{#\n\t" + "\n\t".join(parts) + f"\n\t####{general}\n}}"
    lines = []
    n_right = len(q.correct_ids)
    for o in q.options:
        body = f"{escape(text_in(o.text, lang))}#{escape(text_in(o.feedback, lang))}"
        if q.type == "single":
            lines.append(("=" if o.correct else "~") + body)
        else:
            share = 100.0 / n_right
            lines.append(f"~%{_weight(share if o.correct else -share)}%{body}")
    return f"{head} {{\n\t" + "\n\t".join(lines) + "\n}"


def export_quiz(quiz: Quiz, lang: str = "en") -> str:
    """The whole quiz in GIFT, in one language, under a category named after the quiz."""
    if lang not in quiz.languages:
        raise GiftError(f"quiz {quiz.id} has no language '{lang}'")
    blocks = [f"// {text_in(quiz.title, lang)}", f"$CATEGORY: {quiz.id}"]
    blocks += [export_question(quiz, q, lang) for q in quiz.questions]
    return "\n\n".join(blocks) + "\n"


def _split_blocks(text: str) -> Iterable[tuple[dict[str, Any], str]]:
    meta: dict[str, Any] = {}
    current: list[str] = []
    for line in text.replace("\r\n", "\n").split("\n"):
        stripped = line.strip()
        if stripped.startswith("// grader:"):
            try:
                meta = json.loads(stripped[len("// grader:") :])
            except ValueError as exc:
                raise GiftError(f"bad grader comment {stripped!r}: {exc}") from exc
            continue
        if stripped.startswith("//") or stripped.startswith("$CATEGORY"):
            continue
        if not stripped:
            if current:
                yield meta, "\n".join(current)
                current, meta = [], {}
            continue
        current.append(line)
    if current:
        yield meta, "\n".join(current)


_ANSWER = re.compile(r"([=~])\s*(?:%(-?[0-9.]+)%)?([^=~]*)", re.S)


def _text_and_feedback(chunk: str) -> tuple[str, str]:
    text, _, feedback = chunk.partition("#")
    return _restore(text), _restore(feedback)


def import_question(block: str, meta: dict[str, Any], number: int, lang: str) -> dict[str, Any]:
    """One GIFT question as bank question data."""
    raw = _protect(block)
    qid = f"q{number:02d}"
    match = re.match(r"\s*::(.*?)::(.*)$", raw, re.S)
    if match:
        qid, raw = _restore(match.group(1)), match.group(2)
    label = f"question {number} ({qid})"
    if "{" not in raw or "}" not in raw:
        raise GiftError(f"{label}: no answer block {{...}}")
    stem, _, rest = raw.partition("{")
    answers, _, tail = rest.rpartition("}")
    stem = re.sub(r"^\[(html|moodle|plain|markdown)\]", "", stem.strip())
    text = _restore(f"{stem} {tail}".strip() if tail.strip() else stem)
    qid = qid if re.match(r"^[a-z][a-z0-9_]{0,31}$", qid) else f"q{number:02d}"
    base = {
        "id": qid,
        "concept": meta.get("concept", "imported"),
        "points": meta.get("points", 1),
        "text": {lang: text},
    }
    if meta.get("section"):
        base["section"] = meta["section"]
    body, _, general = answers.partition("####")
    body = body.strip()
    tf = re.match(r"^(T|TRUE|F|FALSE)\s*(?:#(.*?))?(?:#(.*))?$", body, re.S)
    if tf:
        truth = tf.group(1).startswith("T")
        wrong, right = _restore(tf.group(2) or ""), _restore(tf.group(3) or "")
        fb_true, fb_false = (right, wrong) if truth else (wrong, right)
        mark_true, mark_false = ("✓", "✗") if truth else ("✗", "✓")
        feedback = {"true": {lang: fb_true or mark_true}, "false": {lang: fb_false or mark_false}}
        return {**base, "type": "true_false", "answer": truth, "feedback": feedback}
    if body.startswith("#"):
        return _import_numeric(base, body[1:], _restore(general), label, lang)
    if "->" in body:
        raise GiftError(f"{label}: matching questions are not supported")
    parsed = _ANSWER.findall(body)
    if not parsed:
        raise GiftError(f"{label}: short-answer and essay questions are not supported")
    if all(sign == "=" for sign, _, _ in parsed):
        raise GiftError(f"{label}: short-answer questions (only '=' answers) are not supported")
    options: list[dict[str, Any]] = []
    weighted = any(w for _, w, _ in parsed)
    for i, (sign, weight, chunk) in enumerate(parsed):
        option_text, option_feedback = _text_and_feedback(chunk)
        correct = sign == "=" or (weight != "" and float(weight) > 0)
        options.append(
            {
                "id": chr(ord("a") + i),
                "correct": correct,
                "text": {lang: option_text},
                "feedback": {lang: option_feedback or "–"},
            }
        )
    kind = "multiple" if weighted or sum(o["correct"] for o in options) != 1 else "single"
    return {**base, "type": kind, "options": options}


def _import_numeric(
    base: dict[str, Any], body: str, general: str, label: str, lang: str
) -> dict[str, Any]:
    entries = [e for e in re.split(r"(?=(?<![0-9eE])=)", body.strip()) if e.strip()]
    answer = None
    mistakes = []
    correct_fb = ""
    for entry in entries:
        entry = entry.strip().lstrip("=")
        weight = 100.0
        m = re.match(r"%(-?[0-9.]+)%(.*)$", entry, re.S)
        if m:
            weight, entry = float(m.group(1)), m.group(2)
        value_part, _, feedback = entry.partition("#")
        value_part = _restore(value_part)
        try:
            if ".." in value_part:
                lo, hi = (float(x) for x in value_part.split(".."))
                value, tol = (lo + hi) / 2, (hi - lo) / 2
            else:
                v, _, t = value_part.partition(":")
                value, tol = float(v), float(t or 0)
        except ValueError:
            raise GiftError(f"{label}: bad numeric answer {value_part!r}") from None
        if weight >= 100 and answer is None:
            answer, tolerance, correct_fb = value, tol, _restore(feedback)
        else:
            mistakes.append(
                {"value": value, "tolerance": tol, "feedback": {lang: _restore(feedback) or "✗"}}
            )
    if answer is None:
        raise GiftError(f"{label}: numeric question without a 100% answer")
    out = {
        **base,
        "type": "numeric",
        "answer": answer,
        "tolerance": tolerance,
        "feedback": {"correct": {lang: correct_fb or "✓"}, "incorrect": {lang: general or "✗"}},
    }
    if mistakes:
        out["common_mistakes"] = mistakes
    return out


def import_quiz(
    text: str, quiz_id: str, lang: str = "en", title: str | None = None
) -> dict[str, Any]:
    """A GIFT file as bank quiz data (validate it with ``bank.parse_quiz``)."""
    questions = [
        import_question(block, meta, n, lang)
        for n, (meta, block) in enumerate(_split_blocks(text), 1)
    ]
    if not questions:
        raise GiftError("no questions found")
    heading = re.match(r"\s*//\s*(.+)", text)
    return {
        "id": quiz_id,
        "kind": "other",
        "languages": [lang],
        "title": {lang: title or (heading.group(1).strip() if heading else quiz_id)},
        "policy": imported_policy(),
        "questions": questions,
    }
