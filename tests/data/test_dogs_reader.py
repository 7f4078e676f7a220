"""Stanford Dogs read from tiny files in the official layout: Images/<wnid-breed>/*.jpg + *_list.mat."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from scipy.io import loadmat, savemat

from kdss_bench.data.dogs_reader import check_dogs, read_dogs
from kdss_bench.data.registry import check_dataset, clear_dataset_cache, describe_dataset, load_dataset
from kdss_bench.errors import DataError
from tests.data.tiny_trees import DOGS_TEST as TEST
from tests.data.tiny_trees import dogs_relative as _relative
from tests.data.tiny_trees import save_dogs_list as _save_list
from tests.data.tiny_trees import write_dogs as _write_dogs


@pytest.fixture(autouse=True)
def _empty_cache():
    clear_dataset_cache()
    yield
    clear_dataset_cache()


def _close_to(values: torch.Tensor, expected: list[int], tolerance: int = 3) -> bool:
    """JPEG rounding moves a constant colour by a level or two."""
    return bool(((values.int() - torch.tensor(expected)).abs() <= tolerance).all())


def test_fixture_matches_the_real_mat_structure(tmp_path: Path) -> None:
    _write_dogs(tmp_path)
    mat = loadmat(str(tmp_path / "train_list.mat"))
    assert mat["file_list"].shape == (4, 1) and mat["file_list"].dtype == object
    assert mat["file_list"][0, 0].shape == (1,) and mat["file_list"][0][0][0] == _relative(0, 5927)
    assert mat["labels"].shape == (4, 1) and int(mat["labels"][1, 0]) == 3


@pytest.mark.parametrize("label_dtype", [np.uint8, np.float64])
def test_official_split_labels_breeds_and_resizing(tmp_path: Path, label_dtype) -> None:
    _write_dogs(tmp_path, label_dtype)
    images = read_dogs(tmp_path, name="dogs", resolution=8)
    assert images.classes == ("Chihuahua", "Japanese_spaniel", "African_hunting_dog")
    assert images.x_train.shape == (4, 3, 8, 8) and images.x_test.shape == (2, 3, 8, 8)
    assert images.y_train.tolist() == [0, 2, 1, 0] and images.y_test.tolist() == [1, 2]
    assert _close_to(images.x_train[:, 0, 4, 4], [20, 60, 100, 140])  # list order, not folder order
    assert _close_to(images.x_test[1, :, 0, 0], [220, 110, 35])
    assert read_dogs(tmp_path, name="dogs", resolution=3).x_train.shape == (4, 3, 3, 3)


def test_annotation_list_alone_is_enough(tmp_path: Path) -> None:
    """Older copies read by the KRR-ST loader use annotation_list (paths without '.jpg')."""
    _write_dogs(tmp_path)
    for file in ("train_list.mat", "test_list.mat"):
        mat = loadmat(str(tmp_path / file))
        savemat(tmp_path / file, {"annotation_list": mat["annotation_list"], "labels": mat["labels"]})
    assert read_dogs(tmp_path, name="dogs", resolution=4).y_test.tolist() == [1, 2]


def test_registered_under_the_data_root(tmp_path: Path) -> None:
    _write_dogs(tmp_path / "dogs")
    assert "<data_root>/dogs/" in describe_dataset("dogs")
    check_dataset("dogs", data_root=tmp_path, declared=None)
    images = load_dataset("dogs", resolution=6, data_root=tmp_path)
    assert images.name == "dogs" and images.num_classes == 3 and images.x_test.shape == (2, 3, 6, 6)


def test_missing_folder_or_files_say_what_to_extract(tmp_path: Path) -> None:
    with pytest.raises(DataError) as info:
        check_dataset("dogs", data_root=tmp_path, declared=None)
    message = str(info.value)
    assert "\n" not in message
    assert str(tmp_path / "dogs") in message and "images.tar" in message and "lists.tar" in message
    root = _write_dogs(tmp_path / "dogs")
    (root / "test_list.mat").unlink()
    with pytest.raises(DataError, match="test_list.mat"):
        check_dogs(root, name="dogs")
    with pytest.raises(DataError, match="test_list.mat"):
        load_dataset("dogs", resolution=8, data_root=tmp_path)
    (root / "Images").rename(root / "Pictures")
    with pytest.raises(DataError, match="Images"):
        check_dogs(root, name="dogs")


def test_mislabelled_list_missing_image_and_corrupt_mat(tmp_path: Path) -> None:
    root = _write_dogs(tmp_path)
    files = loadmat(str(root / "test_list.mat"))["file_list"]
    savemat(root / "test_list.mat", {"file_list": files, "labels": np.array([[1], [3]], np.uint8)})
    with pytest.raises(DataError, match="Japanese_spaniel"):
        read_dogs(root, name="dogs", resolution=8)
    _save_list(root / "test_list.mat", TEST)
    (root / "Images" / _relative(2, 3)).unlink()
    with pytest.raises(DataError, match="n02116738_3.jpg"):
        read_dogs(root, name="dogs", resolution=8)
    (root / "train_list.mat").write_bytes(b"MATLAB 5.0 MAT-file, truncated")
    with pytest.raises(DataError, match="train_list.mat"):
        read_dogs(root, name="dogs", resolution=8)
