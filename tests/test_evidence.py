"""The evidence format: round trips, refuses pickles, and really leaves a kernel."""

from __future__ import annotations

import base64
import io
import pickle

import nbformat
import numpy as np
import pytest
from nbclient import NotebookClient

from grader import evidence
from grader.evidence import Evidence, EvidenceError


def test_round_trip_keeps_arrays_and_scalars() -> None:
    original = Evidence(
        check="g",
        kind="gradient",
        values={"gradients": [np.arange(6.0).reshape(2, 3), np.array([1, 2])], "n": 3},
        expect={"rtol": 1e-6},
        passed_in_kernel=True,
    )
    parsed = evidence.from_payload(evidence.to_payload(original))
    assert parsed.check == "g" and parsed.kind == "gradient" and parsed.expect == {"rtol": 1e-6}
    assert np.array_equal(parsed.values["gradients"][0], original.values["gradients"][0])
    assert parsed.values["gradients"][1].dtype == np.int64


def test_object_arrays_and_pickles_are_refused() -> None:
    buffer = io.BytesIO()
    np.save(buffer, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(EvidenceError):
        evidence.decode_array({"npy": base64.b64encode(buffer.getvalue()).decode()})
    with pytest.raises(EvidenceError):
        evidence.decode_array({"npy": base64.b64encode(pickle.dumps([1, 2])).decode()})


@pytest.mark.parametrize(
    "payload",
    [
        [],
        {"format": 2},
        {"format": 1, "check": "", "kind": "values"},
        {"format": 1, "check": "x", "kind": "magic"},
    ],
)
def test_malformed_payloads_are_refused(payload: object) -> None:
    with pytest.raises(EvidenceError):
        evidence.from_payload(payload)


def test_checks_emit_evidence_from_a_real_kernel(tmp_path) -> None:
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_code_cell(
            "from grader import checks\n"
            "checks.check_values('v', {'w': [1.0, 2.0]}, {'w': [1.0, 2.0]})\n"
            "print('after')"
        )
    ]
    NotebookClient(notebook, timeout=60, resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = notebook.cells[0].outputs
    found = evidence.evidence_in_outputs(outputs)
    assert [(e.check, e.kind) for e in found] == [("v", "values")]
    assert np.array_equal(found[0].values["w"], [1.0, 2.0])
    assert any("after" in o.get("text", "") for o in outputs)
