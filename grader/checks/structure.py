"""Structure checks by behaviour: what a model computes, whichever framework or API built it.

A network of linear layers with nothing in between is one linear map, however many layers it
has; counting weight matrices cannot tell it from a real multi-layer network, but its outputs
can. The check feeds probe inputs and fits the best affine map from inputs to outputs.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from grader.checks.accuracy import scores_of
from grader.checks.messages import say
from grader.checks.report import emit, require

#: Relative residual below which a model's outputs are an affine function of its inputs
#: (float32 rounding of a purely linear network stays around 1e-6; one ReLU or tanh layer in
#: a trained network leaves 1e-2 or more on the probes).
AFFINE_TOLERANCE = 1e-3


def _log_scores(scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Outputs per sample as log-scores centred per sample, and which samples to trust.

    Probabilities (rows in [0, 1], from a softmax) become their logarithms, so that a softmax
    after a linear network is linear again; centring removes what a softmax or a constant shift
    adds to every class alike. A probability rounded to (almost) 0 or 1 has lost its logarithm,
    so such samples are left out of the fit.
    """
    scores = scores.astype(np.float64).reshape(len(scores), -1)
    usable = np.ones(len(scores), dtype=bool)
    if np.all((scores >= 0) & (scores <= 1)) and scores.shape[1] > 1:
        usable = np.all((scores > 1e-5) & (scores < 1 - 1e-5), axis=1)
        scores = np.log(np.clip(scores, 1e-12, None))
    return scores - scores.mean(axis=1, keepdims=True), usable


def affine_residual(model: Any, x: np.ndarray) -> float:
    """How far ``model``'s outputs on ``x`` are from the best affine function of ``x``.

    0 for a composition of linear layers (with or without a final softmax); the relative
    root-mean-square residual of a least-squares fit otherwise. Raises ``ValueError`` when too
    few samples keep a usable output (every probability saturated).
    """
    outputs, usable = _log_scores(scores_of(model, x))
    x, outputs = x[usable], outputs[usable]
    if len(x) < 2 * (x.shape[1] + 1):
        raise ValueError("too few probe inputs give probabilities away from 0 and 1")
    design = np.column_stack([x.astype(np.float64), np.ones(len(x))])
    fitted = design @ np.linalg.lstsq(design, outputs, rcond=None)[0]
    spread = float(np.sqrt(np.mean((outputs - outputs.mean(axis=0)) ** 2)))
    return float(np.sqrt(np.mean((outputs - fitted) ** 2))) / max(spread, 1e-12)


def check_nonlinear(check: str, model: Any, num_features: int, *, scale: float = 3.0) -> None:
    """Check that ``model`` is not an affine function of its inputs (it has a non-linearity).

    Probe inputs are standard normal times ``scale`` (inputs are expected standardized or in
    [0, 1]). A plain ``predict`` function that returns labels cannot be judged and passes.
    """
    probes = (np.random.default_rng(4096).normal(size=(256, num_features)) * scale).astype(
        np.float32
    )
    scores = scores_of(model, probes)
    if np.issubdtype(scores.dtype, np.integer) and scores.ndim == 1:
        emit(check, "values", {"nonlinear": 1}, passed=True)
        return
    for shrink in (1, 4, 16, 64):  # saturated probabilities: probe closer to the origin
        try:
            residual = affine_residual(model, probes / shrink)
            break
        except ValueError:
            residual = float("inf")
    nonlinear = residual > AFFINE_TOLERANCE
    emit(check, "values", {"nonlinear": int(nonlinear)}, passed=nonlinear)
    require(
        nonlinear,
        say("linear-network", check=check, residual=residual),
    )
