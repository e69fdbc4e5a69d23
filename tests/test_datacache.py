"""The datasets' splits in the user's disk cache: computed once, read by later processes."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np

from grader import datacache

CACHED = ("iris", "digits", "blobs")

#: Loads every cached dataset in a fresh process and prints whether scikit-learn was imported,
#: then a digest of every array (values, dtype and shape) and the class names.
LOAD = """
import hashlib, sys
from grader import data
digest = hashlib.sha256()
for name in NAMES:
    train, valid, hidden, classes = data._splits(name)
    for array in (train.x, train.y, valid.x, valid.y, hidden.x, hidden.y):
        assert not array.flags.writeable
        digest.update(array.tobytes() + str((array.dtype, array.shape)).encode())
    digest.update(repr(classes).encode())
print("sklearn" in sys.modules, digest.hexdigest())
""".replace("NAMES", repr(CACHED))


def _load(cache_home: Path) -> tuple[bool, str]:
    env = {**os.environ, "XDG_CACHE_HOME": str(cache_home)}
    done = subprocess.run(
        [sys.executable, "-c", LOAD], env=env, capture_output=True, text=True, check=True
    )
    imported, digest = done.stdout.split()
    return imported == "True", digest


def test_a_later_process_reads_the_splits_without_scikit_learn(tmp_path: Path) -> None:
    imported_first, computed = _load(tmp_path)
    assert imported_first, "the first process computes the splits with scikit-learn"
    folder = tmp_path / "frameworks-grader"
    assert sorted(p.name.split("-")[0] for p in folder.iterdir()) == sorted(CACHED)
    imported_later, read = _load(tmp_path)
    assert not imported_later, "a later process should read the cache, not compute"
    assert read == computed


def test_a_damaged_cache_file_is_computed_again_and_replaced(tmp_path: Path) -> None:
    _, computed = _load(tmp_path)
    for path in (tmp_path / "frameworks-grader").iterdir():
        path.write_bytes(b"not an npz file")
    imported, again = _load(tmp_path)
    assert imported and again == computed
    imported, read = _load(tmp_path)  # the damaged files were written anew
    assert not imported and read == computed


def test_the_cache_is_the_users_own(tmp_path: Path) -> None:
    _load(tmp_path)
    folder = tmp_path / "frameworks-grader"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert {stat.S_IMODE(p.stat().st_mode) for p in folder.iterdir()} == {0o600}
    assert not list(folder.glob("*.tmp"))


def test_the_key_follows_the_dataset_and_the_code() -> None:
    key = datacache.cache_key("iris", b"code")
    assert key == datacache.cache_key("iris", b"code")
    assert key != datacache.cache_key("digits", b"code")
    assert key != datacache.cache_key("iris", b"code, changed")


def test_no_place_to_cache_still_loads(tmp_path: Path) -> None:
    """A cache folder that cannot be made (here: below a file) is a miss every time, no error."""
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    _, computed = _load(tmp_path)
    imported, again = _load(blocker)
    assert imported and again == computed


#: Loads MNIST's splits in a fresh process and prints whether its files were read, then a
#: digest of every array (values, dtype and shape) and the class names.
LOAD_MNIST = """
import hashlib
from grader import data
read = []
reader = data.read_mnist_like
data.read_mnist_like = lambda: (read.append(True), reader())[1]
train, valid, hidden, classes = data._splits("mnist")
digest = hashlib.sha256()
for array in (train.x, train.y, valid.x, valid.y, hidden.x, hidden.y):
    assert not array.flags.writeable
    digest.update(array.tobytes() + str((array.dtype, array.shape)).encode())
digest.update(repr(classes).encode())
print(bool(read), digest.hexdigest(), train.x.dtype, train.x.max() <= 1.0)
"""


def _mnist_file(path: Path, seed: int) -> None:
    """An MNIST-format .npz (Keras' layout) of random 28x28 images, enough for the splits."""
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 256, size=(10_500, 28, 28), dtype=np.uint8)
    y = rng.integers(0, 10, size=10_500).astype(np.uint8)
    np.savez(path, x_train=x[:8000], y_train=y[:8000], x_test=x[8000:], y_test=y[8000:])


def _load_mnist(cache_home: Path, source: Path) -> tuple[bool, str]:
    env = {**os.environ, "XDG_CACHE_HOME": str(cache_home), "GRADER_MNIST_PATH": str(source)}
    done = subprocess.run(
        [sys.executable, "-c", LOAD_MNIST], env=env, capture_output=True, text=True, check=True
    )
    read, digest, dtype, scaled = done.stdout.split()
    assert (dtype, scaled) == ("float32", "True"), "the pixels are scaled to [0, 1]"
    return read == "True", digest


def test_mnist_splits_are_read_from_the_cache_until_its_file_changes(tmp_path: Path) -> None:
    """A later process reads MNIST's splits from the cache, the same arrays as computed; once
    the file it came from changes, they are computed from the file again and the stale entry
    is replaced (one file per dataset)."""
    source, cache_home = tmp_path / "mnist.npz", tmp_path / "cache"
    _mnist_file(source, seed=0)
    read_first, computed = _load_mnist(cache_home, source)
    assert read_first, "the first process reads the MNIST file"
    read_later, cached = _load_mnist(cache_home, source)
    assert not read_later, "a later process should read the cache, not the MNIST file"
    assert cached == computed
    _mnist_file(source, seed=1)
    later = source.stat().st_mtime_ns + 10**9
    os.utime(source, ns=(later, later))
    read_again, changed = _load_mnist(cache_home, source)
    assert read_again and changed != computed
    assert len(list((cache_home / "frameworks-grader").glob("mnist-*.npz"))) == 1
