"""Sealed data: the datasets a graded kernel gets, written by the engine without hidden labels.

Inside a graded kernel ``grader.data`` runs in sealed mode (``GRADER_SEALED_DATA`` names the
folder written here): ``data.load`` and ``data.hidden_inputs`` read these files and
``data.hidden_split`` raises. The engine computes the files in its own process (plain mode) and
keeps the labels of the hidden split to itself (:func:`grader.engine.autograde.hidden_labels`).

Which datasets: iris, digits and blobs, always (the graded tests of this course use only
those; writing them costs a few milliseconds and under a megabyte per kernel). 28x28 MNIST is
not sealed by default: no graded test uses it, the lab's demonstration falls back to the digits
when it is missing, and it would cost ~30 MB per kernel. Add ``"mnist"`` to
:attr:`grader.engine.sandbox.SandboxPolicy.sealed_datasets` to provide it.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from grader import data

#: Datasets written for every kernel (see the module's docstring for why not mnist).
SEALED_DATASETS = ("iris", "digits", "blobs")


def write_sealed(folder: Path, names: Iterable[str]) -> tuple[str, ...]:
    """Write ``<name>.npz`` for each dataset of ``names`` that this machine has; read-only.

    A dataset this machine cannot load (28x28 data not installed) is left out: in the kernel
    ``data.load`` then raises :class:`grader.data.DataUnavailable`, as on a machine without it.
    Returns the names written.
    """
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name in names:
        try:
            path = data.seal(name, folder)
        except data.DataUnavailable:
            continue
        path.chmod(0o444)
        written.append(name)
    folder.chmod(0o555)
    return tuple(written)
