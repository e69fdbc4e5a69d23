"""The library that notebook test cells call. It runs inside the student's kernel.

It holds no secret and trusts nothing: each check both asserts (so plain ``nbgrader
autograde`` and the student's own Validate give readable messages) and emits *evidence*
(:mod:`grader.evidence`) that the engine judges again outside the kernel. Frameworks are
imported lazily, so a PyTorch notebook never pays for importing TensorFlow.
"""

from grader.checks.accuracy import accuracy, check_accuracy, predict_labels, scores_of
from grader.checks.devices import (
    check_follows_device,
    check_on_device,
    check_pick_device,
    devices_of,
    fake_cuda,
    fake_tf_gpu,
    grading_device,
    lightning_as_script,
)
from grader.checks.gradients import (
    check_gradient_function,
    check_tf_function,
    check_torch_function,
    numeric_gradient,
    relative_error,
)
from grader.checks.messages import current_language, say, set_language
from grader.checks.overfitting import (
    best_epoch,
    check_answers,
    check_gap_narrowed,
    early_stopping_epoch,
)
from grader.checks.report import CheckFailed, emit, require
from grader.checks.structure import check_network, check_nonlinear, nonlinear_probes
from grader.checks.values import check_values
from grader.measures import generalization_gap

__all__ = [
    "CheckFailed",
    "accuracy",
    "best_epoch",
    "check_accuracy",
    "check_answers",
    "check_follows_device",
    "check_gap_narrowed",
    "check_gradient_function",
    "check_network",
    "check_nonlinear",
    "check_on_device",
    "check_pick_device",
    "check_tf_function",
    "check_torch_function",
    "check_values",
    "current_language",
    "devices_of",
    "early_stopping_epoch",
    "emit",
    "fake_cuda",
    "fake_tf_gpu",
    "generalization_gap",
    "grading_device",
    "lightning_as_script",
    "nonlinear_probes",
    "numeric_gradient",
    "predict_labels",
    "relative_error",
    "require",
    "say",
    "scores_of",
    "set_language",
]
