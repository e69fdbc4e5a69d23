"""What the checks measure, from raw numbers: pure NumPy, for both sides of the grading.

A check (:mod:`grader.checks`) runs the student's code in the kernel and emits raw numbers (a
model's outputs and weights, loss curves); the engine's judge (:mod:`grader.engine.judge`)
decides from those numbers with these functions, in its own process. The checks call the same
functions only to word a readable message under plain nbgrader: a kernel that patches NumPy
changes its own message, never the engine's verdict.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # only a name for annotations: the kernel's tamper probe sees no alias
    Layers = Mapping[tuple[int, ...], tuple[np.ndarray, np.ndarray]]

#: Relative residual below which a model's outputs are an affine function of its inputs
#: (float32 rounding of a purely linear network stays around 1e-6; one ReLU or tanh layer in
#: a trained network leaves 1e-2 or more on the probes).
AFFINE_TOLERANCE = 1e-3

#: How far a Keras model's outputs may be from its exercise's forward pass recomputed in
#: float64 from the model's own weights (float32 arithmetic stays near 1e-7).
FORWARD_ATOL = 1e-5

#: Scales by which the structure probes are divided, in order, until the outputs can be fitted
#: (saturated probabilities far from the origin carry no usable logarithm).
PROBE_SHRINKS = (1, 4, 16, 64)


def log_scores(scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Outputs per sample as log-scores centred per sample, and which samples to trust.

    Probabilities (rows in [0, 1], from a softmax) become their logarithms, so that a softmax
    after a linear network is linear again; centring removes what a softmax or a constant shift
    adds to every class alike. A probability rounded to (almost) 0 or 1 has lost its logarithm,
    so such samples are left out of the fit.
    """
    scores = np.asarray(scores, dtype=np.float64).reshape(len(scores), -1)
    usable = np.ones(len(scores), dtype=bool)
    if np.all((scores >= 0) & (scores <= 1)) and scores.shape[1] > 1:
        usable = np.all((scores > 1e-5) & (scores < 1 - 1e-5), axis=1)
        scores = np.log(np.clip(scores, 1e-12, None))
    return scores - scores.mean(axis=1, keepdims=True), usable


def affine_residual(x: np.ndarray, scores: np.ndarray) -> float:
    """How far ``scores`` (a model's outputs on ``x``) are from the best affine function of ``x``.

    0 for a composition of linear layers (with or without a final softmax); the relative
    root-mean-square residual of a least-squares fit otherwise. Raises ``ValueError`` when too
    few samples keep a usable output (every probability saturated).
    """
    x = np.asarray(x, dtype=np.float64)
    outputs, usable = log_scores(scores)
    x, outputs = x[usable], outputs[usable]
    if len(x) < 2 * (x.shape[1] + 1):
        raise ValueError("too few probe inputs give probabilities away from 0 and 1")
    design = np.column_stack([x, np.ones(len(x))])
    fitted = design @ np.linalg.lstsq(design, outputs, rcond=None)[0]
    spread = float(np.sqrt(np.mean((outputs - outputs.mean(axis=0)) ** 2)))
    return float(np.sqrt(np.mean((outputs - fitted) ** 2))) / max(spread, 1e-12)


def nonlinearity_residual(probes: np.ndarray, scores_by_shrink: Sequence[np.ndarray]) -> float:
    """The affine residual at the first probe scale (:data:`PROBE_SHRINKS`) that can be fitted.

    ``scores_by_shrink[k]`` holds the outputs on ``probes / PROBE_SHRINKS[k]``; infinity when
    no scale leaves enough unsaturated outputs (a model that saturates everywhere is not linear).
    """
    for shrink, scores in zip(PROBE_SHRINKS, scores_by_shrink, strict=False):
        try:
            return affine_residual(np.asarray(probes, dtype=np.float64) / shrink, scores)
        except ValueError:
            continue
    return float("inf")


def is_label_output(scores: np.ndarray) -> bool:
    """Whether outputs are one integer label per sample: nothing to fit (and nothing to tell a
    linear model's labels from a non-linear one's)."""
    scores = np.asarray(scores)
    return scores.ndim == 1 and np.issubdtype(scores.dtype, np.integer)


def dense_layers(
    weights: Sequence[np.ndarray],
) -> dict[tuple[int, ...], tuple[np.ndarray, np.ndarray]]:
    """{kernel shape: (kernel, bias)} of every dense layer, from a model's list of weights
    (a Keras model's ``weights``: each 2-D kernel followed by its bias), however it was built."""
    arrays = [np.asarray(w, dtype=np.float64) for w in weights]
    return {
        k.shape: (k, b)
        for k, b in itertools.pairwise(arrays)
        if k.ndim == 2 and b.shape == k.shape[1:]
    }


def _relu(z: np.ndarray) -> np.ndarray:
    return np.maximum(z, 0.0)


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _output_layer(layers: Layers, inputs: int) -> tuple[np.ndarray, np.ndarray]:
    """The (kernel, bias) of the one layer that reads ``inputs`` values (the output layer)."""
    (pair,) = [pair for shape, pair in layers.items() if shape[0] == inputs]
    return pair


def _relu_relu_softmax(layers: Layers, x: np.ndarray) -> np.ndarray:
    """softmax(relu(relu(x W1 + b1) W2 + b2) W3 + b3) with hidden sizes 64 and 32."""
    (w1, b1), (w2, b2) = layers[(x.shape[1], 64)], layers[(64, 32)]
    w3, b3 = _output_layer(layers, 32)
    return _softmax(_relu(_relu(x @ w1 + b1) @ w2 + b2) @ w3 + b3)


def _relu_and_tanh(wide_first: bool) -> Callable[[Layers, np.ndarray], np.ndarray]:
    """softmax(concat(relu(x W1 + b1), tanh(x W2 + b2)) W3 + b3), branches 32 and 8 wide."""

    def network(layers: Layers, x: np.ndarray) -> np.ndarray:
        (w1, b1), (w2, b2) = layers[(x.shape[1], 32)], layers[(x.shape[1], 8)]
        w3, b3 = _output_layer(layers, 40)
        wide, narrow = _relu(x @ w1 + b1), np.tanh(x @ w2 + b2)
        return _softmax(np.hstack([wide, narrow] if wide_first else [narrow, wide]) @ w3 + b3)

    return network


#: The networks an exercise may ask for, by name: each accepted layout of its forward pass.
NETWORKS: dict[str, tuple[Callable[[Layers, np.ndarray], np.ndarray], ...]] = {
    "relu_relu_softmax": (_relu_relu_softmax,),
    "relu_and_tanh_then_softmax": (_relu_and_tanh(True), _relu_and_tanh(False)),
}


def follows_network(
    network: str,
    weights: Sequence[np.ndarray],
    probe: np.ndarray,
    outputs: np.ndarray,
    atol: float = FORWARD_ATOL,
) -> bool:
    """Whether ``outputs`` (a model's on ``probe``) equal the forward pass named ``network``
    computed in float64 from the model's own ``weights``; a missing layer is False."""
    layers = dense_layers(weights)
    x = np.asarray(probe, dtype=np.float64)
    got = np.asarray(outputs, dtype=np.float64)
    for forward in NETWORKS[network]:
        try:
            expected = forward(layers, x)
        except (KeyError, ValueError):
            continue
        if got.shape == expected.shape and np.allclose(got, expected, atol=atol):
            return True
    return False


def generalization_gap(
    train_losses: Sequence[float] | np.ndarray, val_losses: Sequence[float] | np.ndarray
) -> float:
    """Validation loss minus training loss, averaged over the last quarter of training."""
    train, val = np.asarray(train_losses, float), np.asarray(val_losses, float)
    tail = max(1, len(val) // 4)
    return float(np.mean(val[-tail:]) - np.mean(train[-tail:]))


def device_type(device: str) -> str:
    """``cpu``, ``cuda``, ``meta``...: the type of a device named as PyTorch or TensorFlow
    prints it (``cuda:0``, ``/job:localhost/replica:0/task:0/device:GPU:0``); TensorFlow's GPU
    is CUDA."""
    text = str(device).lower().lstrip("/")
    if "device:" in text or text.startswith("job"):  # TensorFlow's long device names
        text = text.rsplit("device:", 1)[-1]
    kind = text.split(":")[0]
    return "cuda" if kind == "gpu" else kind


#: The largest chance that a model whose expected accuracy meets an exercise's bar fails its
#: hidden test on a fresh sample (1 in 20).
SAMPLING_FAIL_CHANCE = 0.05


def binomial_cdf(k: int, n: int, p: float) -> float:
    """P(X <= k) for X ~ Binomial(n, p), summed exactly term by term (n is a split's size)."""
    if k < 0:
        return 0.0
    if k >= n:
        return 1.0
    return min(1.0, sum(math.comb(n, i) * p**i * (1 - p) ** (n - i) for i in range(k + 1)))


def sampling_floor(bar: float, n: int, fail_chance: float = SAMPLING_FAIL_CHANCE) -> int:
    """The most correct answers out of ``n`` that a test may demand of a model whose expected
    accuracy is ``bar`` while failing it with probability at most ``fail_chance``: the largest
    k with P(Binomial(n, bar) < k) <= ``fail_chance``."""
    return max(k for k in range(n + 1) if binomial_cdf(k - 1, n, bar) <= fail_chance)


def written_threshold(k: int, n: int) -> str:
    """The shortest decimal (two places at least) that accepts exactly k or more of n correct:
    a number in ((k - 1) / n, k / n], so that ``accuracy >= it`` is the same verdict as
    "at least k of n" and the instructions can state it plainly."""
    for places in range(2, 10):
        text = f"{math.floor(k / n * 10**places + 1e-9) / 10**places:.{places}f}"
        if float(text) > (k - 1) / n:
            return text
    raise ValueError(f"no short decimal for {k}/{n}")


def visible_passes(bar: float, n_valid: int) -> int:
    """The fewest correct answers of ``n_valid`` that pass a visible check ``accuracy >= bar``."""
    return math.ceil(bar * n_valid - 1e-9)


def predicted_cdf(k: int, n: int, right: int, of: int) -> float:
    """P(X <= k) for the correct answers X of a model on ``n`` fresh samples, knowing only
    that it got ``right`` of ``of`` other samples right (beta-binomial: a uniform prior on its
    accuracy, updated by those counts). Summed term by term in logarithms (n is a split's size)."""
    if k < 0:
        return 0.0
    if k >= n:
        return 1.0
    a, b = right + 1, of - right + 1

    def log_beta(x: float, y: float) -> float:
        return math.lgamma(x) + math.lgamma(y) - math.lgamma(x + y)

    total = 0.0
    for i in range(k + 1):
        log_choose = math.lgamma(n + 1) - math.lgamma(i + 1) - math.lgamma(n - i + 1)
        total += math.exp(log_choose + log_beta(i + a, n - i + b) - log_beta(a, b))
    return min(1.0, total)


def passing_floor(
    bar: float, n_valid: int, n_hidden: int, fail_chance: float = SAMPLING_FAIL_CHANCE
) -> int:
    """The most correct answers out of ``n_hidden`` that a hidden test may demand of a model
    that passes the visible check (``bar`` on ``n_valid`` samples) by the smallest margin,
    while failing it with probability at most ``fail_chance``.

    Both splits are samples: a model that just clears the bar on the validation split may be a
    little worse than the bar, and the hidden split varies again. Its hidden count follows
    :func:`predicted_cdf` from its validation count, so this allows for both samples, not only
    the hidden one (and is lower than :func:`sampling_floor` of the bar on ``n_hidden``).
    """
    right = visible_passes(bar, n_valid)
    return max(
        k
        for k in range(n_hidden + 1)
        if predicted_cdf(k - 1, n_hidden, right, n_valid) <= fail_chance
    )


def hidden_threshold(bar: float, n_valid: int, n_hidden: int) -> str:
    """The threshold a hidden test of ``n_hidden`` samples applies to an exercise whose stated
    bar is ``bar`` on a validation split of ``n_valid``: a model that passes the visible check
    passes the hidden test with probability at least 1 - :data:`SAMPLING_FAIL_CHANCE` (the bar
    itself stays for the visible check). See :func:`passing_floor`."""
    return written_threshold(passing_floor(bar, n_valid, n_hidden), n_hidden)
