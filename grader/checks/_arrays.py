"""Turning a student's values into NumPy arrays without importing any framework eagerly.

Everything a check compares goes through :func:`to_numpy`, so an answer in any of the forms a
notebook allows (a NumPy array, a torch tensor on any device, with or without gradients, a
TensorFlow tensor or variable, a number, a list or tuple of those) becomes an array, and
anything else becomes a :class:`~grader.checks.report.CheckFailed` that names the accepted
forms, never a traceback from inside the checks.
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np

from grader.checks.messages import say
from grader.checks.report import CheckFailed

#: The forms a numeric answer may take, as the messages name them.
ACCEPTED_FORMS = (
    "a NumPy array, a torch tensor, a TensorFlow tensor, a Python number, "
    "or a list or tuple of these"
)


def is_torch_tensor(value: Any) -> bool:
    """Whether ``value`` is a torch tensor (without importing torch)."""
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(value, torch.Tensor)


def _convert(value: Any) -> np.ndarray:
    if is_torch_tensor(value):
        tensor = value.detach()
        if tensor.device.type == "meta":
            raise ValueError("a tensor on the 'meta' device has no values")
        if tensor.dtype == sys.modules["torch"].bfloat16:  # NumPy has no bfloat16
            tensor = tensor.float()
        return tensor.cpu().numpy().copy()
    if isinstance(value, np.ndarray | np.generic):
        return np.array(value)
    if isinstance(value, list | tuple):
        return np.array([_convert(item) for item in value])
    if hasattr(value, "numpy") and callable(value.numpy):  # TensorFlow tensors and variables
        return np.array(value.numpy())
    return np.array(value)


def to_numpy(value: Any, what: str = "the value") -> np.ndarray:
    """A NumPy copy of ``value`` (see the module's docstring for the forms it accepts).

    Raises :class:`CheckFailed`, naming ``what`` and the accepted forms, for anything that is
    not numbers or strings in a regular (not ragged) shape.
    """
    try:
        array = _convert(value)
    except (TypeError, ValueError, RuntimeError, NotImplementedError) as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise CheckFailed(
            say("value-unreadable", what=what, reason=reason, forms=say("accepted-forms"))
        ) from None
    if value is None:
        raise CheckFailed(say("value-none", what=what, forms=say("accepted-forms")))
    if array.dtype == object:
        raise CheckFailed(
            say("value-ragged", what=what, kind=type(value).__name__, forms=say("accepted-forms"))
        )
    return array
