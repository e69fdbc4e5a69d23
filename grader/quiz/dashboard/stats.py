"""Item statistics and learning gain, computed from stored attempts.

- Each student counts with one attempt per quiz, chosen by the quiz's ``grading`` policy
  (first, last or best; ``grader.quiz.policy``).
- Facility of a question: the mean fraction of its points earned (1 = everyone right).
- Discrimination: the corrected item-total correlation, Pearson's r between the item's score and
  the rest of the quiz's score over students (None with fewer than 3 students or no variance).
- Normalized gain (Hake): g = (post - pre) / (1 - pre) on fractions of the maximum, per student
  and per concept (class averages of the students who took both quizzes); None when pre = 1.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from grader.quiz.bank import Quiz, text_in
from grader.quiz.policy import counted_attempts
from grader.quiz.store import Attempt, Store

BINS = 10


def pearson(xs: Sequence[float], ys: Sequence[float]) -> float | None:
    """Pearson's correlation coefficient, None if undefined (n < 3 or a constant series)."""
    n = len(xs)
    if n < 3 or n != len(ys):
        return None
    mx, my = sum(xs) / n, sum(ys) / n
    sxy = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True))
    sxx = sum((x - mx) ** 2 for x in xs)
    syy = sum((y - my) ** 2 for y in ys)
    if sxx == 0 or syy == 0:
        return None
    return sxy / math.sqrt(sxx * syy)


def normalized_gain(pre: float, post: float) -> float | None:
    """Hake's normalized gain for fractions in [0, 1]; None when pre is already 1."""
    if pre >= 1.0:
        return None
    return (post - pre) / (1.0 - pre)


def histogram(fractions: Sequence[float], bins: int = BINS) -> list[int]:
    """Counts of score fractions in ``bins`` equal bins of [0, 1] (1.0 falls in the last)."""
    counts = [0] * bins
    for f in fractions:
        counts[min(bins - 1, max(0, int(f * bins)))] += 1
    return counts


def item_statistics(quiz: Quiz, counted: Mapping[str, Attempt]) -> list[dict[str, Any]]:
    """Facility and discrimination of every question over the counted attempts."""
    rows = list(counted.values())
    items = []
    for q in quiz.questions:
        scores = [float(a.scores.get(q.id, 0.0)) for a in rows]
        rest = [a.score - s for a, s in zip(rows, scores, strict=True)]
        facility = sum(scores) / (len(scores) * q.points) if scores else None
        items.append(
            {
                "id": q.id,
                "concept": q.concept,
                "type": q.type,
                "text": text_in(q.text, "en"),
                "max_score": q.points,
                "facility": facility,
                "discrimination": pearson(scores, rest),
            }
        )
    return items


def concept_fractions(quiz: Quiz, attempt: Attempt) -> dict[str, float]:
    """Fraction of the points earned per concept in one attempt."""
    got: dict[str, float] = {}
    most: dict[str, float] = {}
    for q in quiz.questions:
        got[q.concept] = got.get(q.concept, 0.0) + float(attempt.scores.get(q.id, 0.0))
        most[q.concept] = most.get(q.concept, 0.0) + q.points
    return {c: got[c] / most[c] for c in most}


def gain(
    pre: Quiz, post: Quiz, pre_att: Mapping[str, Attempt], post_att: Mapping[str, Attempt]
) -> dict[str, Any]:
    """Normalized gain per student and per concept for the students who took both quizzes."""
    both = sorted(set(pre_att) & set(post_att))
    per_student: list[dict[str, Any]] = []
    for s in both:
        a, b = pre_att[s].score / pre_att[s].max_score, post_att[s].score / post_att[s].max_score
        per_student.append({"student": s, "pre": a, "post": b, "gain": normalized_gain(a, b)})
    per_concept = []
    for concept in pre.concepts:
        if concept not in post.concepts or not both:
            continue
        pre_mean = sum(concept_fractions(pre, pre_att[s])[concept] for s in both) / len(both)
        post_mean = sum(concept_fractions(post, post_att[s])[concept] for s in both) / len(both)
        per_concept.append(
            {
                "concept": concept,
                "pre": pre_mean,
                "post": post_mean,
                "gain": normalized_gain(pre_mean, post_mean),
                "n": len(both),
            }
        )
    class_pre = sum(r["pre"] for r in per_student) / len(both) if both else None
    class_post = sum(r["post"] for r in per_student) / len(both) if both else None
    return {
        "pre": pre.id,
        "post": post.id,
        "students": len(both),
        "class_pre": class_pre,
        "class_post": class_post,
        "class_gain": (
            normalized_gain(class_pre, class_post)
            if class_pre is not None and class_post is not None
            else None
        ),
        "per_student": per_student,
        "per_concept": per_concept,
    }


def quiz_summary(quiz: Quiz, attempts: Sequence[Attempt]) -> dict[str, Any]:
    """Counts, score distribution and item statistics of one quiz."""
    counted = counted_attempts(quiz, attempts)
    fractions = [a.score / a.max_score for a in counted.values() if a.max_score]
    return {
        "id": quiz.id,
        "title": text_in(quiz.title, "en"),
        "grading": quiz.policy.grading,
        "attempts": len(attempts),
        "students": len(counted),
        "mean": sum(fractions) / len(fractions) if fractions else None,
        "distribution": histogram(fractions),
        "items": item_statistics(quiz, counted),
    }


def summary(quizzes: Mapping[str, Quiz], store: Store) -> dict[str, Any]:
    """Everything the dashboard shows: per-quiz statistics and the pre/post gains."""
    attempts = {qid: store.attempts(qid) for qid in quizzes}
    out: dict[str, Any] = {
        "quizzes": {qid: quiz_summary(q, attempts[qid]) for qid, q in quizzes.items()},
        "gains": [],
    }
    for post in quizzes.values():
        if post.kind == "post" and post.pair is not None and post.pair in quizzes:
            pre = quizzes[post.pair]
            out["gains"].append(
                gain(
                    pre,
                    post,
                    counted_attempts(pre, attempts[pre.id]),
                    counted_attempts(post, attempts[post.id]),
                )
            )
    return out
