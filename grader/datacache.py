"""A per-user disk cache of the datasets' splits, so that a process need not compute them.

Computing the splits of the small datasets (iris, digits, blobs) takes scikit-learn's import
(almost a second) and the stratified draws, and MNIST's the reading of 70,000 images (about
1.5 s); every kernel that loads one, and every ``grader autograde`` (which seals them for its
kernels), paid it again. The splits depend only on :mod:`grader.data`'s own code, the library
versions that compute them and, for MNIST, the files it was read from, so they are written once
to ``$XDG_CACHE_HOME/frameworks-grader`` (``~/.cache/frameworks-grader``) under a key made of
exactly those (:func:`cache_key`; MNIST's files by path, size and modification time), one file
per dataset, and read back by any later process.

The files hold the hidden labels: the folder is the user's own (mode 0700) and a graded kernel
never reads it (sealed mode refuses the hidden split before any cache is looked at). A missing,
unreadable or damaged file is a cache miss: the splits are computed, as without a cache.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import tempfile
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

#: Arrays of one cached file: the three splits and the class names.
KEYS = ("train_x", "train_y", "valid_x", "valid_y", "hidden_x", "hidden_y", "classes")

#: The six arrays of the three splits: x and y of train, valid and hidden.
Arrays = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def cache_folder() -> Path:
    """Where this user's cached splits live."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "frameworks-grader"


def cache_key(name: str, code: bytes) -> str:
    """What the splits of ``name`` depend on: the code that computes them (``code``, the
    source of :mod:`grader.data`) and the versions of NumPy and scikit-learn (read without
    importing scikit-learn)."""
    digest = hashlib.sha256()
    for part in (name, np.__version__, metadata.version("scikit-learn")):
        digest.update(part.encode() + b"\0")
    digest.update(code)
    return digest.hexdigest()[:24]


def _path(name: str, key: str) -> Path:
    return cache_folder() / f"{name}-{key}.npz"


def read(name: str, key: str) -> tuple[Arrays, tuple[str, ...]] | None:
    """The cached arrays and class names of ``name`` under ``key``; None when there are none
    (or the file cannot be read: it is then computed again and written anew)."""
    try:
        path = _path(name, key)
        if not path.is_file():
            return None
        with np.load(path, allow_pickle=False) as archive:
            tx, ty, vx, vy, hx, hy, classes = (archive[k] for k in KEYS)
    except (OSError, RuntimeError, ValueError, KeyError) as error:  # RuntimeError: no home
        log.warning("cached splits of %s are unreadable (%s); computing them", name, error)
        return None
    return (tx, ty, vx, vy, hx, hy), tuple(str(c) for c in classes)


def write(name: str, key: str, splits: Sequence[np.ndarray], classes: Sequence[str]) -> None:
    """Store the splits of ``name`` under ``key`` (atomically: a reader sees the whole file or
    none), in place of any under another key (older code, libraries or files: one file per
    dataset). A cache that cannot be written is logged and left: the splits were computed."""
    arrays = dict(zip(KEYS, [*splits, np.asarray(classes, dtype=str)], strict=True))
    buffer = io.BytesIO()
    np.savez(buffer, allow_pickle=False, **arrays)
    try:
        folder = cache_folder()
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(dir=folder, suffix=".tmp")
        try:
            with os.fdopen(descriptor, "wb") as stream:
                stream.write(buffer.getvalue())
            os.replace(temporary, _path(name, key))
        finally:
            Path(temporary).unlink(missing_ok=True)  # gone once replaced; left by a failure
        for stale in folder.glob(f"{name}-*.npz"):
            if stale != _path(name, key):
                stale.unlink(missing_ok=True)
    except (OSError, RuntimeError) as error:  # RuntimeError: no home folder to cache in
        log.warning("could not cache the splits of %s: %s", name, error)
