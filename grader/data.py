"""Datasets that work offline, with fixed, documented splits.

Every dataset here has three parts:

- ``train`` and ``valid``: what a student works with (features and labels);
- a *hidden* split (:func:`hidden_split`) that no notebook receives with labels. Test cells
  pass only its features (:func:`hidden_inputs`) to the student's model; the labels are read
  by the checks (plain nbgrader) or by the engine in its own process (hardened grading).

Splits are stratified and drawn with fixed seeds, so the same indices come out on every
machine; the validation and hidden splits are shared out by difficulty too, so that a bar met
on one means the same on the other (:func:`_stratified_split`). Their sizes are in
``docs/thresholds.md``. The splits are computed once per user and kept in the user's disk
cache (:mod:`grader.datacache`): a later process reads them without importing scikit-learn or
reading MNIST's files (its cached splits follow the files found: another file, or the same one
changed, is read again).

28x28 MNIST-format data is read with a real IDX/npz loader from, in order: the path in the
``GRADER_MNIST_PATH`` environment variable, the Keras cache (``~/.keras/datasets/mnist.npz``)
and Debian's ``dataset-fashion-mnist`` package. Nothing is ever downloaded.

**Sealed mode.** Inside a kernel of the hardened engine the environment variable
``GRADER_SEALED_DATA`` names a read-only folder the engine wrote with :func:`seal`: one
``<name>.npz`` per dataset with the training and validation splits, the hidden split's
*features* only and the class names. There :func:`load` and :func:`hidden_inputs` read those
files, nothing is computed from scikit-learn or read from MNIST files, and :func:`hidden_split`
(like every loader of a whole dataset) raises :class:`HiddenLabelsUnavailable`: the hidden labels
never enter a graded kernel. Without the variable (JupyterLab, plain ``nbgrader autograde``, the
engine's own process) everything works as described above ("plain mode").
"""

from __future__ import annotations

import gzip
import io
import os
import struct
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from grader import datacache
from grader.steady import steady_keras_input

SPLIT_SEED = 20241127

DEBIAN_FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")
KERAS_MNIST = Path("~/.keras/datasets/mnist.npz")


#: Environment variable naming the folder of sealed datasets (set only in graded kernels).
SEALED_ENV = "GRADER_SEALED_DATA"

#: Arrays of one sealed ``<name>.npz`` file (no hidden labels among them).
SEALED_KEYS = ("train_x", "train_y", "valid_x", "valid_y", "hidden_x", "classes")


class DataUnavailable(FileNotFoundError):
    """A dataset that is not on this machine; the message says how to get it."""


class HiddenLabelsUnavailable(PermissionError):
    """Raised in a graded kernel (sealed mode): the hidden labels stay with the engine."""


def sealed_folder() -> Path | None:
    """The folder of sealed datasets when running in a graded kernel, else None."""
    value = os.environ.get(SEALED_ENV)
    return Path(value) if value else None


def is_sealed() -> bool:
    """Whether this process runs in sealed mode (inside a kernel of the hardened engine)."""
    return sealed_folder() is not None


def _plain_only(what: str) -> None:
    """Refuse ``what`` in sealed mode: it would compute or read the hidden labels."""
    if is_sealed():
        raise HiddenLabelsUnavailable(
            f"hidden labels are not available inside a graded kernel ({what} is disabled "
            "here; the engine judges predictions itself)"
        )


@dataclass(frozen=True)
class Split:
    """Features ``x`` (float32, one row per sample) and integer labels ``y``."""

    x: np.ndarray
    y: np.ndarray

    def __len__(self) -> int:
        return len(self.y)


@dataclass(frozen=True)
class Dataset:
    """A student's view of a dataset: training and validation splits and class names."""

    name: str
    train: Split
    valid: Split
    classes: tuple[str, ...]

    @property
    def num_features(self) -> int:
        return int(np.prod(self.train.x.shape[1:]))

    @property
    def num_classes(self) -> int:
        return len(self.classes)


def _stratified_split(
    x: np.ndarray, y: np.ndarray, sizes: tuple[int, int, int], seed: int, balanced: bool
) -> tuple[np.ndarray, ...]:
    """Indices of three disjoint, class-stratified parts with the given sizes.

    The parts are stratified random draws. With ``balanced``, the validation and hidden parts
    are then drawn again from their union so that they are *as hard as each other*, not only
    of the same classes: a student's model is judged on the hidden part against the bar it met
    on the validation part, and two random draws of a few hundred samples can differ by a
    factor of two in the errors every model makes on them. The union is ordered by class, then
    by difficulty (:func:`_difficulty`), then at random, and every ``len(union) / n_hidden``-th
    sample is hidden (a systematic sample), so that each class and each level of difficulty is
    shared out in proportion. The training part is the same either way.
    """
    from sklearn.model_selection import train_test_split

    everything = np.arange(len(y))
    n_train, n_valid, n_hidden = sizes
    rest, hidden = train_test_split(everything, test_size=n_hidden, stratify=y, random_state=seed)
    train, valid = train_test_split(
        rest, train_size=n_train, test_size=n_valid, stratify=y[rest], random_state=seed + 1
    )
    train = np.sort(train)
    if not balanced:
        return train, np.sort(valid), np.sort(hidden)
    union = np.sort(np.concatenate([valid, hidden]))
    rng = np.random.default_rng(seed)
    at_random = rng.permutation(len(union))
    difficulty = _difficulty(x[train], y[train], x[union], y[union])
    order = np.lexsort((at_random, difficulty, y[union]))
    step, start = n_hidden / len(union), rng.random()
    position = np.arange(len(union) + 1) * step + start
    is_hidden = np.diff(np.floor(position)) == 1
    return train, np.sort(union[order[~is_hidden]]), np.sort(union[order[is_hidden]])


#: Neighbours consulted by :func:`_difficulty`.
DIFFICULTY_NEIGHBOURS = 10


def _difficulty(
    train_x: np.ndarray, train_y: np.ndarray, x: np.ndarray, y: np.ndarray
) -> np.ndarray:
    """How hard each sample of ``x`` is: how many of its :data:`DIFFICULTY_NEIGHBOURS` nearest
    training samples carry another label (0 to 10).

    Squared distances are summed feature by feature in float64, in a fixed order, and ties are
    broken by position, so the same counts come out on every machine (no BLAS rounding).
    """
    train_x = train_x.reshape(len(train_x), -1).astype(np.float64)
    x = x.reshape(len(x), -1).astype(np.float64)
    distances = np.zeros((len(x), len(train_x)))
    for feature in range(x.shape[1]):
        distances += (x[:, feature, None] - train_x[None, :, feature]) ** 2
    nearest = np.argsort(distances, axis=1, kind="stable")[:, :DIFFICULTY_NEIGHBOURS]
    return (train_y[nearest] != y[:, None]).sum(axis=1)


@dataclass(frozen=True)
class _Source:
    load: Callable[[], tuple[np.ndarray, np.ndarray, tuple[str, ...]]]
    sizes: tuple[int, int, int]
    #: Validation and hidden splits drawn as hard as each other (see :func:`_stratified_split`).
    balanced: bool = True
    #: ``load`` gives 8-bit pixels, scaled to float32 in [0, 1] once split: only the images
    #: kept are converted (10,000 of MNIST's 70,000, the same values as converting them all).
    pixels: bool = False
    #: The splits are kept in the user's disk cache (:mod:`grader.datacache`) and later
    #: processes need not compute them: for a fixed source (scikit-learn's own data), or one
    #: whose files ``identity`` names.
    cached: bool = False
    #: For a source read from files found at run time: what identifies them (path, size,
    #: modification time) as part of the cache key; None when there are none to read.
    identity: Callable[[], bytes | None] | None = None


def _load_iris() -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    _plain_only("loading iris")
    from sklearn.datasets import load_iris

    bunch = load_iris()
    return bunch.data.astype(np.float32), bunch.target.astype(np.int64), tuple(bunch.target_names)


def _load_digits() -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    _plain_only("loading digits")
    from sklearn.datasets import load_digits

    bunch = load_digits()
    x = (bunch.data / 16.0).astype(np.float32)
    return x, bunch.target.astype(np.int64), tuple(str(d) for d in range(10))


def _load_blobs() -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    _plain_only("loading blobs")
    from sklearn.datasets import make_classification

    x, y = make_classification(
        n_samples=800,
        n_features=2,
        n_redundant=0,
        n_informative=2,
        n_clusters_per_class=1,
        class_sep=1.2,
        flip_y=0.03,
        random_state=SPLIT_SEED,
    )
    return x.astype(np.float32), y.astype(np.int64), ("0", "1")


def _load_mnist() -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    _plain_only("loading mnist")
    x, y, classes = read_mnist_like()
    return x.reshape(len(x), -1), y, classes


_SOURCES: dict[str, _Source] = {
    # 150 samples: 90 to train, 30 to validate, 30 hidden (steps of 1/30 in hidden accuracy).
    "iris": _Source(_load_iris, (90, 30, 30), cached=True),
    # 1797 8x8 digits scaled to [0, 1].
    "digits": _Source(_load_digits, (1000, 397, 400), cached=True),
    # 800 two-feature points, two classes, 3% label noise.
    "blobs": _Source(_load_blobs, (500, 150, 150), cached=True),
    # 28x28 MNIST-format images (a fixed subset keeps training fast on a laptop).
    # Not balanced: splits of 2000 differ little by chance, no accuracy bar is judged on them,
    # and 4000 x 6000 distances in 784 dimensions would slow every kernel that loads it.
    "mnist": _Source(
        _load_mnist,
        (6000, 2000, 2000),
        balanced=False,
        pixels=True,
        cached=True,
        identity=lambda: _files_identity(_mnist_source()),
    ),
}


def _splits(name: str) -> tuple[Split, Split, Split, tuple[str, ...]]:
    """Plain mode: the three splits of ``name`` (refused in sealed mode, even when cached)."""
    _plain_only(f"computing the splits of {name!r}")
    return _computed_splits(name)


@cache
def _computed_splits(name: str) -> tuple[Split, Split, Split, tuple[str, ...]]:
    """The three splits of ``name``, once per process: read from the user's disk cache where
    the source allows it, else computed from the source (and cached for the next process)."""
    _check_name(name)
    source = _SOURCES[name]
    key = _cache_key(name, source)
    found = datacache.read(name, key) if key else None
    if found is not None:
        (train_x, train_y, valid_x, valid_y, hidden_x, hidden_y), classes = found
        pairs = ((train_x, train_y), (valid_x, valid_y), (hidden_x, hidden_y))
        train, valid, hidden = (Split(x, y) for x, y in pairs)
        return _finished(source, (train, valid, hidden), classes)
    train, valid, hidden, classes = _split_source(source)
    if key:
        arrays = [array for split in (train, valid, hidden) for array in (split.x, split.y)]
        datacache.write(name, key, arrays, classes)
    return _finished(source, (train, valid, hidden), classes)


def _cache_key(name: str, source: _Source) -> str | None:
    """The key of ``name``'s splits in the disk cache; None when they are not cached (the
    source is not cacheable, or its files are not there)."""
    if not source.cached:
        return None
    code = _code()
    if source.identity is not None:
        files = source.identity()
        if files is None:
            return None
        code += b"\0files\0" + files
    return datacache.cache_key(name, code)


def _files_identity(path: Path | None) -> bytes | None:
    """Path, size and modification time of a data file, or of each file of a data folder."""
    if path is None:
        return None
    files = sorted(p for p in path.iterdir() if p.is_file()) if path.is_dir() else [path]
    stats = [(str(p.resolve()), p.stat()) for p in files]
    return "".join(f"{name}\0{st.st_size}\0{st.st_mtime_ns}\n" for name, st in stats).encode()


@cache
def _code() -> bytes:
    """This module's source: the splits depend on it (part of their cache key)."""
    return Path(__file__).read_bytes()


def _split_source(source: _Source) -> tuple[Split, Split, Split, tuple[str, ...]]:
    """The three splits drawn from ``source``, as it gives them (8-bit pixels unscaled)."""
    x, y, classes = source.load()
    parts = _stratified_split(x, y, source.sizes, SPLIT_SEED, source.balanced)
    train, valid, hidden = (Split(x[index], y[index]) for index in parts)
    return train, valid, hidden, tuple(str(c) for c in classes)  # not NumPy strings


def _finished(
    source: _Source, splits: tuple[Split, Split, Split], classes: tuple[str, ...]
) -> tuple[Split, Split, Split, tuple[str, ...]]:
    """The splits as a student gets them: pixels scaled to float32 in [0, 1] (only the images
    kept are converted: the same values as converting them all), every array read-only."""
    train, valid, hidden = (
        Split(
            _read_only(split.x.astype(np.float32) / 255.0 if source.pixels else split.x),
            _read_only(split.y),
        )
        for split in splits
    )
    return train, valid, hidden, classes


def _check_name(name: str) -> None:
    if name not in _SOURCES:
        raise KeyError(f"unknown dataset {name!r}; known: {', '.join(_SOURCES)}")


def _read_only(array: np.ndarray) -> np.ndarray:
    array.setflags(write=False)
    return array


@dataclass(frozen=True)
class _StudentView:
    """What a student may have of a dataset: train, valid, hidden features, class names."""

    train: Split
    valid: Split
    hidden_x: np.ndarray
    classes: tuple[str, ...]


@cache
def _sealed_view(folder: Path, name: str) -> _StudentView:
    """Sealed mode: read ``<folder>/<name>.npz`` (written by :func:`seal`, no pickles)."""
    path = folder / f"{name}.npz"
    if not path.is_file():
        provided = sorted(p.stem for p in folder.glob("*.npz")) if folder.is_dir() else []
        raise DataUnavailable(
            f"dataset {name!r} is not provided to graded kernels (provided: "
            f"{', '.join(provided) or 'none'})"
        )
    with np.load(path, allow_pickle=False) as archive:
        arrays = {key: archive[key] for key in SEALED_KEYS}
    return _StudentView(
        train=Split(_read_only(arrays["train_x"]), _read_only(arrays["train_y"])),
        valid=Split(_read_only(arrays["valid_x"]), _read_only(arrays["valid_y"])),
        hidden_x=_read_only(arrays["hidden_x"]),
        classes=tuple(str(c) for c in arrays["classes"]),
    )


def _student_view(name: str) -> _StudentView:
    """The student's view of ``name``: from the sealed folder, or computed (plain mode)."""
    _check_name(name)
    folder = sealed_folder()
    if folder is not None:
        return _sealed_view(folder, name)
    train, valid, hidden, classes = _splits(name)
    return _StudentView(train, valid, hidden.x, classes)


def load(name: str) -> Dataset:
    """The student's view of dataset ``name``: training and validation splits.

    Arrays are read-only copies shared between calls; copy before changing them in place.
    Where Keras is imported already, its training input is made steady first
    (:func:`grader.steady.steady_keras_input`: the same numbers, no stalls).
    """
    steady_keras_input()
    view = _student_view(name)
    return Dataset(name=name, train=view.train, valid=view.valid, classes=view.classes)


def hidden_inputs(name: str) -> np.ndarray:
    """Features of the hidden split, in a fixed order, without labels."""
    return _student_view(name).hidden_x


def hidden_split(name: str) -> Split:
    """The hidden split with its labels: for the checks and the engine, not for students.

    Raises :class:`HiddenLabelsUnavailable` in a graded kernel (sealed mode).
    """
    _plain_only("hidden_split")
    return _splits(name)[2]


def seal(name: str, folder: Path) -> Path:
    """Write what a graded kernel may have of ``name`` to ``folder/<name>.npz`` (plain mode).

    The file holds the training and validation splits, the hidden split's features (no
    labels) and the class names, as plain arrays read back with ``allow_pickle=False``.
    """
    path = folder / f"{name}.npz"
    path.write_bytes(sealed_bytes(name))
    return path


def sealed_bytes(name: str) -> bytes:
    """The contents of ``<name>.npz`` as :func:`seal` writes it (plain mode): computed once by
    the grading process and carried to its workers, which then load no dataset themselves."""
    _plain_only("sealing")
    train, valid, hidden, classes = _splits(name)
    buffer = io.BytesIO()
    np.savez(
        buffer,
        train_x=train.x,
        train_y=train.y,
        valid_x=valid.x,
        valid_y=valid.y,
        hidden_x=hidden.x,
        classes=np.asarray(classes, dtype=str),
    )
    return buffer.getvalue()


# --- 28x28 MNIST-format data -------------------------------------------------------------


def read_idx(path: Path) -> np.ndarray:
    """Read one IDX file (optionally gzip-compressed) into an array of its declared shape."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as stream:
        header = stream.read(4)
        if len(header) != 4 or header[:2] != b"\x00\x00":
            raise ValueError(f"{path}: not an IDX file (bad magic number)")
        type_code, ndim = header[2], header[3]
        dtypes = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
        if type_code not in dtypes:
            raise ValueError(f"{path}: unknown IDX element type 0x{type_code:02x}")
        shape = struct.unpack(f">{ndim}I", stream.read(4 * ndim))
        data = np.frombuffer(stream.read(), dtype=dtypes[type_code])
    expected = int(np.prod(shape))
    if data.size != expected:
        raise ValueError(f"{path}: header declares {expected} values, file holds {data.size}")
    return data.reshape(shape)


def _from_idx_folder(folder: Path) -> tuple[np.ndarray, np.ndarray]:
    def find(stem: str) -> Path:
        for candidate in (folder / f"{stem}.gz", folder / stem):
            if candidate.exists():
                return candidate
        raise DataUnavailable(f"{folder}: missing {stem}[.gz]")

    images = [read_idx(find(f"{part}-images-idx3-ubyte")) for part in ("train", "t10k")]
    labels = [read_idx(find(f"{part}-labels-idx1-ubyte")) for part in ("train", "t10k")]
    return np.concatenate(images), np.concatenate(labels)


def _from_npz(path: Path) -> tuple[np.ndarray, np.ndarray]:
    with np.load(path, allow_pickle=False) as archive:
        return (
            np.concatenate([archive["x_train"], archive["x_test"]]),
            np.concatenate([archive["y_train"], archive["y_test"]]),
        )


def mnist_candidates() -> list[Path]:
    """Where 28x28 data is looked for, in order."""
    candidates = []
    configured = os.environ.get("GRADER_MNIST_PATH")
    if configured:
        candidates.append(Path(configured).expanduser())
    candidates += [KERAS_MNIST.expanduser(), DEBIAN_FASHION_MNIST]
    return candidates


FASHION_CLASSES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)  # fmt: skip


def _mnist_source() -> Path | None:
    """The first candidate that holds MNIST-format data (an IDX folder or an .npz file)."""
    for path in mnist_candidates():
        if path.is_dir() and any(path.glob("train-images-idx3-ubyte*")):
            return path
        if path.suffix == ".npz" and path.is_file():
            return path
    return None


def load_mnist_like() -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """All 28x28 images (float32 in [0, 1]) and labels of the first MNIST-format source found.

    Raises :class:`DataUnavailable` naming every place looked at and how to fill one, and
    :class:`HiddenLabelsUnavailable` in sealed mode (the files hold every label).
    """
    x, y, classes = read_mnist_like()
    return x.astype(np.float32) / 255.0, y, classes


def read_mnist_like() -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """As :func:`load_mnist_like`, with the images as read: 8-bit pixels (0 to 255)."""
    _plain_only("reading MNIST-format files")
    path = _mnist_source()
    if path is not None:
        x, y = _from_idx_folder(path) if path.is_dir() else _from_npz(path)
        is_fashion = "fashion" in str(path).lower()
        classes = FASHION_CLASSES if is_fashion else tuple(str(d) for d in range(10))
        return x.astype(np.uint8, copy=False), y.astype(np.int64), classes
    looked = ", ".join(str(p) for p in mnist_candidates())
    raise DataUnavailable(
        f"no 28x28 MNIST-format data found (looked in: {looked}). Install Debian's "
        "'dataset-fashion-mnist' package, put Keras' mnist.npz in ~/.keras/datasets/, or set "
        "GRADER_MNIST_PATH to a folder of IDX files or an .npz file. "
        "The lab falls back to the 8x8 digits."
    )


def mnist_available() -> bool:
    """Whether 28x28 MNIST-format data can be loaded here (sealed: whether the engine sealed it)."""
    folder = sealed_folder()
    if folder is not None:
        return (folder / "mnist.npz").is_file()
    return _mnist_source() is not None
