"""The shared real datasets under --data-root load with the sizes their README states."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from kdss_bench.data.registry import clear_dataset_cache, load_dataset

SHARED = {  # name: (train, test, classes), from shared/data/README.md
    "cifar10_src": (5000, 2000, 10),
    "tinyimagenet100": (5000, 2000, 100),
    "gtsrb43": (2150, 2000, 43),
    "dtd10": (800, 400, 10),
    "signdigits10": (1600, 462, 10),
    "fashion10": (1000, 2000, 10),
}


@pytest.mark.data
@pytest.mark.parametrize("name", list(SHARED))
def test_shared_npz_set_loads(data_root: Path, name: str) -> None:
    if not (data_root / f"{name}.npz").is_file():
        pytest.skip(f"{name}.npz is not in {data_root}")
    images = load_dataset(name, resolution=32, data_root=data_root)
    try:
        n_train, n_test, n_classes = SHARED[name]
        assert images.x_train.shape == (n_train, 3, 32, 32) and images.x_test.shape == (n_test, 3, 32, 32)
        assert images.x_train.dtype == torch.uint8 and images.num_classes == n_classes
        assert torch.bincount(images.y_train, minlength=n_classes).min() > 0
        assert all(0.05 < m < 0.95 for m in images.mean) and all(0.05 < s < 0.5 for s in images.std)
    finally:
        clear_dataset_cache()
