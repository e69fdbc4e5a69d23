"""The evidence format: values a test cell emits and the engine judges outside the kernel.

A test cell of this course does not only assert; it makes the student's code produce values
(gradients at given points, predictions on given inputs, the devices its tensors live on) and
emits them as a display output whose MIME type is :data:`MIME_TYPE`. The payload is plain JSON;
arrays travel as base64-encoded ``.npy`` bytes and are decoded with ``allow_pickle=False``, so
nothing from the kernel is ever unpickled. See ``docs/grading.md`` for the full description.

This module is pure (NumPy only) so that both the kernel side and the engine can import it.
"""

from __future__ import annotations

import base64
import io
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

MIME_TYPE = "application/vnd.frameworks-grader.evidence+json"
FORMAT_VERSION = 1

#: The kinds of evidence the engine knows how to judge.
KINDS = (
    "values",
    "gradient",
    "device",
    "predictions",
    "overfitting",
    "nonlinear",
    "network",
    "pick",
)

#: Largest array (in elements) a single evidence value may carry.
MAX_ELEMENTS = 2_000_000


class EvidenceError(ValueError):
    """A payload that does not follow the evidence format."""


@dataclass(frozen=True)
class Evidence:
    """One piece of evidence: what a named check saw in a test cell.

    ``values`` maps names to JSON scalars, strings, lists of those, or NumPy arrays.
    ``expect`` carries how the value is to be judged (tolerances, thresholds, dataset names);
    the engine takes ``expect`` only from the instructor's reference run, never from a student.
    """

    check: str
    kind: str
    values: Mapping[str, Any]
    expect: Mapping[str, Any] = field(default_factory=dict)
    passed_in_kernel: bool | None = None
    #: Why the payload could not be read, for an item whose check and kind could: the judge
    #: gives its test zero with this reason instead of a silent "no evidence".
    malformed: str | None = None


def encode_array(array: np.ndarray) -> dict[str, str]:
    """Encode an array as ``{"npy": base64}`` of its ``.npy`` bytes (no pickles)."""
    buffer = io.BytesIO()
    np.save(buffer, np.asarray(array), allow_pickle=False)
    return {"npy": base64.b64encode(buffer.getvalue()).decode("ascii")}


def decode_array(encoded: Mapping[str, Any]) -> np.ndarray:
    """Decode :func:`encode_array`'s output, refusing object arrays and oversized data."""
    try:
        raw = base64.b64decode(encoded["npy"], validate=True)
        array = np.load(io.BytesIO(raw), allow_pickle=False)
    except (KeyError, TypeError, ValueError, OSError) as error:
        raise EvidenceError(f"not an encoded array: {error}") from error
    if array.size > MAX_ELEMENTS:
        raise EvidenceError(f"array of {array.size} elements exceeds {MAX_ELEMENTS}")
    return array


def _encode_value(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return encode_array(value)
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Mapping):
        return {str(k): _encode_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_encode_value(v) for v in value]
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else repr(value)
    raise EvidenceError(f"cannot encode a value of type {type(value).__name__}")


def _decode_value(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {"npy"}:
            return decode_array(value)
        return {k: _decode_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode_value(v) for v in value]
    if value in ("nan", "inf", "-inf"):
        return float(value)
    return value


def to_payload(evidence: Evidence) -> dict[str, Any]:
    """The JSON payload of one piece of evidence."""
    if evidence.kind not in KINDS:
        raise EvidenceError(f"unknown evidence kind {evidence.kind!r}")
    return {
        "format": FORMAT_VERSION,
        "check": evidence.check,
        "kind": evidence.kind,
        "values": _encode_value(dict(evidence.values)),
        "expect": _encode_value(dict(evidence.expect)),
        "passed_in_kernel": evidence.passed_in_kernel,
    }


def from_payload(payload: Any) -> Evidence:
    """Parse and validate a payload; raises :class:`EvidenceError` with the reason."""
    if not isinstance(payload, dict):
        raise EvidenceError("evidence payload is not a JSON object")
    if payload.get("format") != FORMAT_VERSION:
        raise EvidenceError(f"unsupported evidence format {payload.get('format')!r}")
    check, kind = payload.get("check"), payload.get("kind")
    if not isinstance(check, str) or not check:
        raise EvidenceError("evidence without a check name")
    if kind not in KINDS:
        raise EvidenceError(f"unknown evidence kind {kind!r}")
    values, expect = payload.get("values", {}), payload.get("expect", {})
    if not isinstance(values, dict) or not isinstance(expect, dict):
        raise EvidenceError("evidence values and expect must be JSON objects")
    passed = payload.get("passed_in_kernel")
    return Evidence(
        check=check,
        kind=kind,
        values=_decode_value(values),
        expect=_decode_value(expect),
        passed_in_kernel=passed if isinstance(passed, bool) else None,
    )


def evidence_in_outputs(outputs: list[Mapping[str, Any]]) -> list[Evidence]:
    """All evidence among a cell's outputs, in order.

    A payload that names its check and kind but cannot be read (an oversized or malformed
    array, values of the wrong type) stays in the list as an item with ``malformed`` set, so
    its test fails with the reason; one without a readable check and kind is left out.
    """
    found = []
    for output in outputs:
        data = output.get("data") if isinstance(output, Mapping) else None
        if not isinstance(data, Mapping) or MIME_TYPE not in data:
            continue
        payload = data[MIME_TYPE]
        try:
            found.append(from_payload(payload))
        except EvidenceError as error:
            check = payload.get("check") if isinstance(payload, dict) else None
            kind = payload.get("kind") if isinstance(payload, dict) else None
            if isinstance(check, str) and check and kind in KINDS:
                found.append(Evidence(check=check, kind=kind, values={}, malformed=str(error)))
    return found
