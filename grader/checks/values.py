"""Comparing values a student's code produced with expected ones."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from grader.checks._arrays import to_numpy
from grader.checks.messages import say
from grader.checks.report import emit, require

#: Arrays up to this many elements are printed in full where the expected value may be shown.
SHOWN_ELEMENTS = 12


def _describe(value: np.ndarray) -> str:
    if value.ndim == 0:
        return repr(value.item())
    if value.size <= SHOWN_ELEMENTS:
        return " ".join(np.array2string(value, precision=6, separator=", ").split())
    return say("array-of-shape", shape=value.shape)


def _is_numeric(value: np.ndarray) -> bool:
    return np.issubdtype(value.dtype, np.number) or np.issubdtype(value.dtype, np.bool_)


def _how_they_differ(
    got: np.ndarray, want: np.ndarray, rtol: float, atol: float, shown: bool
) -> str:
    """Where and by how much two same-shaped numeric arrays differ, without showing ``want``.

    The largest difference is given to one significant digit: enough to tell a sign error
    from a rounding error, not enough to read a hidden array back. For a single hidden number
    (not ``shown``) the size of the difference would give the answer away, so it is left out.
    """
    got, want = got.astype(np.float64), want.astype(np.float64)
    if got.ndim == 0:
        if shown:
            return say("differs-by-about", size=float(abs(got - want)))
        return say("differs-beyond-tolerance")
    wrong = ~np.isclose(got, want, rtol=rtol, atol=atol, equal_nan=True)
    difference = np.where(np.isnan(got) | np.isnan(want), np.inf, np.abs(got - want))
    first = _index(int(np.flatnonzero(wrong)[0]), got.shape)
    largest = _index(int(difference.argmax()), got.shape)
    return say(
        "values-differ",
        wrong=int(wrong.sum()),
        total=got.size,
        first=first,
        size=float(difference.max()),
        largest=largest,
    )


def _index(flat: int, shape: tuple[int, ...]) -> int | tuple[int, ...]:
    """A flat position as the index a student would write: ``3`` or ``(1, 2)``."""
    place = tuple(int(i) for i in np.unravel_index(flat, shape))
    return place[0] if len(place) == 1 else place


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
    ``show_expected`` is true (for public tests whose answer is no secret). A value that is not
    numbers in a regular shape fails with a message naming the accepted forms.
    """
    arrays = {name: to_numpy(value, f"{check}: {name}") for name, value in produced.items()}
    emit(check, "values", arrays, expect={"rtol": rtol, "atol": atol})
    for name, want in expected.items():
        require(name in arrays, say("value-missing", check=check, name=name))
        got, want_array = arrays[name], np.asarray(want)
        require(
            got.shape == want_array.shape,
            say("value-shape", check=check, name=name, want=want_array.shape, got=got.shape),
        )
        hint = say("expected-hint", want=_describe(want_array)) if show_expected else ""
        if not (_is_numeric(got) and _is_numeric(want_array)):
            require(
                bool(np.array_equal(got, want_array)),
                say("value-wrong", check=check, name=name, got=_describe(got), hint=hint),
            )
            continue
        close = bool(np.allclose(got.astype(float), want_array.astype(float), rtol=rtol, atol=atol))
        if not close:
            how = _how_they_differ(got, want_array, rtol, atol, show_expected)
            fields = {"check": check, "name": name, "how": how, "got": _describe(got), "hint": hint}
            if got.ndim:
                require(False, say("value-not-close", shape=got.shape, **fields))
            require(False, say("number-not-close", **fields))
