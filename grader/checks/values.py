"""Comparing values a student's code produced with expected ones."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from grader.checks._arrays import to_numpy
from grader.checks.report import emit, require


def _describe(value: np.ndarray) -> str:
    return f"an array of shape {value.shape}" if value.ndim else f"{value.item()!r}"


def check_values(
    check: str,
    produced: Mapping[str, Any],
    expected: Mapping[str, Any],
    *,
    rtol: float = 1e-5,
    atol: float = 1e-8,
    show_expected: bool = False,
) -> None:
    """Check that each produced value is close to the expected one and emit them as evidence.

    ``expected`` usually comes from a hidden test; it is named in a failure message only when
    ``show_expected`` is true (for public tests whose answer is no secret).
    """
    arrays = {name: to_numpy(value) for name, value in produced.items()}
    emit(check, "values", arrays, expect={"rtol": rtol, "atol": atol}, passed=None)
    for name, want in expected.items():
        require(name in arrays, f"{check}: no value named {name!r} was produced")
        got, want_array = arrays[name], np.asarray(want)
        require(
            got.shape == want_array.shape,
            f"{check}: {name} should have shape {want_array.shape}, got {got.shape}",
        )
        close = bool(np.allclose(got.astype(float), want_array.astype(float), rtol=rtol, atol=atol))
        hint = f", expected {_describe(want_array)}" if show_expected else ""
        require(close, f"{check}: {name} is not what it should be (got {_describe(got)}{hint})")
