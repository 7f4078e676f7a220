"""ImageFolder layout <path>/{train,test}/<class>/*.png written with PIL."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from kdss_bench.data.image_folder_reader import check_image_folder, read_image_folder
from kdss_bench.errors import DataError


def _png(path: Path, value: int, size: tuple[int, int] = (12, 10), mode: str = "RGB") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    channels = {"RGB": 3, "RGBA": 4}.get(mode)
    shape = (size[1], size[0]) if channels is None else (size[1], size[0], channels)
    Image.fromarray(np.full(shape, value, np.uint8), mode).save(path)


@pytest.fixture()
def folder(tmp_path: Path) -> Path:
    root = tmp_path / "mine"
    _png(root / "train" / "zebra" / "a.png", 10)
    _png(root / "train" / "zebra" / "b.png", 20, size=(30, 18))
    _png(root / "train" / "apple" / "c.png", 30, mode="L")
    _png(root / "train" / "apple" / "d.png", 40, mode="RGBA")
    (root / "train" / "apple" / "notes.txt").write_text("not an image")
    _png(root / "test" / "apple" / "e.png", 50)
    _png(root / "test" / "zebra" / "f.png", 60, size=(7, 7))
    return root


def test_reads_sorted_classes_labels_and_resizes(folder: Path) -> None:
    images = read_image_folder(folder, name="mine", resolution=8)
    assert images.classes == ("apple", "zebra")
    assert images.x_train.shape == (4, 3, 8, 8) and images.x_test.shape == (2, 3, 8, 8)
    assert images.y_train.tolist() == [0, 0, 1, 1] and images.y_test.tolist() == [0, 1]
    # Constant images stay constant through resizing: the first pixel identifies each file.
    assert images.x_train[:, 0, 0, 0].tolist() == [30, 40, 10, 20]
    assert images.x_test[:, :, 0, 0].tolist() == [[50] * 3, [60] * 3]
    assert torch.equal(images.x_train[0, 0], images.x_train[0, 2])


def test_test_class_missing_from_train_is_an_error(folder: Path) -> None:
    _png(folder / "test" / "mango" / "g.png", 1)
    with pytest.raises(DataError) as info:
        read_image_folder(folder, name="mine", resolution=8)
    assert "mango" in str(info.value) and "train/" in str(info.value)


def test_missing_split_or_folder_or_empty_class(tmp_path: Path, folder: Path) -> None:
    with pytest.raises(DataError, match="nowhere"):
        check_image_folder(tmp_path / "nowhere", name="x")
    (folder / "train" / "empty").mkdir()
    with pytest.raises(DataError, match="empty"):
        read_image_folder(folder, name="mine", resolution=8)
    for file in (folder / "test").rglob("*.png"):
        file.unlink()
    for directory in sorted((folder / "test").iterdir()):
        directory.rmdir()
    (folder / "test").rmdir()
    with pytest.raises(DataError, match="test"):
        check_image_folder(folder, name="mine")
