"""Tiny-ImageNet-200 read from tiny files in the official zip's layout (tiny-imagenet-200/...)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from kdss_bench.data.registry import check_dataset, clear_dataset_cache, describe_dataset, load_dataset
from kdss_bench.data.tinyimagenet_reader import check_tinyimagenet, read_tinyimagenet
from kdss_bench.errors import DataError
from tests.data.tiny_trees import TINY_TRAIN as TRAIN
from tests.data.tiny_trees import TINY_VAL as VAL
from tests.data.tiny_trees import TINY_WNIDS as WNIDS
from tests.data.tiny_trees import write_tinyimagenet as _write_tiny


@pytest.fixture(autouse=True)
def _empty_cache():
    clear_dataset_cache()
    yield
    clear_dataset_cache()


def _close_to(values: torch.Tensor, expected, tolerance: int = 4) -> bool:
    """JPEG rounding moves a constant colour by a level or two."""
    return bool(((values.int() - torch.tensor(expected)).abs() <= tolerance).all())


def test_classes_labels_channels_split_and_resizing(tmp_path: Path) -> None:
    _write_tiny(tmp_path)
    images = read_tinyimagenet(tmp_path, name="tinyimagenet", resolution=8)
    assert images.classes == ("go-kart", "goldfish", "crane (n02012849)", "crane (n03126707)")
    assert images.x_train.shape == (6, 3, 8, 8) and images.x_test.shape == (3, 3, 8, 8)
    # Train: class by class in wnids.txt order; test: the labelled val split in annotation order.
    assert images.y_train.tolist() == [0, 0, 1, 2, 2, 3]
    assert images.y_test.tolist() == [2, 0, 1]
    assert _close_to(images.x_test[:, :, 4, 4], [colour for _, _, colour in VAL])
    train_colours = [c for label in sorted(TRAIN) for c in TRAIN[label]]
    keep = [i for i in range(6) if i != 2]  # index 2 is the grey image
    assert _close_to(images.x_train[keep][:, :, 2, 5], [train_colours[i] for i in keep])
    grey = images.x_train[2]
    assert torch.equal(grey[0], grey[1]) and torch.equal(grey[1], grey[2]) and _close_to(grey[:, 0, 0], [10] * 3)

    small = read_tinyimagenet(tmp_path, name="tinyimagenet", resolution=4)
    assert small.x_train.shape == (6, 3, 4, 4) and small.x_test.shape == (3, 3, 4, 4)
    assert _close_to(small.x_test[:, :, 1, 2], [colour for _, _, colour in VAL])


def test_registered_under_the_data_root(tmp_path: Path) -> None:
    _write_tiny(tmp_path / "tinyimagenet")
    description = describe_dataset("tinyimagenet")
    assert "<data_root>/tinyimagenet/" in description and "tiny-imagenet-200.zip" in description
    check_dataset("tinyimagenet", data_root=tmp_path, declared=None)
    images = load_dataset("tinyimagenet", resolution=6, data_root=tmp_path)
    assert images.name == "tinyimagenet" and images.x_train.shape == (6, 3, 6, 6) and images.num_classes == 4
    assert load_dataset("tinyimagenet", resolution=6, data_root=tmp_path) is images


def test_missing_folder_or_file_says_which_archive_to_extract_where(tmp_path: Path) -> None:
    with pytest.raises(DataError) as info:
        check_dataset("tinyimagenet", data_root=tmp_path, declared=None)
    message = str(info.value)
    assert "\n" not in message
    assert str(tmp_path / "tinyimagenet") in message and "tiny-imagenet-200.zip" in message

    base = _write_tiny(tmp_path / "tinyimagenet")
    (base / "val" / "val_annotations.txt").unlink()
    with pytest.raises(DataError, match="val_annotations.txt not found.*tiny-imagenet-200.zip"):
        check_tinyimagenet(tmp_path / "tinyimagenet", name="tinyimagenet")
    # Pointing at tiny-imagenet-200 itself rather than the folder holding it is reported the same way.
    with pytest.raises(DataError, match="tiny-imagenet-200/tiny-imagenet-200/wnids.txt"):
        check_tinyimagenet(base, name="tinyimagenet")


def test_missing_class_folder_unknown_wnid_and_missing_name(tmp_path: Path) -> None:
    base = _write_tiny(tmp_path)
    (base / "wnids.txt").write_text("".join(f"{w}\n" for w in [*WNIDS, "n09999999"]))
    with pytest.raises(DataError, match="no name for class ids n09999999"):
        read_tinyimagenet(tmp_path, name="tinyimagenet", resolution=8)
    with open(base / "words.txt", "a") as stream:
        stream.write("n09999999\tmissing thing\n")
    with pytest.raises(DataError, match="train/n09999999/images"):
        read_tinyimagenet(tmp_path, name="tinyimagenet", resolution=8)

    (base / "wnids.txt").write_text("".join(f"{w}\n" for w in WNIDS[1:]))
    with pytest.raises(DataError, match="n03444034, which wnids.txt does not list"):
        read_tinyimagenet(tmp_path, name="tinyimagenet", resolution=8)
