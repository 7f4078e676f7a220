"""CUB-200-2011 read from tiny files written in the official archive's layout (CUB_200_2011/...)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from kdss_bench.data.cub_reader import check_cub, read_cub
from kdss_bench.data.registry import check_dataset, clear_dataset_cache, describe_dataset, load_dataset
from kdss_bench.errors import DataError

CLASSES = ["001.Black_footed_Albatross", "002.Laysan_Albatross", "003.Sooty_Albatross"]
# (image id, class id 1-based, is_train, grey value, (width, height)); ids deliberately not sorted by class.
IMAGES = [
    (1, 1, 1, 20, (20, 14)),
    (2, 1, 0, 40, (9, 12)),
    (3, 2, 1, 60, (16, 16)),
    (4, 3, 0, 80, (30, 18)),
    (5, 3, 1, 100, (12, 20)),
    (6, 2, 1, 120, (14, 11)),
    (7, 1, 1, 140, (10, 10)),
]


@pytest.fixture(autouse=True)
def _empty_cache():
    clear_dataset_cache()
    yield
    clear_dataset_cache()


def _image_path(image_id: int, class_id: int) -> str:
    cls = CLASSES[class_id - 1]
    return f"{cls}/{cls.split('.', 1)[1]}_{image_id:04d}_{image_id + 700}.jpg"


def _write_cub(root: Path) -> Path:
    """The official layout: <root>/CUB_200_2011/{images.txt, ..., images/<class>/*.jpg}."""
    base = root / "CUB_200_2011"
    for image_id, class_id, _, value, size in IMAGES:
        path = base / "images" / _image_path(image_id, class_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        # Constant colour (value, value // 2, 255 - value): resizing keeps it, the pixel names the file.
        # Image 5 is stored grey, as a few real CUB photos are.
        pixel = np.array([value, value // 2, 255 - value], np.uint8)
        array = np.broadcast_to(pixel, (size[1], size[0], 3)).copy()
        image = Image.fromarray(array[..., 0]) if image_id == 5 else Image.fromarray(array)
        image.save(path, format="JPEG", quality=100)
    (base / "images.txt").write_text(
        "".join(f"{i} {_image_path(i, c)}\n" for i, c, *_ in IMAGES)
    )
    # Label and split files are joined on the image id, not the line: write them in reverse order.
    (base / "image_class_labels.txt").write_text("".join(f"{i} {c}\n" for i, c, *_ in reversed(IMAGES)))
    (base / "train_test_split.txt").write_text("".join(f"{i} {t}\n" for i, _, t, *_ in reversed(IMAGES)))
    (base / "classes.txt").write_text("".join(f"{k} {name}\n" for k, name in enumerate(CLASSES, start=1)))
    (root / "attributes.txt").write_text("1 has_bill_shape::curved_(up_or_down)\n")  # also in the tarball
    return base


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
