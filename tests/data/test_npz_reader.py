"""The shared .npz format, written with np.savez: colour, grey, and every malformed case."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from kdss_bench.data.npz_reader import inspect_npz, read_npz
from kdss_bench.errors import DataError

CLASSES = np.array(["cat", "dog", "eel"])


def _arrays(shape: tuple[int, ...], n_train: int = 6, n_test: int = 3) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    return {
        "x_train": rng.integers(0, 256, (n_train, *shape), dtype=np.uint8),
        "y_train": (np.arange(n_train) % 3).astype(np.uint8),
        "x_test": rng.integers(0, 256, (n_test, *shape), dtype=np.uint8),
        "y_test": (np.arange(n_test) % 3).astype(np.uint8),
        "classes": CLASSES,
    }


def _write(path: Path, arrays: dict[str, np.ndarray], compressed: bool = False) -> Path:
    (np.savez_compressed if compressed else np.savez)(path, **arrays)
    return path


def test_colour_file_reads_pixels_labels_and_classes(tmp_path: Path) -> None:
    arrays = _arrays((8, 8, 3))
    path = _write(tmp_path / "colour.npz", arrays)
    images = read_npz(path, name="colour", resolution=8)
    assert images.name == "colour" and images.classes == ("cat", "dog", "eel")
    assert torch.equal(images.x_train, torch.from_numpy(arrays["x_train"]).permute(0, 3, 1, 2))
    assert images.y_test.tolist() == [0, 1, 2] and images.y_test.dtype == torch.int64
    assert images.x_test.shape == (3, 3, 8, 8)


def test_grey_compressed_file_is_resized_to_three_channels(tmp_path: Path) -> None:
    arrays = _arrays((28, 28))
    path = _write(tmp_path / "grey.npz", arrays, compressed=True)
    images = read_npz(path, name="grey", resolution=32)
    assert images.x_train.shape == (6, 3, 32, 32)
    assert torch.equal(images.x_train[:, 0], images.x_train[:, 2])


def test_missing_file_names_the_path_and_the_fix(tmp_path: Path) -> None:
    with pytest.raises(DataError) as info:
        read_npz(tmp_path / "absent.npz", name="absent", resolution=8)
    message = str(info.value)
    assert "absent.npz" in message and "--data-root" in message and "\n" not in message


def test_missing_key_names_file_and_key(tmp_path: Path) -> None:
    arrays = _arrays((4, 4, 3))
    del arrays["y_test"]
    path = _write(tmp_path / "nokey.npz", arrays)
    with pytest.raises(DataError) as info:
        read_npz(path, name="nokey", resolution=4)
    message = str(info.value)
    assert "nokey.npz" in message and "'y_test'" in message and "x_train, y_train" in message


@pytest.mark.parametrize(
    ("key", "value", "fragment"),
    [
        ("x_train", np.zeros((6, 4, 4, 3), np.float32), "expected uint8"),
        ("y_train", np.zeros(6, np.float64), "expected integer"),
        ("y_test", np.zeros(4, np.uint8), "expected (3,)"),
        ("x_test", np.zeros((3, 4, 4, 2), np.uint8), "expected (N,H,W,3)"),
        ("classes", np.array([1, 2, 3]), "str array"),
    ],
)
def test_wrong_dtype_or_shape_names_file_and_key(
    tmp_path: Path, key: str, value: np.ndarray, fragment
) -> None:
    arrays = _arrays((4, 4, 3))
    arrays[key] = value
    path = _write(tmp_path / "bad.npz", arrays)
    with pytest.raises(DataError) as info:
        inspect_npz(path, name="bad")
    message = str(info.value)
    assert "bad.npz" in message and f"'{key}'" in message and fragment in message


def test_object_arrays_are_refused_without_unpickling(tmp_path: Path) -> None:
    arrays = _arrays((4, 4, 3))
    arrays["classes"] = np.array(["cat", "dog", "eel"], dtype=object)
    path = _write(tmp_path / "pickled.npz", arrays)
    with pytest.raises(DataError, match="'classes'"):
        read_npz(path, name="pickled", resolution=4)


def test_labels_outside_classes_and_non_zip_files(tmp_path: Path) -> None:
    arrays = _arrays((4, 4, 3))
    arrays["y_train"][0] = 7
    with pytest.raises(DataError, match=r"\[0, 3\)"):
        read_npz(_write(tmp_path / "labels.npz", arrays), name="labels", resolution=4)
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"not a zip file")
    with pytest.raises(DataError, match="junk.npz"):
        read_npz(junk, name="junk", resolution=4)
