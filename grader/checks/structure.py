"""Structure checks by behaviour: what a model computes, whichever framework or API built it.

A network of linear layers with nothing in between is one linear map, however many layers it
has; counting weight matrices cannot tell it from a real multi-layer network, but its outputs
can. A Keras exercise that asks for one exact network (layer sizes and activations) is checked
by recomputing that network's forward pass from the model's own weights.

The kernel side decides nothing for the engine: each check emits the raw numbers (probe
inputs, the model's outputs, its weights) and the engine judges them with :mod:`grader.measures`
in its own process. The in-kernel assertion only words a message for the student.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from grader import measures
from grader.checks._arrays import to_numpy
from grader.checks.accuracy import scores_of
from grader.checks.messages import say
from grader.checks.report import CheckFailed, emit, require

#: Seed of the probe inputs of :func:`check_nonlinear` (the engine compares the student's
#: probes with the reference run's, so a kernel cannot choose easier ones).
PROBE_SEED = 4096
PROBE_COUNT = 256


def nonlinear_probes(num_features: int, scale: float = 3.0) -> np.ndarray:
    """Standard normal probe inputs times ``scale`` (inputs are expected standardized or in
    [0, 1]), the same in every run."""
    rng = np.random.default_rng(PROBE_SEED)
    return (rng.normal(size=(PROBE_COUNT, num_features)) * scale).astype(np.float32)


def check_nonlinear(check: str, model: Any, num_features: int, *, scale: float = 3.0) -> None:
    """Check that ``model`` is not an affine function of its inputs (it has a non-linearity).

    Emits the probes and the model's outputs on them at each scale of
    :data:`grader.measures.PROBE_SHRINKS`; the engine fits them itself. A ``predict`` function
    that returns one integer label per sample fails: labels show nothing of linearity (the
    argmax of a linear model is a labels function too), and the exercises ask for scores.
    """
    probes = nonlinear_probes(num_features, scale)
    scores = [scores_of(model, probes / shrink) for shrink in measures.PROBE_SHRINKS]
    emit(
        check,
        "nonlinear",
        {"probes": probes, "scores": scores},
        expect={"tolerance": measures.AFFINE_TOLERANCE},
    )
    require(not measures.is_label_output(scores[0]), say("labels-not-scores", check=check))
    residual = measures.nonlinearity_residual(probes, scores)
    require(
        residual > measures.AFFINE_TOLERANCE,
        say("linear-network", check=check, residual=residual),
    )


def _weights_of(model: Any) -> list[np.ndarray]:
    """A Keras model's weights as arrays, in the model's own order."""
    weights = getattr(model, "weights", None)
    if not isinstance(weights, list | tuple):
        raise CheckFailed(say("no-weights", kind=type(model).__name__))
    return [to_numpy(w, "a weight of the model") for w in weights]


def check_network(check: str, model: Any, probe: np.ndarray, network: str) -> None:
    """Check that the Keras ``model`` computes the forward pass named ``network`` (one of
    :data:`grader.measures.NETWORKS`) with its own weights, on the inputs ``probe``.

    Emits the probe, the model's outputs and its weights; the engine recomputes the forward
    pass from them. Layer sizes and activations both show: a missing layer, a wrong size or
    another activation gives other outputs.
    """
    outputs = to_numpy(model(probe), "the model's output")
    weights = _weights_of(model)
    emit(
        check,
        "network",
        {"probe": np.asarray(probe), "outputs": outputs, "weights": weights},
        expect={"network": network, "atol": measures.FORWARD_ATOL},
    )
    require(
        measures.follows_network(network, weights, probe, outputs),
        say(f"network-{network}", check=check),
    )
