"""Downsampled ImageNet 64x64 read from tiny files in the official npz release's layout."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from kdss_bench.data import imagenet64_reader
from kdss_bench.data.imagenet64_reader import check_imagenet64, read_imagenet64
from kdss_bench.data.registry import check_dataset, clear_dataset_cache, describe_dataset, load_dataset
from kdss_bench.errors import DataError
from tests.data.tiny_trees import IMAGENET64_TRAIN_LABELS as TRAIN_LABELS
from tests.data.tiny_trees import save_imagenet64 as _save
from tests.data.tiny_trees import write_imagenet64 as _write_imagenet64


@pytest.fixture(autouse=True)
def _empty_cache():
    clear_dataset_cache()
    yield
    clear_dataset_cache()


def test_sizes_labels_names_channels_and_split(tmp_path: Path) -> None:
    _write_imagenet64(tmp_path)
    images = read_imagenet64(tmp_path, name="imagenet64", resolution=64)
    flat = [label for labels in TRAIN_LABELS for label in labels]
    assert images.num_classes == 1000 and images.classes[:3] == ("1", "2", "3") and images.classes[-1] == "1000"
    assert images.x_train.shape == (len(flat), 3, 64, 64) and images.x_test.shape == (3, 3, 64, 64)
    # Files in order 1..10 (not 1, 10, 2, ...), labels shifted to 0-based.
    assert images.y_train.tolist() == [label - 1 for label in flat]
    assert images.y_test.tolist() == [2, 999, 0]
    # Channel-major rows: plane 0 is red, 1 green, 2 blue.
    positions = [k for labels in TRAIN_LABELS for k in range(len(labels))]
    assert images.x_train[:, 0, 5, 7].tolist() == [label % 256 for label in flat]
    assert images.x_train[:, 1, 5, 7].tolist() == positions
    assert bool((images.x_train[:, 2] == 200).all()) and images.x_test[1, 0, 0, 0] == 1000 % 256


def test_pixel_layout_within_a_plane(tmp_path: Path) -> None:
    """Each plane is stored row by row: pixel (row r, column c) of channel ch is data[ch*4096 + r*64 + c]."""
    _write_imagenet64(tmp_path)
    rows, cols = np.meshgrid(np.arange(64), np.arange(64), indexing="ij")
    image = np.stack([rows * 4, cols * 4, 255 - rows - cols]).astype(np.uint8)
    _save(tmp_path / "val_data.npz", [1], train=False, images=image[None])
    data = np.load(tmp_path / "val_data.npz")["data"][0]
    assert data[0 * 4096 + 3 * 64 + 1] == 12 and data[1 * 4096 + 3 * 64 + 1] == 4
    images = read_imagenet64(tmp_path, name="imagenet64", resolution=64)
    assert torch.equal(images.x_test[0], torch.from_numpy(image))


def test_resized_per_file_into_one_tensor(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _write_imagenet64(tmp_path)
    monkeypatch.setattr(imagenet64_reader, "_CHUNK", 2)  # several chunks per file
    images = read_imagenet64(tmp_path, name="imagenet64", resolution=16)
    full = read_imagenet64(tmp_path, name="imagenet64", resolution=64)
    assert images.x_train.shape == (len(full.y_train), 3, 16, 16) and images.x_test.shape == (3, 3, 16, 16)
    assert torch.equal(images.x_train[:, :, 3, 3], full.x_train[:, :, 0, 0])  # constant planes stay constant
    assert torch.equal(images.y_train, full.y_train)
    # The streamed tensor is kept as is, not copied again.
    assert images.x_train.is_contiguous() and images.x_train.dtype == torch.uint8


def test_class_names_from_map_clsloc(tmp_path: Path) -> None:
    _write_imagenet64(tmp_path)
    lines = [f"n{label:08d} {label} class_{label}" for label in range(1, 1001)]
    lines[0] = "n02119789 1 kit_fox"
    lines[133], lines[516] = "n02012849 134 crane", "n03126707 517 crane"
    (tmp_path / "map_clsloc.txt").write_text("\n".join(reversed(lines)) + "\n")  # any line order
    images = read_imagenet64(tmp_path, name="imagenet64", resolution=8)
    assert images.classes[0] == "kit_fox" and images.classes[1] == "class_2" and images.classes[999] == "class_1000"
    assert images.classes[133] == "crane (n02012849)" and images.classes[516] == "crane (n03126707)"

    (tmp_path / "map_clsloc.txt").write_text("\n".join(lines[:-1]) + "\n")
    with pytest.raises(DataError, match="label 1000 is missing"):
        read_imagenet64(tmp_path, name="imagenet64", resolution=8)
    (tmp_path / "map_clsloc.txt").write_text("n02119789 kit_fox\n")
    with pytest.raises(DataError, match="n02119789 1 kit_fox"):
        read_imagenet64(tmp_path, name="imagenet64", resolution=8)


def test_registered_under_the_data_root(tmp_path: Path) -> None:
    _write_imagenet64(tmp_path / "imagenet64")
    description = describe_dataset("imagenet64")
    assert "<data_root>/imagenet64/" in description and "GB" in description
    check_dataset("imagenet64", data_root=tmp_path, declared=None)
    images = load_dataset("imagenet64", resolution=8, data_root=tmp_path)
    assert images.name == "imagenet64" and images.x_train.shape == (13, 3, 8, 8)
    assert load_dataset("imagenet64", resolution=8, data_root=tmp_path) is images


def test_missing_folder_or_file_says_which_archive_to_extract_where(tmp_path: Path) -> None:
    with pytest.raises(DataError) as info:
        check_dataset("imagenet64", data_root=tmp_path, declared=None)
    message = str(info.value)
    assert "\n" not in message
    assert str(tmp_path / "imagenet64") in message and "Imagenet64_train_part1_npz.zip" in message

    root = _write_imagenet64(tmp_path / "imagenet64")
    (root / "train_data_batch_7.npz").unlink()
    with pytest.raises(DataError, match="train_data_batch_7.npz not found.*Imagenet64_train_part2_npz.zip"):
        check_imagenet64(root, name="imagenet64")
    _save(root / "train_data_batch_7.npz", [1], train=True)
    (root / "val_data.npz").unlink()
    with pytest.raises(DataError, match="val_data.npz not found.*Imagenet64_val_npz.zip"):
        check_dataset("imagenet64", data_root=tmp_path, declared=None)


def test_bad_files(tmp_path: Path) -> None:
    root = _write_imagenet64(tmp_path)
    np.savez(root / "val_data.npz", data=np.zeros((2, 3 * 32 * 32), np.uint8), labels=np.array([1, 2]))
    with pytest.raises(DataError, match="shape \\(2, 3072\\).*12288"):
        read_imagenet64(root, name="imagenet64", resolution=8)
    np.savez(root / "val_data.npz", data=np.zeros((2, 12288), np.uint8), labels=np.array([0, 2]))
    with pytest.raises(DataError, match="labels in \\[0, 2\\]"):
        read_imagenet64(root, name="imagenet64", resolution=8)
    np.savez(root / "val_data.npz", data=np.zeros((3, 12288), np.uint8), labels=np.array([1, 2]))
    with pytest.raises(DataError, match="3 images but 2 labels"):
        read_imagenet64(root, name="imagenet64", resolution=8)
    np.savez(root / "val_data.npz", x=np.zeros((3, 12288), np.uint8))
    with pytest.raises(DataError, match="no 'labels'"):
        read_imagenet64(root, name="imagenet64", resolution=8)
    (root / "val_data.npz").write_bytes(b"not a zip")
    with pytest.raises(DataError, match="cannot be read as an npz"):
        read_imagenet64(root, name="imagenet64", resolution=8)
