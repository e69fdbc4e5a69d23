"""Judging: the instructor's reference evidence + the student's evidence -> per-test results.

Pure functions: no kernel, no files. What they trust is passed in: the reference evidence (from
the instructor's own run), the true labels of hidden splits (a callable, so that the caller
decides where labels come from) and the device type the engine gave the kernel. The ``expect``
of the student's evidence is never read.

A grade cell passes iff

- the reference emitted evidence in it, the student's run of the cell emitted matching evidence
  for every reference item (same ``check`` and ``kind``, judged by kind), no more of it than the
  reference did, and the cell ended without an error; or
- the reference emitted no evidence in it and nbgrader's rule holds (no error; a numeric result
  is partial credit), where stderr costs nothing and an error *reply* counts even when the
  traceback output was suppressed.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from grader import measures
from grader.engine.words import Message, say
from grader.evidence import Evidence

if TYPE_CHECKING:  # nbformat and nbgrader only for nbgrader's own rule (plain_score, judge_cell):
    from nbformat import NotebookNode  # the evidence judges import on a bare GPU image

LabelSource = Callable[[str], np.ndarray]


class JudgeError(RuntimeError):
    """Judging failed for a reason that is not the student's (an engine bug): the submission is
    recorded as not gradable with this error, never scored 0."""


@dataclass(frozen=True)
class Verdict:
    """The outcome of one grade cell."""

    grade_id: str
    score: float | None  # None: needs a human (manually graded answer)
    max_score: float
    passed: bool
    messages: tuple[str, ...] = ()
    manual: bool = False


@dataclass(frozen=True)
class CellFacts:
    """What the engine recorded about one executed cell (see :class:`kernel.CellRun`)."""

    status: str  # "ok", "error", "timeout", "died", "not_run", "skipped"
    message: str = ""
    outputs: Sequence[Mapping[str, Any]] = field(default_factory=list)
    tampered_before: tuple[Message, ...] = ()  # tampering seen at or before this cell


def _number_like(value: Any) -> bool:
    return isinstance(value, int | float | np.ndarray) and not isinstance(value, bool)


def compare_value(
    name: str, student: Any, reference: Any, rtol: float, atol: float, language: str = "en"
) -> str | None:
    """None when ``student`` matches ``reference``; otherwise why not, in words (in
    ``language``, the notebook's)."""
    if isinstance(reference, bool):
        if not isinstance(student, bool) or student != reference:
            return say(language, "truth-value", name=name)
        return None
    if reference is None:
        return None if student is None else say(language, "should-be-none", name=name)
    if isinstance(reference, str):
        same = isinstance(student, str) and student == reference
        return None if same else say(language, "wrong-text", name=name)
    if isinstance(reference, int) and not isinstance(reference, bool):
        if isinstance(student, bool) or not isinstance(student, int | float):
            return say(language, "whole-number", name=name)
        return None if student == reference else say(language, "wrong-number", name=name)
    if isinstance(reference, list):
        if not isinstance(student, list) or len(student) != len(reference):
            return say(language, "list-of", name=name, count=len(reference))
        for position, (s, r) in enumerate(zip(student, reference, strict=True)):
            problem = compare_value(f"{name}[{position}]", s, r, rtol, atol, language)
            if problem:
                return problem
        return None
    if isinstance(reference, Mapping):
        if not isinstance(student, Mapping):
            return say(language, "mapping", name=name)
        for key, r in reference.items():
            if key not in student:
                return say(language, "missing", name=f"{name}.{key}")
            problem = compare_value(f"{name}.{key}", student[key], r, rtol, atol, language)
            if problem:
                return problem
        return None
    if _number_like(reference):
        return _compare_numeric(name, student, np.asarray(reference), rtol, atol, language)
    return say(language, "cannot-compare", name=name)


def _compare_numeric(
    name: str, student: Any, reference: np.ndarray, rtol: float, atol: float, language: str
) -> str | None:
    if isinstance(student, bool) or not (_number_like(student) or isinstance(student, list)):
        return say(language, "numeric", name=name)
    try:
        value = np.asarray(student)
    except (ValueError, TypeError):
        return say(language, "numeric", name=name)
    if value.dtype == object:
        return say(language, "numeric", name=name)
    if value.shape != reference.shape:
        return say(language, "shape", name=name, got=value.shape, want=reference.shape)
    if reference.dtype.kind not in "biufc" or value.dtype.kind not in "biufc":
        if np.array_equal(value, reference):
            return None
        return say(language, "differs", name=name)
    if np.allclose(value, reference, rtol=rtol, atol=atol, equal_nan=True):
        return None
    with np.errstate(invalid="ignore"):
        diff = np.abs(value.astype(np.complex128) - reference.astype(np.complex128))
    worst = float(np.nanmax(diff)) if diff.size and not np.all(np.isnan(diff)) else math.nan
    return say(language, "differs-by", name=name, worst=worst)


def _tolerances(expect: Mapping[str, Any]) -> tuple[float, float]:
    rtol, atol = expect.get("rtol", 1e-5), expect.get("atol", 1e-8)
    try:
        return float(rtol), float(atol)
    except (TypeError, ValueError):
        return 1e-5, 1e-8


def judge_values(
    student: Evidence, reference: Evidence, skip: Sequence[str] = (), language: str = "en"
) -> list[str]:
    """Problems of a ``values``-like piece of evidence (empty list: it passes)."""
    rtol, atol = _tolerances(reference.expect)
    problems = []
    for key, expected in reference.values.items():
        if key in skip:
            continue
        if key not in student.values:
            problems.append(say(language, "missing", name=key))
            continue
        problem = compare_value(key, student.values[key], expected, rtol, atol, language)
        if problem:
            problems.append(problem)
    return problems


def judge_predictions(
    student: Evidence, reference: Evidence, labels: LabelSource, language: str = "en"
) -> list[str]:
    """Accuracy of the student's predictions on the hidden split against the threshold."""
    dataset = reference.values.get("dataset")
    if not isinstance(dataset, str):
        return [say(language, "no-dataset")]
    threshold = reference.expect.get("threshold")
    if not isinstance(threshold, int | float) or isinstance(threshold, bool):
        return [say(language, "no-threshold")]
    predicted = student.values.get("predictions")
    truth = np.asarray(labels(dataset))
    try:
        predicted = np.asarray(predicted)
    except (ValueError, TypeError):
        return [say(language, "predictions-unreadable")]
    if predicted.dtype == object or predicted.dtype.kind not in "biu":
        return [say(language, "predictions-not-labels")]
    if predicted.shape != truth.shape:
        return [
            say(
                language,
                "predictions-count",
                count=predicted.size,
                total=truth.size,
                dataset=dataset,
            )
        ]
    accuracy = float(np.mean(predicted == truth)) if truth.size else 0.0
    if accuracy >= float(threshold):
        return []
    return [
        say(
            language,
            "accuracy-hidden",
            accuracy=accuracy,
            dataset=dataset,
            threshold=float(threshold),
        )
    ]


def judge_device(
    student: Evidence, reference: Evidence, device: str, language: str = "en"
) -> list[str]:
    """Every tensor must be on the device the engine gave the kernel (or the one the reference
    names in ``expect.device``, such as ``meta`` for code that must follow its argument); the
    device types are read here from what the kernel reported. Other fields as values."""
    wanted = reference.expect.get("device", device)
    devices = student.values.get("devices")
    problems = []
    if not isinstance(devices, list) or not devices or not all(isinstance(d, str) for d in devices):
        problems.append(say(language, "no-devices"))
    elif "error" in devices:  # the student's code raised on the device it was given
        error = student.values.get("error")
        if isinstance(error, str) and error:
            problems.append(say(language, "device-error", wanted=wanted, error=error))
        else:
            problems.append(say(language, "device-error-unsaid", wanted=wanted))
    else:
        found = {measures.device_type(str(d)) for d in devices}
        wrong = sorted(found - {wanted})
        if wrong:
            problems.append(
                say(language, "tensors-elsewhere", wrong=", ".join(wrong), wanted=wanted)
            )
    return problems + judge_values(student, reference, skip=("devices",), language=language)


def _curve(value: Any, name: str, language: str) -> np.ndarray | str:
    """A loss curve: a non-empty one-dimensional array of finite numbers."""
    checked = _numbers(value, name, language)
    if isinstance(checked, np.ndarray) and (checked.ndim != 1 or not checked.size):
        return say(language, "not-a-curve", name=name)
    return checked


def judge_overfitting(student: Evidence, reference: Evidence, language: str = "en") -> list[str]:
    """A regularized run must narrow the generalization gap to the reference's ratio.

    The gaps are computed here from the student's four loss curves (two training runs that
    differ only by the regularizer); only the ratios come from the reference. A regularized gap
    far below zero (under ``min_ratio`` of the plain one) means the lists were swapped.
    """
    curves = {}
    for name in ("plain_train", "plain_val", "regularized_train", "regularized_val"):
        curve = _curve(student.values.get(name), say(language, f"curve-{name}"), language)
        if isinstance(curve, str):
            return [curve]
        curves[name] = curve
    if len(curves["plain_train"]) != len(curves["plain_val"]) or len(
        curves["regularized_train"]
    ) != len(curves["regularized_val"]):
        return [say(language, "curve-lengths")]
    try:
        max_ratio = float(reference.expect.get("max_ratio", 0.8))
        min_ratio = float(reference.expect.get("min_ratio", -math.inf))
    except (TypeError, ValueError):
        return [say(language, "no-ratio")]
    plain = measures.generalization_gap(curves["plain_train"], curves["plain_val"])
    regularized = measures.generalization_gap(
        curves["regularized_train"], curves["regularized_val"]
    )
    if plain <= 0:
        return [say(language, "no-gap")]
    if regularized < min_ratio * plain:
        return [say(language, "gap-order")]
    if regularized > max_ratio * plain:
        return [say(language, "gap-shrank", ratio=regularized / plain, max_ratio=max_ratio)]
    return []


#: Most weight arrays a ``network`` item may carry (the course's models have six).
MAX_WEIGHT_ARRAYS = 64


def _numbers(value: Any, name: str, language: str) -> np.ndarray | str:
    """``value`` as a finite numeric array, or why it is not one (in words)."""
    if not isinstance(value, np.ndarray) or value.dtype.kind not in "biuf":
        return say(language, "not-numbers", name=name)
    if not np.all(np.isfinite(value)):
        return say(language, "not-finite", name=name)
    return value


def _test_probes(student: Any, reference: Any, language: str) -> np.ndarray | str:
    """The reference's probe inputs when the kernel reported the same ones, or why not: the
    inputs come from the test, and a kernel that changed them is judged on nothing."""
    if not isinstance(reference, np.ndarray):
        return say(language, "no-reference-probes")
    if not isinstance(student, np.ndarray) or not np.array_equal(student, reference):
        return say(language, "probes-changed")
    return reference


def judge_nonlinear(student: Evidence, reference: Evidence, language: str = "en") -> list[str]:
    """The model's outputs on the reference's probes must not be an affine function of them.

    The residual of the best affine fit is computed here from the raw outputs, at the first
    probe scale that leaves usable outputs; one integer label per sample shows nothing of
    linearity and fails (the exercises ask for scores).
    """
    probes = _test_probes(student.values.get("probes"), reference.values.get("probes"), language)
    if isinstance(probes, str):
        return [probes]
    scores = student.values.get("scores")
    if not isinstance(scores, list) or len(scores) != len(measures.PROBE_SHRINKS):
        return [say(language, "scores-list", count=len(measures.PROBE_SHRINKS))]
    checked = [_numbers(s, say(language, "name-outputs"), language) for s in scores]
    for item in checked:
        if isinstance(item, str):
            return [item]
        if item.ndim == 0 or len(item) != len(probes):
            count = len(item) if item.ndim else 0
            return [say(language, "outputs-count", count=count, total=len(probes))]
    arrays = [a for a in checked if isinstance(a, np.ndarray)]
    if measures.is_label_output(arrays[0]):
        return [say(language, "labels-not-scores")]
    tolerance = float(reference.expect.get("tolerance", measures.AFFINE_TOLERANCE))
    residual = measures.nonlinearity_residual(probes, arrays)
    if residual > tolerance:
        return []
    return [say(language, "linear", residual=residual)]


def judge_network(student: Evidence, reference: Evidence, language: str = "en") -> list[str]:
    """The model's outputs must equal the forward pass the reference names, recomputed here in
    float64 from the model's own weights (:func:`grader.measures.follows_network`)."""
    network = reference.expect.get("network")
    if network not in measures.NETWORKS:
        return [say(language, "no-network")]
    probe = _test_probes(student.values.get("probe"), reference.values.get("probe"), language)
    if isinstance(probe, str):
        return [probe]
    outputs = _numbers(student.values.get("outputs"), say(language, "name-outputs"), language)
    if isinstance(outputs, str):
        return [outputs]
    weights = student.values.get("weights")
    if not isinstance(weights, list) or not 0 < len(weights) <= MAX_WEIGHT_ARRAYS:
        return [say(language, "weights-list", count=MAX_WEIGHT_ARRAYS)]
    arrays = [_numbers(w, say(language, "name-weight"), language) for w in weights]
    bad = [a for a in arrays if isinstance(a, str)]
    if bad:
        return [bad[0]]
    atol = float(reference.expect.get("atol", measures.FORWARD_ATOL))
    kernels = [a for a in arrays if isinstance(a, np.ndarray)]
    if measures.follows_network(str(network), kernels, probe, outputs, atol=atol):
        return []
    return [say(language, "not-the-network", network=network)]


def judge_pick(student: Evidence, reference: Evidence, language: str = "en") -> list[str]:
    """A device choice per faked situation: its type (read here from the name the student's
    function returned) must be the reference's."""
    problems = []
    for situation, expected in reference.values.items():
        got = student.values.get(situation)
        if not isinstance(got, str) or not isinstance(expected, str):
            problems.append(say(language, "no-device-name", situation=situation))
        elif measures.device_type(got) != measures.device_type(expected):
            problems.append(
                say(
                    language,
                    "chose-device",
                    situation=situation,
                    got=measures.device_type(got),
                    want=measures.device_type(expected),
                )
            )
    return problems


def judge_evidence(
    student: Evidence, reference: Evidence, labels: LabelSource, device: str, language: str = "en"
) -> list[str]:
    """Problems of one student item judged against the matching reference item, in
    ``language`` (the notebook's)."""
    if student.malformed:
        return [say(language, "evidence-unreadable", reason=student.malformed)]
    if reference.kind == "predictions":
        return judge_predictions(student, reference, labels, language)
    if reference.kind == "device":
        return judge_device(student, reference, device, language)
    if reference.kind == "overfitting":
        return judge_overfitting(student, reference, language)
    if reference.kind == "nonlinear":
        return judge_nonlinear(student, reference, language)
    if reference.kind == "network":
        return judge_network(student, reference, language)
    if reference.kind == "pick":
        return judge_pick(student, reference, language)
    return judge_values(student, reference, language=language)


def match_evidence(
    student: Sequence[Evidence],
    reference: Sequence[Evidence],
    labels: LabelSource,
    device: str,
    language: str = "en",
) -> list[str]:
    """Judge a cell's evidence: the k-th reference item of a (check, kind) against the k-th of the
    student's; missing or surplus items are problems (worded in ``language``)."""
    problems: list[str] = []
    by_key: dict[tuple[str, str], list[Evidence]] = {}
    for item in student:
        by_key.setdefault((item.check, item.kind), []).append(item)
    expected_counts: dict[tuple[str, str], int] = {}
    for ref in reference:
        key = (ref.check, ref.kind)
        position = expected_counts.get(key, 0)
        expected_counts[key] = position + 1
        candidates = by_key.get(key, [])
        if position >= len(candidates):
            problems.append(say(language, "no-evidence", check=ref.check))
            continue
        try:
            found = judge_evidence(candidates[position], ref, labels, device, language)
        except Exception as error:
            # The judge validates every student value it reads and says what is wrong in words;
            # anything else is the engine's fault, never the student's zero.
            raise JudgeError(
                f"the engine could not judge {ref.check} ({type(error).__name__}: {error})"
            ) from error
        problems += [say(language, "check-problem", check=ref.check, problem=p) for p in found]
    for key, items in by_key.items():
        if len(items) > expected_counts.get(key, 0):
            problems.append(say(language, "surplus-evidence", check=key[0]))
    return problems


def _error_in(outputs: Sequence[Mapping[str, Any]]) -> str | None:
    for output in outputs:
        if output.get("output_type") == "error":
            return f"{output.get('ename', 'Error')}: {output.get('evalue', '')}".strip()
    return None


def plain_score(cell: NotebookNode, outputs: Sequence[Mapping[str, Any]]) -> float | None:
    """nbgrader's score for a cell without evidence, with stderr ignored."""
    from nbformat import NotebookNode
    from nbgrader import utils as nbutils

    probe = NotebookNode(dict(cell))
    probe["outputs"] = [
        NotebookNode(o)
        for o in outputs
        if not (o.get("output_type") == "stream" and o.get("name") == "stderr")
    ]
    try:
        score, _ = nbutils.determine_grade(probe)
    except (ValueError, KeyError):  # a malformed partial-credit output
        return 0.0
    return score


def judge_cell(
    cell: NotebookNode,
    facts: CellFacts,
    reference: Sequence[Evidence] | None,
    student: Sequence[Evidence],
    labels: LabelSource,
    device: str,
    language: str = "en",
) -> Verdict:
    """The verdict on one grade cell (see the module docstring for the rule), its messages in
    ``language``, the notebook's: the student reads them in their feedback."""
    from nbgrader import utils as nbutils

    meta = cell.metadata["nbgrader"]
    grade_id, max_score = meta["grade_id"], float(meta.get("points", 0.0))
    if meta.get("solution"):  # manually graded answer: nbgrader's rule, a human decides
        score, _ = nbutils.determine_grade(cell)
        return Verdict(grade_id, score, max_score, bool(score), manual=True)
    if cell.cell_type != "code":
        return Verdict(grade_id, None, max_score, False, manual=True)
    if facts.status in ("timeout", "died", "not_run"):
        message = facts.message or say(language, "not-run")
        return Verdict(grade_id, 0.0, max_score, False, (message,))
    if facts.tampered_before:
        found = "; ".join(f.text(language) for f in facts.tampered_before)
        return Verdict(
            grade_id, 0.0, max_score, False, (say(language, "tampering-before", found=found),)
        )
    error = _error_in(facts.outputs) or (facts.message if facts.status == "error" else None)
    if error:
        return Verdict(grade_id, 0.0, max_score, False, (error,))
    if reference:
        problems = match_evidence(student, reference, labels, device, language)
        if problems:
            return Verdict(grade_id, 0.0, max_score, False, tuple(problems))
        return Verdict(grade_id, max_score, max_score, True)
    score = plain_score(cell, facts.outputs)
    score = 0.0 if score is None else score
    return Verdict(grade_id, score, max_score, score >= max_score)
