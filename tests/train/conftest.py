"""Tiny data sets shared by the training-recipe tests (seconds on two CPU cores)."""

from __future__ import annotations

import pytest
import torch

from kdss_bench.data.image_set import ImageSet, build_image_set


def separable_set(n_train: int = 40, n_test: int = 20, resolution: int = 16, seed: int = 0) -> ImageSet:
    """Two classes a linear rule separates: dark noisy images (class 0) vs bright ones (class 1)."""
    g = torch.Generator().manual_seed(seed)

    def split(n: int) -> tuple[torch.Tensor, torch.Tensor]:
        y = torch.arange(n) % 2
        base = torch.where(y == 1, 190, 40).view(n, 1, 1, 1)
        noise = torch.randint(-30, 31, (n, 3, resolution, resolution), generator=g)
        return (base + noise).clamp(0, 255).to(torch.uint8), y

    x_train, y_train = split(n_train)
    x_test, y_test = split(n_test)
    return build_image_set("toy2", x_train, y_train, x_test, y_test, ("dark", "bright"), resolution)


@pytest.fixture(scope="session")
def toy_set() -> ImageSet:
    """40 train / 20 test images at 16 px, two classes separable by brightness."""
    return separable_set()


@pytest.fixture(scope="session")
def make_toy_set():
    """The builder itself, for tests that need other sizes or seeds."""
    return separable_set


@pytest.fixture(autouse=True)
def _two_threads():
    """The suite shares two cores with other work; keep torch from oversubscribing them."""
    previous = torch.get_num_threads()
    torch.set_num_threads(min(previous, 2))
    yield
    torch.set_num_threads(previous)
