"""CUB-200-2011 read from tiny files written in the official archive's layout (CUB_200_2011/...)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from kdss_bench.data.cub_reader import check_cub, read_cub
from kdss_bench.data.registry import check_dataset, clear_dataset_cache, describe_dataset, load_dataset
from kdss_bench.errors import DataError
from tests.data.tiny_trees import CUB_CLASSES as CLASSES
from tests.data.tiny_trees import CUB_IMAGES as IMAGES
from tests.data.tiny_trees import cub_image_path as _image_path
from tests.data.tiny_trees import write_cub2011 as _write_cub


@pytest.fixture(autouse=True)
def _empty_cache():
    clear_dataset_cache()
    yield
    clear_dataset_cache()


def _close_to(values: torch.Tensor, expected: list[int], tolerance: int = 3) -> bool:
    """JPEG rounding moves a constant colour by a level or two."""
    return bool(((values.int() - torch.tensor(expected)).abs() <= tolerance).all())


def test_official_split_labels_classes_and_resizing(tmp_path: Path) -> None:
    _write_cub(tmp_path)
    images = read_cub(tmp_path, name="cub2011", resolution=8)
    assert images.classes == tuple(CLASSES) and images.num_classes == 3
    assert images.x_train.shape == (5, 3, 8, 8) and images.x_test.shape == (2, 3, 8, 8)
    # images.txt order within each split; labels shifted to 0-based.
    assert images.y_train.tolist() == [0, 1, 2, 1, 0]
    assert images.y_test.tolist() == [0, 2]
    assert _close_to(images.x_train[:, 0, 0, 0], [20, 60, 100, 120, 140])
    assert _close_to(images.x_test[:, :, 3, 3], [[40, 20, 215], [80, 40, 175]])
    grey = images.x_train[2]  # image 5, stored as L: every channel equal
    assert torch.equal(grey[0], grey[1]) and torch.equal(grey[1], grey[2])
    assert read_cub(tmp_path, name="cub2011", resolution=5).x_test.shape == (2, 3, 5, 5)


def test_registered_under_the_data_root(tmp_path: Path) -> None:
    _write_cub(tmp_path / "cub2011")
    assert "<data_root>/cub2011/" in describe_dataset("cub2011")
    check_dataset("cub2011", data_root=tmp_path, declared=None)
    images = load_dataset("cub2011", resolution=6, data_root=tmp_path)
    assert images.name == "cub2011" and images.x_train.shape == (5, 3, 6, 6)
    assert load_dataset("cub2011", resolution=6, data_root=tmp_path) is images


def test_missing_folder_says_where_to_extract_the_archive(tmp_path: Path) -> None:
    with pytest.raises(DataError) as info:
        check_dataset("cub2011", data_root=tmp_path, declared=None)
    message = str(info.value)
    assert "\n" not in message
    assert str(tmp_path / "cub2011") in message and "CUB_200_2011.tgz" in message
    with pytest.raises(DataError, match="--data-root"):
        load_dataset("cub2011", resolution=8, data_root=None)


def test_missing_index_file_or_images_folder(tmp_path: Path) -> None:
    base = _write_cub(tmp_path)
    (base / "train_test_split.txt").unlink()
    with pytest.raises(DataError, match="train_test_split.txt"):
        check_cub(tmp_path, name="cub2011")
    # Pointing at CUB_200_2011 itself rather than the folder holding it is reported the same way.
    with pytest.raises(DataError, match="CUB_200_2011/images.txt"):
        check_cub(base, name="cub2011")


def test_missing_image_and_bad_index_entries(tmp_path: Path) -> None:
    base = _write_cub(tmp_path)
    (base / "images" / _image_path(6, 2)).unlink()
    with pytest.raises(DataError, match="0006"):
        read_cub(tmp_path, name="cub2011", resolution=8)

    base = _write_cub(tmp_path / "again")
    (base / "image_class_labels.txt").write_text("".join(f"{i} {c}\n" for i, c, *_ in IMAGES[:-1]))
    with pytest.raises(DataError, match="no entry for image ids 7"):
        read_cub(tmp_path / "again", name="cub2011", resolution=8)
    (base / "image_class_labels.txt").write_text("".join(f"{i} {c + 1}\n" for i, c, *_ in IMAGES))
    with pytest.raises(DataError, match="class 4"):
        read_cub(tmp_path / "again", name="cub2011", resolution=8)
