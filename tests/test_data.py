"""Offline datasets: fixed, disjoint splits and a real IDX/npz loader."""

from __future__ import annotations

import gzip
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from grader import data


@pytest.mark.parametrize("name", ["iris", "digits", "blobs"])
def test_splits_are_fixed_disjoint_and_stratified(name: str) -> None:
    dataset = data.load(name)
    hidden = data.hidden_split(name)
    source = data._SOURCES[name]
    assert (len(dataset.train), len(dataset.valid), len(hidden)) == source.sizes
    x, y, _ = source.load()
    parts = data._stratified_split(x, y, source.sizes, data.SPLIT_SEED, source.balanced)
    assert sum(len(p) for p in parts) == len(set(np.concatenate(parts)))
    assert np.array_equal(dataset.train.y, y[parts[0]])
    assert np.array_equal(hidden.x, x[parts[2]])
    # stratified: every class appears in the hidden split in about its overall share
    overall = np.bincount(y) / len(y)
    in_hidden = np.bincount(hidden.y, minlength=len(overall)) / len(hidden)
    assert np.abs(in_hidden - overall).max() < 0.05


def _hard_share_gaps(name: str, balanced: bool) -> tuple[float, float]:
    """How far the hidden split's count of hard samples is from its proportional share of
    validation + hidden, at the worst level of difficulty t (samples at least t hard): the
    worst class, and all classes together."""
    source = data._SOURCES[name]
    x, y, _ = source.load()
    train, valid, hidden = data._stratified_split(
        x, y, source.sizes, data.SPLIT_SEED, balanced=balanced
    )
    union = np.concatenate([valid, hidden])
    hardness = data._difficulty(x[train], y[train], x[union], y[union])
    in_hidden = np.isin(union, hidden)
    share = len(hidden) / len(union)
    per_class, overall = 0.0, 0.0
    for level in range(1, data.DIFFICULTY_NEIGHBOURS + 1):
        hard = hardness >= level
        overall = max(overall, abs((hard & in_hidden).sum() - share * hard.sum()))
        for label in np.unique(y):
            mine = hard & (y[union] == label)
            per_class = max(per_class, abs((mine & in_hidden).sum() - share * mine.sum()))
    return float(per_class), float(overall)


@pytest.mark.parametrize("name", ["iris", "digits", "blobs"])
def test_validation_and_hidden_splits_are_as_hard_as_each_other(name: str) -> None:
    """Every class's hard samples, at every level of difficulty, are shared between the
    validation and hidden splits in proportion (within a sample), all classes together within
    two, and the training split is the plain stratified draw."""
    per_class, overall = _hard_share_gaps(name, balanced=True)
    assert per_class <= 1.0 and overall <= 2.0
    source = data._SOURCES[name]
    x, y, _ = source.load()
    balanced = data._stratified_split(x, y, source.sizes, data.SPLIT_SEED, balanced=True)
    plain = data._stratified_split(x, y, source.sizes, data.SPLIT_SEED, balanced=False)
    assert np.array_equal(balanced[0], plain[0])
    assert set(balanced[1]) | set(balanced[2]) == set(plain[1]) | set(plain[2])


@pytest.mark.parametrize("name", ["digits", "blobs"])
def test_plain_random_splits_are_not_as_hard_as_each_other(name: str) -> None:
    """The witness that the balance test can fail: the plain draws put several more of the
    hard samples into the hidden split (where every model made 2 to 2.7 times the validation's
    errors)."""
    assert _hard_share_gaps(name, balanced=False)[1] > 5


def test_difficulty_counts_neighbours_with_another_label() -> None:
    train_x = np.array([[0.0], [1.0], [2.0], [10.0], [11.0], [12.0]] * 2, dtype=np.float32)
    train_y = np.array([0, 0, 0, 1, 1, 1] * 2)
    x = np.array([[1.0], [11.0], [6.0]], dtype=np.float32)
    hardness = data._difficulty(train_x, train_y, x, np.array([0, 0, 1]))
    # the first sits among its own class; the second among the other; the third halfway
    assert hardness[0] == 4 and hardness[1] == 6 and 4 <= hardness[2] <= 6


def test_splits_are_read_only_so_a_student_cannot_corrupt_them() -> None:
    with pytest.raises(ValueError):
        data.load("iris").train.x[0, 0] = 99.0


def test_hidden_inputs_come_without_labels() -> None:
    inputs = data.hidden_inputs("digits")
    assert isinstance(inputs, np.ndarray)
    assert inputs.shape == (400, 64)


def test_unknown_dataset_names_the_known_ones() -> None:
    with pytest.raises(KeyError, match="iris"):
        data.load("cifar")


def _sealed(folder: Path, monkeypatch: pytest.MonkeyPatch, *names: str) -> Path:
    """Seal ``names`` into ``folder`` (plain mode), then switch this process to sealed mode."""
    for name in names:
        data.seal(name, folder)
    monkeypatch.setenv(data.SEALED_ENV, str(folder))
    return folder


@pytest.mark.parametrize("name", ["iris", "digits", "blobs"])
def test_sealed_files_give_the_students_view_without_hidden_labels(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    plain, hidden = data.load(name), data.hidden_split(name)
    _sealed(tmp_path, monkeypatch, name)
    with np.load(tmp_path / f"{name}.npz", allow_pickle=False) as archive:
        assert set(archive.files) == set(data.SEALED_KEYS)  # no hidden labels among them
    sealed = data.load(name)
    assert sealed.classes == plain.classes and sealed.num_features == plain.num_features
    for part in ("train", "valid"):
        for field in ("x", "y"):
            got, expected = (
                getattr(getattr(sealed, part), field),
                getattr(getattr(plain, part), field),
            )
            assert np.array_equal(got, expected) and got.dtype == expected.dtype
    assert np.array_equal(data.hidden_inputs(name), hidden.x)
    with pytest.raises(ValueError):
        sealed.train.x[0, 0] = 99.0


def test_sealed_mode_closes_every_way_to_the_labels(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data.load("iris")  # the plain splits are cached in this process: still refused below
    _sealed(tmp_path, monkeypatch, "iris")
    with pytest.raises(data.HiddenLabelsUnavailable, match="not available inside a graded kernel"):
        data.hidden_split("iris")
    assert issubclass(data.HiddenLabelsUnavailable, PermissionError)
    for way in (
        lambda: data._splits("iris"),
        lambda: data._SOURCES["iris"].load(),
        lambda: data._SOURCES["blobs"].load(),
        data.load_mnist_like,
        lambda: data.seal("iris", tmp_path),
    ):
        with pytest.raises(data.HiddenLabelsUnavailable):
            way()
    with pytest.raises(data.DataUnavailable, match=r"'digits' is not provided.*iris"):
        data.load("digits")
    with pytest.raises(KeyError, match="iris"):
        data.load("cifar")
    assert not data.mnist_available()


def test_sealed_mode_computes_nothing_from_scikit_learn(tmp_path: Path) -> None:
    for name in ("iris", "blobs"):
        data.seal(name, tmp_path)
    script = (
        "import sys\n"
        "from grader import data\n"
        "data.load('iris'), data.hidden_inputs('blobs')\n"
        "try:\n    data.hidden_split('iris')\nexcept data.HiddenLabelsUnavailable:\n    pass\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'sklearn'))\n"
    )
    env = {"GRADER_SEALED_DATA": str(tmp_path), "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[]"


def _write_idx(path: Path, array: np.ndarray) -> None:
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + struct.pack(
        f">{array.ndim}I", *array.shape
    )
    with gzip.open(path, "wb") as stream:
        stream.write(header + array.astype(np.uint8).tobytes())


def test_read_idx_round_trip_and_errors(tmp_path: Path) -> None:
    images = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    _write_idx(tmp_path / "x.gz", images)
    assert np.array_equal(data.read_idx(tmp_path / "x.gz"), images)

    (tmp_path / "bad").write_bytes(b"\x01\x02\x08\x01\x00\x00\x00\x01\x05")
    with pytest.raises(ValueError, match="magic"):
        data.read_idx(tmp_path / "bad")
    (tmp_path / "short").write_bytes(b"\x00\x00\x08\x01\x00\x00\x00\x09\x05")
    with pytest.raises(ValueError, match="declares 9"):
        data.read_idx(tmp_path / "short")


@pytest.mark.skipif(
    not data.DEBIAN_FASHION_MNIST.is_dir(), reason="needs Debian's dataset-fashion-mnist"
)
def test_real_fashion_mnist_from_debian() -> None:
    train = data.read_idx(data.DEBIAN_FASHION_MNIST / "train-images-idx3-ubyte.gz")
    labels = data.read_idx(data.DEBIAN_FASHION_MNIST / "t10k-labels-idx1-ubyte.gz")
    assert train.shape == (60000, 28, 28) and train.dtype == np.uint8
    assert labels.shape == (10000,) and set(np.unique(labels)) == set(range(10))


def test_configured_path_wins_then_clear_message_when_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    archive = tmp_path / "mnist.npz"
    rng = np.random.default_rng(0)
    np.savez(
        archive,
        x_train=rng.integers(0, 255, (20, 28, 28), dtype=np.uint8),
        y_train=np.arange(20) % 10,
        x_test=rng.integers(0, 255, (5, 28, 28), dtype=np.uint8),
        y_test=np.arange(5),
    )
    monkeypatch.setenv("GRADER_MNIST_PATH", str(archive))
    x, _, classes = data.load_mnist_like()
    assert x.shape == (25, 28, 28) and x.max() <= 1.0 and classes[3] == "3"

    monkeypatch.setenv("GRADER_MNIST_PATH", str(tmp_path / "missing"))
    monkeypatch.setattr(data, "KERAS_MNIST", tmp_path / "no-keras.npz")
    monkeypatch.setattr(data, "DEBIAN_FASHION_MNIST", tmp_path / "no-debian")
    with pytest.raises(data.DataUnavailable, match="dataset-fashion-mnist"):
        data.load_mnist_like()
    assert not data.mnist_available()


@pytest.mark.skipif(not data.mnist_available(), reason="needs 28x28 MNIST-format data")
def test_mnist_splits_hold_the_scaled_images_of_their_rows() -> None:
    """Only the kept images are scaled, after the split: the values are those of scaling all
    70,000 first (float32 in [0, 1]), row for row."""
    x, y, _ = data.load_mnist_like()
    rows = data._stratified_split(x, y, (6000, 2000, 2000), data.SPLIT_SEED, balanced=False)
    flat = x.reshape(len(x), -1)
    loaded = data.load("mnist")
    for part, split in zip(
        rows, (loaded.train, loaded.valid, data.hidden_split("mnist")), strict=True
    ):
        assert split.x.dtype == np.float32 and not split.x.flags.writeable
        assert np.array_equal(split.x, flat[part]) and np.array_equal(split.y, y[part])
