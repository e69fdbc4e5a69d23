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
    tampered_before: tuple[str, ...] = ()  # tampering seen at or before this cell


def _number_like(value: Any) -> bool:
    return isinstance(value, int | float | np.ndarray) and not isinstance(value, bool)


def compare_value(name: str, student: Any, reference: Any, rtol: float, atol: float) -> str | None:
    """None when ``student`` matches ``reference``; otherwise why not, in words."""
    if isinstance(reference, bool):
        if not isinstance(student, bool) or student != reference:
            return f"{name} is not the expected truth value"
        return None
    if reference is None:
        return None if student is None else f"{name} should be empty (None)"
    if isinstance(reference, str):
        return None if student == reference else f"{name} is not the expected text"
    if isinstance(reference, int) and not isinstance(reference, bool):
        if isinstance(student, bool) or not isinstance(student, int | float):
            return f"{name} should be a whole number"
        return None if student == reference else f"{name} is not the expected number"
    if isinstance(reference, list):
        if not isinstance(student, list) or len(student) != len(reference):
            return f"{name} should be a list of {len(reference)} items"
        for position, (s, r) in enumerate(zip(student, reference, strict=True)):
            problem = compare_value(f"{name}[{position}]", s, r, rtol, atol)
            if problem:
                return problem
        return None
    if isinstance(reference, Mapping):
        if not isinstance(student, Mapping):
            return f"{name} should be a mapping"
        for key, r in reference.items():
            if key not in student:
                return f"{name}.{key} is missing"
            problem = compare_value(f"{name}.{key}", student[key], r, rtol, atol)
            if problem:
                return problem
        return None
    if _number_like(reference):
        return _compare_numeric(name, student, np.asarray(reference), rtol, atol)
    return f"{name}: the reference holds a value the engine cannot compare"


def _compare_numeric(
    name: str, student: Any, reference: np.ndarray, rtol: float, atol: float
) -> str | None:
    if isinstance(student, bool) or not (_number_like(student) or isinstance(student, list)):
        return f"{name} should be numeric"
    try:
        value = np.asarray(student)
    except (ValueError, TypeError):
        return f"{name} should be numeric"
    if value.dtype == object:
        return f"{name} should be numeric"
    if value.shape != reference.shape:
        return f"{name} has shape {value.shape}, expected {reference.shape}"
    if reference.dtype.kind not in "biufc" or value.dtype.kind not in "biufc":
        return None if np.array_equal(value, reference) else f"{name} differs from the expected"
    if np.allclose(value, reference, rtol=rtol, atol=atol, equal_nan=True):
        return None
    with np.errstate(invalid="ignore"):
        diff = np.abs(value.astype(np.complex128) - reference.astype(np.complex128))
    worst = float(np.nanmax(diff)) if diff.size and not np.all(np.isnan(diff)) else math.nan
    return f"{name} differs from the expected value (largest difference {worst:.3g})"


def _tolerances(expect: Mapping[str, Any]) -> tuple[float, float]:
    rtol, atol = expect.get("rtol", 1e-5), expect.get("atol", 1e-8)
    try:
        return float(rtol), float(atol)
    except (TypeError, ValueError):
        return 1e-5, 1e-8


def judge_values(student: Evidence, reference: Evidence, skip: Sequence[str] = ()) -> list[str]:
    """Problems of a ``values``-like piece of evidence (empty list: it passes)."""
    rtol, atol = _tolerances(reference.expect)
    problems = []
    for key, expected in reference.values.items():
        if key in skip:
            continue
        if key not in student.values:
            problems.append(f"{key} is missing")
            continue
        problem = compare_value(key, student.values[key], expected, rtol, atol)
        if problem:
            problems.append(problem)
    return problems


def judge_predictions(student: Evidence, reference: Evidence, labels: LabelSource) -> list[str]:
    """Accuracy of the student's predictions on the hidden split against the threshold."""
    dataset = reference.values.get("dataset")
    if not isinstance(dataset, str):
        return ["the reference names no dataset; ask the instructor"]
    threshold = reference.expect.get("threshold")
    if not isinstance(threshold, int | float) or isinstance(threshold, bool):
        return ["the reference sets no accuracy threshold; ask the instructor"]
    predicted = student.values.get("predictions")
    truth = np.asarray(labels(dataset))
    try:
        predicted = np.asarray(predicted)
    except (ValueError, TypeError):
        return ["predictions are not an array of labels"]
    if predicted.dtype == object or predicted.dtype.kind not in "biu":
        return ["predictions should be integer class labels"]
    if predicted.shape != truth.shape:
        return [f"{predicted.size} predictions for {truth.size} hidden examples of {dataset}"]
    accuracy = float(np.mean(predicted == truth)) if truth.size else 0.0
    if accuracy >= float(threshold):
        return []
    return [
        f"accuracy {accuracy:.3f} on the hidden examples of {dataset}, "
        f"below the required {float(threshold):.3f}"
    ]


def judge_device(student: Evidence, reference: Evidence, device: str) -> list[str]:
    """Every tensor must be on the device the engine gave the kernel (or the one the reference
    names in ``expect.device``, such as ``meta`` for code that must follow its argument); the
    device types are read here from what the kernel reported. Other fields as values."""
    wanted = reference.expect.get("device", device)
    devices = student.values.get("devices")
    problems = []
    if not isinstance(devices, list) or not devices:
        problems.append("no devices reported")
    elif "error" in devices:  # the student's code raised on the device it was given
        error = student.values.get("error")
        detail = f" ({error})" if isinstance(error, str) and error else ""
        problems.append(
            f"the code raised an error on the device it was given ({wanted}){detail}: "
            "something it needs (the model or the batch) was not moved there"
        )
    else:
        found = {measures.device_type(str(d)) for d in devices}
        wrong = sorted(found - {wanted})
        if wrong:
            problems.append(f"found tensors on {', '.join(wrong)}; expected all on {wanted}")
    return problems + judge_values(student, reference, skip=("devices",))


def _curve(value: Any, name: str) -> np.ndarray | str:
    """A loss curve: a non-empty one-dimensional array of finite numbers."""
    checked = _numbers(value, name)
    if isinstance(checked, np.ndarray) and (checked.ndim != 1 or not checked.size):
        return f"{name} should be a non-empty list of numbers"
    return checked


def judge_overfitting(student: Evidence, reference: Evidence) -> list[str]:
    """A regularized run must narrow the generalization gap to the reference's ratio.

    The gaps are computed here from the student's four loss curves (two training runs that
    differ only by the regularizer); only the ratios come from the reference. A regularized gap
    far below zero (under ``min_ratio`` of the plain one) means the lists were swapped.
    """
    curves = {}
    for name in ("plain_train", "plain_val", "regularized_train", "regularized_val"):
        curve = _curve(student.values.get(name), name.replace("_", " ") + " losses")
        if isinstance(curve, str):
            return [curve]
        curves[name] = curve
    if len(curves["plain_train"]) != len(curves["plain_val"]) or len(
        curves["regularized_train"]
    ) != len(curves["regularized_val"]):
        return ["each run should give as many training as validation losses"]
    try:
        max_ratio = float(reference.expect.get("max_ratio", 0.8))
        min_ratio = float(reference.expect.get("min_ratio", -math.inf))
    except (TypeError, ValueError):
        return ["the reference sets no ratio; ask the instructor"]
    plain = measures.generalization_gap(curves["plain_train"], curves["plain_val"])
    regularized = measures.generalization_gap(
        curves["regularized_train"], curves["regularized_val"]
    )
    if plain <= 0:
        return ["the unregularized run shows no gap to narrow"]
    if regularized < min_ratio * plain:
        return [
            "the validation loss is far below the training loss: return "
            "(train_losses, val_losses), training losses first"
        ]
    if regularized > max_ratio * plain:
        return [f"the gap shrank to {regularized / plain:.0%}; at most {max_ratio:.0%} is needed"]
    return []


#: Most weight arrays a ``network`` item may carry (the course's models have six).
MAX_WEIGHT_ARRAYS = 64


def _numbers(value: Any, name: str) -> np.ndarray | str:
    """``value`` as a finite numeric array, or why it is not one (in words)."""
    if not isinstance(value, np.ndarray) or value.dtype.kind not in "biuf":
        return f"{name} should be an array of numbers"
    if not np.all(np.isfinite(value)):
        return f"{name} holds values that are not finite numbers"
    return value


def _test_probes(student: Any, reference: Any, name: str) -> np.ndarray | str:
    """The reference's probe inputs when the kernel reported the same ones, or why not: the
    inputs come from the test, and a kernel that changed them is judged on nothing."""
    if not isinstance(reference, np.ndarray):
        return f"the reference holds no {name}; ask the instructor"
    if not isinstance(student, np.ndarray) or not np.array_equal(student, reference):
        return f"the {name} are not the test's"
    return reference


def judge_nonlinear(student: Evidence, reference: Evidence) -> list[str]:
    """The model's outputs on the reference's probes must not be an affine function of them.

    The residual of the best affine fit is computed here from the raw outputs, at the first
    probe scale that leaves usable outputs; one integer label per sample cannot be fitted and
    passes (a labels-only predict function).
    """
    probes = _test_probes(
        student.values.get("probes"), reference.values.get("probes"), "probe inputs"
    )
    if isinstance(probes, str):
        return [probes]
    scores = student.values.get("scores")
    if not isinstance(scores, list) or len(scores) != len(measures.PROBE_SHRINKS):
        return [f"scores should be a list of {len(measures.PROBE_SHRINKS)} arrays of outputs"]
    checked = [_numbers(s, "the model's outputs") for s in scores]
    for item in checked:
        if isinstance(item, str):
            return [item]
        if len(item) != len(probes):
            return [f"{len(item)} outputs for {len(probes)} probe inputs"]
    arrays = [a for a in checked if isinstance(a, np.ndarray)]
    if measures.is_label_output(arrays[0]):
        return []
    tolerance = float(reference.expect.get("tolerance", measures.AFFINE_TOLERANCE))
    residual = measures.nonlinearity_residual(probes, arrays)
    if residual > tolerance:
        return []
    return [
        f"the network's outputs are a linear function of its inputs (relative residual "
        f"{residual:.1e}); put a non-linearity such as ReLU after each hidden layer"
    ]


def judge_network(student: Evidence, reference: Evidence) -> list[str]:
    """The model's outputs must equal the forward pass the reference names, recomputed here in
    float64 from the model's own weights (:func:`grader.measures.follows_network`)."""
    network = reference.expect.get("network")
    if network not in measures.NETWORKS:
        return ["the reference names no known network; ask the instructor"]
    probe = _test_probes(student.values.get("probe"), reference.values.get("probe"), "probe inputs")
    if isinstance(probe, str):
        return [probe]
    outputs = _numbers(student.values.get("outputs"), "the model's outputs")
    if isinstance(outputs, str):
        return [outputs]
    weights = student.values.get("weights")
    if not isinstance(weights, list) or not 0 < len(weights) <= MAX_WEIGHT_ARRAYS:
        return [f"weights should be a list of at most {MAX_WEIGHT_ARRAYS} arrays"]
    arrays = [_numbers(w, "a weight") for w in weights]
    bad = [a for a in arrays if isinstance(a, str)]
    if bad:
        return [bad[0]]
    atol = float(reference.expect.get("atol", measures.FORWARD_ATOL))
    kernels = [a for a in arrays if isinstance(a, np.ndarray)]
    if measures.follows_network(str(network), kernels, probe, outputs, atol=atol):
        return []
    return [f"the model does not compute the network asked for ({network}) with its own weights"]


def judge_pick(student: Evidence, reference: Evidence) -> list[str]:
    """A device choice per faked situation: its type (read here from the name the student's
    function returned) must be the reference's."""
    problems = []
    for situation, expected in reference.values.items():
        got = student.values.get(situation)
        if not isinstance(got, str) or not isinstance(expected, str):
            problems.append(f"{situation}: no device name was returned")
        elif measures.device_type(got) != measures.device_type(expected):
            problems.append(
                f"{situation}: chose {measures.device_type(got)}, "
                f"expected {measures.device_type(expected)}"
            )
    return problems


def judge_evidence(
    student: Evidence, reference: Evidence, labels: LabelSource, device: str
) -> list[str]:
    """Problems of one student item judged against the matching reference item."""
    if student.malformed:
        return [f"its evidence could not be read ({student.malformed})"]
    if reference.kind == "predictions":
        return judge_predictions(student, reference, labels)
    if reference.kind == "device":
        return judge_device(student, reference, device)
    if reference.kind == "overfitting":
        return judge_overfitting(student, reference)
    if reference.kind == "nonlinear":
        return judge_nonlinear(student, reference)
    if reference.kind == "network":
        return judge_network(student, reference)
    if reference.kind == "pick":
        return judge_pick(student, reference)
    return judge_values(student, reference)


def match_evidence(
    student: Sequence[Evidence],
    reference: Sequence[Evidence],
    labels: LabelSource,
    device: str,
) -> list[str]:
    """Judge a cell's evidence: the k-th reference item of a (check, kind) against the k-th of the
    student's; missing or surplus items are problems."""
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
            problems.append(f"{ref.check}: no evidence (the check did not run to the end)")
            continue
        try:
            found = judge_evidence(candidates[position], ref, labels, device)
        except Exception as error:
            # The judge validates every student value it reads and says what is wrong in words;
            # anything else is the engine's fault, never the student's zero.
            raise JudgeError(
                f"the engine could not judge {ref.check} ({type(error).__name__}: {error})"
            ) from error
        problems += [f"{ref.check}: {p}" for p in found]
    for key, items in by_key.items():
        if len(items) > expected_counts.get(key, 0):
            problems.append(f"{key[0]}: more evidence than the test emits")
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
) -> Verdict:
    """The verdict on one grade cell (see the module docstring for the rule)."""
    from nbgrader import utils as nbutils

    meta = cell.metadata["nbgrader"]
    grade_id, max_score = meta["grade_id"], float(meta.get("points", 0.0))
    if meta.get("solution"):  # manually graded answer: nbgrader's rule, a human decides
        score, _ = nbutils.determine_grade(cell)
        return Verdict(grade_id, score, max_score, bool(score), manual=True)
    if cell.cell_type != "code":
        return Verdict(grade_id, None, max_score, False, manual=True)
    if facts.status in ("timeout", "died", "not_run"):
        return Verdict(grade_id, 0.0, max_score, False, (facts.message or "not run",))
    if facts.tampered_before:
        message = "tampering detected before this test: " + "; ".join(facts.tampered_before)
        return Verdict(grade_id, 0.0, max_score, False, (message,))
    error = _error_in(facts.outputs) or (facts.message if facts.status == "error" else None)
    if error:
        return Verdict(grade_id, 0.0, max_score, False, (error,))
    if reference:
        problems = match_evidence(student, reference, labels, device)
        if problems:
            return Verdict(grade_id, 0.0, max_score, False, tuple(problems))
        return Verdict(grade_id, max_score, max_score, True)
    score = plain_score(cell, facts.outputs)
    score = 0.0 if score is None else score
    return Verdict(grade_id, score, max_score, score >= max_score)
