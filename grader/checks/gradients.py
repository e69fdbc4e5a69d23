"""Gradient checks: a student's gradient against central differences in float64.

Works for anything :func:`grader.checks._arrays.to_numpy` understands (NumPy, PyTorch,
TensorFlow). The frameworks are imported only by the functions that need them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from grader.checks._arrays import to_numpy
from grader.checks.messages import say
from grader.checks.report import CheckFailed, emit, require

#: Relative error above which a gradient is wrong (float64 central differences give ~1e-9).
DEFAULT_TOLERANCE = 1e-5


def numeric_gradient(
    f: Callable[[np.ndarray], float], x: np.ndarray, eps: float = 1e-6
) -> np.ndarray:
    """The gradient of scalar ``f`` at ``x`` by central differences, in float64."""
    x = np.array(x, dtype=np.float64)
    grad = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        original = x[index]
        x[index] = original + eps
        upper = float(f(x.copy()))
        x[index] = original - eps
        lower = float(f(x.copy()))
        x[index] = original
        grad[index] = (upper - lower) / (2 * eps)
    return grad


def relative_error(computed: np.ndarray, reference: np.ndarray) -> float:
    """max |a - b| / max(|a| + |b|, 1e-12): scale-free, 0 for equal arrays."""
    a, b = np.asarray(computed, dtype=np.float64), np.asarray(reference, dtype=np.float64)
    if a.shape != b.shape:
        return float("inf")
    denominator = max(float(np.max(np.abs(a) + np.abs(b), initial=0.0)), 1e-12)
    return float(np.max(np.abs(a - b), initial=0.0)) / denominator


def _compare(check: str, what: str, computed: np.ndarray, numeric: np.ndarray, tol: float) -> float:
    require(
        computed.shape == numeric.shape,
        say("gradient-shape", check=check, where=what, got=computed.shape, want=numeric.shape),
    )
    error = relative_error(computed, numeric)
    require(
        bool(np.all(np.isfinite(computed))),
        say("gradient-not-finite", check=check, where=what),
    )
    require(
        error <= tol,
        say("gradient-differs", check=check, where=what, error=error, tol=tol),
    )
    return error


def check_gradient_function(
    check: str,
    gradient: Callable[..., Any],
    function: Callable[..., float],
    points: Sequence[Sequence[Any]],
    *,
    tol: float = DEFAULT_TOLERANCE,
) -> None:
    """Check ``gradient(*args)`` (the student's, w.r.t. the first argument) at each point.

    ``function(*numpy_args)`` is the scalar being differentiated, written in NumPy float64 by
    the test; ``points`` are argument tuples in the form the student's function expects.
    """
    computed_all = []
    try:
        for number, args in enumerate(points, start=1):
            computed = to_numpy(
                gradient(*args), say("gradient-at-point", check=check, number=number)
            )
            computed = computed.astype(np.float64)
            computed_all.append(computed)
            rest = [to_numpy(a).astype(np.float64) for a in args[1:]]

            def at(x: np.ndarray, rest: list[np.ndarray] = rest) -> float:
                return function(x, *rest)

            numeric = numeric_gradient(at, to_numpy(args[0]))
            _compare(check, say("at-point", number=number), computed, numeric, tol)
    finally:
        emit(check, "gradient", {"gradients": computed_all}, expect={"rtol": 1e-6, "atol": 1e-9})


def _upstream(shape: tuple[int, ...], number: int) -> np.ndarray:
    """A fixed, non-trivial upstream gradient (so backward is tested for every output)."""
    return np.random.default_rng(1000 + number).uniform(0.5, 1.5, size=shape)


def check_torch_function(
    check: str,
    apply: Callable[..., Any],
    points: Sequence[np.ndarray],
    *,
    tol: float = DEFAULT_TOLERANCE,
) -> None:
    """Check a custom ``torch.autograd.Function`` (pass its ``.apply``) at each point.

    Its backward must agree with central differences of its own forward, in float64.
    """
    import torch

    outputs, grads = [], []
    try:
        for number, point in enumerate(points, start=1):
            x = torch.tensor(np.asarray(point, dtype=np.float64), requires_grad=True)
            y = apply(x)
            require(
                isinstance(y, torch.Tensor),
                say("forward-not-tensor", check=check, kind=type(y).__name__),
            )
            v = torch.from_numpy(_upstream(tuple(y.shape), number))
            (y * v).sum().backward()
            require(x.grad is not None, say("backward-no-gradient", check=check))
            outputs.append(to_numpy(y, say("output-at-point", check=check, number=number)))
            grads.append(to_numpy(x.grad, say("gradient-at-point", check=check, number=number)))

            def weighted(z: np.ndarray, v: Any = v) -> float:
                with torch.no_grad():
                    return float((apply(torch.from_numpy(z)) * v).sum())

            numeric = numeric_gradient(weighted, np.asarray(point, dtype=np.float64))
            where = say("from-backward-at-point", number=number)
            _compare(check, where, grads[-1], numeric, tol)
    finally:
        emit(
            check,
            "gradient",
            {"outputs": outputs, "gradients": grads},
            expect={"rtol": 1e-6, "atol": 1e-9},
        )


def check_tf_function(
    check: str,
    function: Callable[..., Any],
    points: Sequence[np.ndarray],
    *,
    tol: float = DEFAULT_TOLERANCE,
) -> None:
    """Check a TensorFlow function (e.g. one with ``tf.custom_gradient``) at each point.

    The gradient taken with ``tf.GradientTape`` must agree with central differences of the
    function itself, in float64.
    """
    import tensorflow as tf

    outputs, grads = [], []
    try:
        for number, point in enumerate(points, start=1):
            x = tf.constant(np.asarray(point, dtype=np.float64))
            with tf.GradientTape() as tape:
                tape.watch(x)
                y = function(x)
            v = tf.constant(_upstream(tuple(y.shape), number))
            grad = tape.gradient(y, x, output_gradients=v)
            require(grad is not None, say("tape-no-gradient", check=check))
            outputs.append(to_numpy(y, say("output-at-point", check=check, number=number)))
            grads.append(to_numpy(grad, say("gradient-at-point", check=check, number=number)))

            def weighted(z: np.ndarray, v: Any = v) -> float:
                return float(tf.reduce_sum(function(tf.constant(z)) * v))

            numeric = numeric_gradient(weighted, np.asarray(point, dtype=np.float64))
            _compare(check, say("at-point", number=number), grads[-1], numeric, tol)
    finally:
        emit(
            check,
            "gradient",
            {"outputs": outputs, "gradients": grads},
            expect={"rtol": 1e-6, "atol": 1e-9},
        )


__all__ = [
    "CheckFailed",
    "check_gradient_function",
    "check_tf_function",
    "check_torch_function",
    "numeric_gradient",
    "relative_error",
]
