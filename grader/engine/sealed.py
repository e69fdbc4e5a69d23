"""Sealed data: the datasets a graded kernel gets, written by the engine without hidden labels.

Inside a graded kernel ``grader.data`` runs in sealed mode (``GRADER_SEALED_DATA`` names the
folder written here): ``data.load`` and ``data.hidden_inputs`` read these files and
``data.hidden_split`` raises. The engine computes the files in its own process (plain mode) and
keeps the labels of the hidden split to itself (:func:`hidden_labels_of`, carried in the plan).

Which datasets: iris, digits and blobs, always (the graded tests of this course use only
those; writing them costs a few milliseconds and under a megabyte per kernel). 28x28 MNIST is
not sealed by default: no graded test uses it, the lab's demonstration falls back to the digits
when it is missing, and it would cost ~30 MB per kernel. Add ``"mnist"`` to
:attr:`grader.engine.sandbox.SandboxPolicy.sealed_datasets` to provide it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np

from grader import data

#: Datasets written for every kernel (see the module's docstring for why not mnist).
SEALED_DATASETS = ("iris", "digits", "blobs")


def sealed_files(names: Iterable[str]) -> dict[str, bytes]:
    """The ``<name>.npz`` contents of each dataset of ``names`` that this machine has.

    The grading process computes them once and its plan carries them to the workers
    (:attr:`grader.engine.task.AssignmentPlan.sealed`), so that a worker loads no dataset
    itself: scikit-learn's import alone would cost each worker more than a second.
    """
    files = {}
    for name in names:
        try:
            files[name] = data.sealed_bytes(name)
        except data.DataUnavailable:
            continue
    return files


def hidden_labels_of(names: Iterable[str]) -> dict[str, np.ndarray]:
    """The true labels of each dataset's hidden split (plain mode), for the judge: they travel
    in the plan beside the sealed files and never into a kernel."""
    return {name: np.asarray(data.hidden_split(name).y) for name in names}


def write_sealed(
    folder: Path, names: Iterable[str], computed: Mapping[str, bytes] | None = None
) -> tuple[str, ...]:
    """Write ``<name>.npz`` for each dataset of ``names`` that this machine has; read-only.

    The contents come from ``computed`` (:func:`sealed_files`) where it holds the dataset, else
    from ``grader.data`` here. A dataset this machine cannot load (28x28 data not installed) is
    left out: in the kernel ``data.load`` then raises :class:`grader.data.DataUnavailable`, as
    on a machine without it. Returns the names written.
    """
    names = tuple(names)
    files = dict(computed or {})
    files.update(sealed_files(name for name in names if name not in files))
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name in names:
        if name not in files:
            continue
        path = folder / f"{name}.npz"
        path.write_bytes(files[name])
        path.chmod(0o444)
        written.append(name)
    folder.chmod(0o555)
    return tuple(written)
