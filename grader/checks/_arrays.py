"""Turning framework tensors into NumPy arrays without importing any framework eagerly."""

from __future__ import annotations

import sys
from typing import Any

import numpy as np


def to_numpy(value: Any) -> np.ndarray:
    """A float64-or-integer NumPy copy of a NumPy array, a torch tensor or a TensorFlow tensor."""
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(value, torch.Tensor):
        return value.detach().cpu().numpy().copy()
    if hasattr(value, "numpy") and callable(value.numpy):
        return np.array(value.numpy())
    return np.array(value)


def is_torch_tensor(value: Any) -> bool:
    """Whether ``value`` is a torch tensor (without importing torch)."""
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(value, torch.Tensor)
