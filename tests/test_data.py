"""Offline datasets: fixed, disjoint splits and a real IDX/npz loader."""

from __future__ import annotations

import gzip
import struct
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
    parts = data._stratified_split(y, source.sizes, data.SPLIT_SEED)
    assert sum(len(p) for p in parts) == len(set(np.concatenate(parts)))
    assert np.array_equal(dataset.train.y, y[parts[0]])
    assert np.array_equal(hidden.x, x[parts[2]])
    # stratified: every class appears in the hidden split in about its overall share
    overall = np.bincount(y) / len(y)
    in_hidden = np.bincount(hidden.y, minlength=len(overall)) / len(hidden)
    assert np.abs(in_hidden - overall).max() < 0.05


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
