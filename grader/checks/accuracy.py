"""Accuracy on the hidden split, for a ``torch.nn.Module``, a ``keras.Model`` or a function.

The hidden labels never enter the notebook's namespace: under plain nbgrader the check reads
them itself; in a kernel of the hardened engine (``grader.data`` in sealed mode) they are not
there at all, and the engine computes the accuracy from the emitted predictions.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import numpy as np

from grader import data
from grader.checks._arrays import to_numpy
from grader.checks.messages import say
from grader.checks.report import CheckFailed, emit, require


def _ends_with_sigmoid(model: Any) -> bool:
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(model, torch.nn.Module):
        modules = list(model.modules())
        return bool(modules) and isinstance(modules[-1], torch.nn.Sigmoid)
    layers = getattr(model, "layers", None)
    if layers:
        activation = getattr(layers[-1], "activation", None)
        return getattr(activation, "__name__", "") == "sigmoid"
    return False


def scores_of(model: Any, x: np.ndarray) -> np.ndarray:
    """The outputs of a ``torch.nn.Module``, a ``keras.Model`` or a function on ``x``."""
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(model, torch.nn.Module):
        parameter = next(model.parameters(), None)
        device = parameter.device if parameter is not None else "cpu"
        was_training = model.training
        model.eval()
        try:
            with torch.no_grad():
                inputs = torch.tensor(np.asarray(x), dtype=torch.float32, device=device)
                return to_numpy(model(inputs), "the model's output")
        finally:
            model.train(was_training)
    if hasattr(model, "predict") and hasattr(model, "layers"):  # a Keras model
        return to_numpy(model.predict(x, verbose=0, batch_size=512), "the model's output")
    if callable(model):
        return to_numpy(model(x), "the predict function's output")
    raise CheckFailed(say("no-predictions", kind=type(model).__name__))


def predict_labels(model: Any, x: np.ndarray) -> np.ndarray:
    """Predicted class labels of ``model`` on ``x``.

    Several outputs per sample: the largest wins. One output per sample: a probability
    (threshold 0.5) if the model ends with a sigmoid layer or every output lies in [0, 1] (a
    sigmoid applied inside ``forward``/``call``), otherwise a logit (threshold 0). A function
    may also return labels directly.
    """
    scores = scores_of(model, x)
    if scores.ndim == 2 and scores.shape[1] > 1:
        return scores.argmax(axis=1)
    scores = scores.reshape(len(x))
    if np.issubdtype(scores.dtype, np.integer) or np.issubdtype(scores.dtype, np.bool_):
        return scores.astype(np.int64)
    probabilities = bool(np.all((scores >= 0) & (scores <= 1)))
    threshold = 0.5 if probabilities or _ends_with_sigmoid(model) else 0.0
    return (scores > threshold).astype(np.int64)


def accuracy(model: Any, x: np.ndarray, y: np.ndarray) -> float:
    """The fraction of ``x`` that ``model`` labels as ``y``."""
    return float(np.mean(predict_labels(model, x) == np.asarray(y)))


def check_accuracy(
    check: str,
    model: Any,
    dataset: str,
    threshold: float,
    *,
    transform: Callable[[np.ndarray], Any] | None = None,
) -> None:
    """Check the accuracy of ``model`` on the hidden split of ``dataset`` against ``threshold``.

    ``transform`` is the student's own preprocessing (e.g. normalization with training
    statistics), applied to the hidden inputs before prediction. The predictions are emitted as
    evidence. Under plain nbgrader the check also computes the accuracy and fails below
    ``threshold``; in a graded kernel (sealed data) the labels are not there, so it only emits
    and the engine judges. Returns None on purpose: a number as a test cell's last expression
    would become partial credit under plain nbgrader.
    """
    inputs = data.hidden_inputs(dataset)
    if transform is not None:
        inputs = to_numpy(transform(inputs.copy()), f"{check}: the transformed inputs")
        inputs = inputs.astype(np.float32)
    predictions = predict_labels(model, inputs)
    require(
        predictions.shape == (len(inputs),),
        say("predictions-shape", check=check, count=len(inputs), shape=predictions.shape),
    )
    values = {"dataset": dataset, "predictions": predictions.astype(np.int64)}
    expect = {"threshold": threshold}
    emit(check, "predictions", values, expect=expect)
    if data.is_sealed():  # graded by the engine: the labels are not in this kernel
        return
    score = float(np.mean(predictions == data.hidden_split(dataset).y))
    require(
        score >= threshold,
        say("accuracy-low", check=check, score=score, threshold=threshold),
    )
