"""ImageSet construction: layouts, channel handling, resizing, statistics, validation, fingerprint."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from kdss_bench.data.image_set import build_image_set
from kdss_bench.errors import DataError


def _rng_images(shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, size=shape, dtype=np.uint8)


def _labels(n: int, classes: int = 2) -> np.ndarray:
    return np.arange(n) % classes


def test_nhwc_colour_becomes_nchw_with_identical_pixels() -> None:
    x = _rng_images((4, 8, 8, 3))
    images = build_image_set("s", x, _labels(4), x[:2], _labels(2), ["a", "b"], 8)
    assert images.x_train.shape == (4, 3, 8, 8)
    assert images.x_train.dtype == torch.uint8 and images.y_train.dtype == torch.int64
    assert images.x_train.is_contiguous() and images.x_test.is_contiguous()
    assert torch.equal(images.x_train, torch.from_numpy(x).permute(0, 3, 1, 2))
    assert images.num_classes == 2 and images.resolution == 8
    assert images.classes == ("a", "b")


@pytest.mark.parametrize("shape", [(3, 6, 6), (3, 6, 6, 1)])
def test_grey_numpy_becomes_three_equal_channels(shape: tuple[int, ...]) -> None:
    x = _rng_images(shape)
    images = build_image_set("g", x, _labels(3), x, _labels(3), ["a", "b"], 6)
    grey = torch.from_numpy(x.reshape(3, 6, 6))
    for channel in range(3):
        assert torch.equal(images.x_train[:, channel], grey)


def test_torch_nchw_grey_and_rgba_inputs() -> None:
    grey = torch.from_numpy(_rng_images((2, 1, 5, 5)))
    rgba = _rng_images((2, 5, 5, 4))
    images = build_image_set("t", grey, torch.tensor([0, 1]), rgba, np.array([1, 0]), ["a", "b"], 5)
    assert torch.equal(images.x_train[:, 2], grey[:, 0])
    assert torch.equal(images.x_test, torch.from_numpy(rgba[..., :3]).permute(0, 3, 1, 2))


def test_result_does_not_share_memory_with_the_input() -> None:
    x = torch.from_numpy(_rng_images((2, 3, 4, 4)))
    images = build_image_set("m", x, np.array([0, 1]), x, np.array([0, 1]), ["a", "b"], 4)
    x.zero_()
    assert images.x_train.sum() > 0


def test_resize_matches_antialiased_bilinear_reference() -> None:
    x = _rng_images((3, 3, 20, 12), seed=1)
    images = build_image_set(
        "r", torch.from_numpy(x), _labels(3), x[:, :, :8, :8].copy(), _labels(3), ["a", "b"], 8
    )
    expected = F.interpolate(
        torch.from_numpy(x).float(), size=(8, 8), mode="bilinear", align_corners=False, antialias=True
    )
    expected = expected.round().clamp(0, 255).to(torch.uint8)
    assert images.x_train.shape == (3, 3, 8, 8)
    assert torch.equal(images.x_train, expected)
    # The test split is already 8x8: kept bit for bit.
    assert torch.equal(images.x_test, torch.from_numpy(x[:, :, :8, :8]))


def test_resize_keeps_a_constant_image_constant_and_upsamples_grey() -> None:
    flat = np.full((2, 28, 28), 200, dtype=np.uint8)
    images = build_image_set("c", flat, _labels(2), flat, _labels(2), ["a", "b"], 32)
    assert images.x_train.shape == (2, 3, 32, 32)
    assert bool((images.x_train == 200).all())


def test_mean_and_std_come_from_the_train_split_only() -> None:
    x_train = _rng_images((6, 4, 4, 3), seed=2)
    x_test = np.full((5, 4, 4, 3), 255, dtype=np.uint8)
    images = build_image_set("n", x_train, _labels(6), x_test, _labels(5), ["a", "b"], 4)
    scaled = x_train.astype(np.float64) / 255.0
    np.testing.assert_allclose(images.mean, scaled.mean(axis=(0, 1, 2)), rtol=0, atol=1e-12)
    np.testing.assert_allclose(images.std, scaled.std(axis=(0, 1, 2)), rtol=0, atol=1e-9)


@pytest.mark.parametrize(
    ("x", "y", "fragment"),
    [
        (np.zeros((2, 4, 4, 3), np.float32), np.array([0, 1]), "dtype"),
        (np.zeros((2, 6, 6, 5), np.uint8), np.array([0, 1]), "channel axis"),
        (np.zeros((2, 4), np.uint8), np.array([0, 1]), "shape"),
        (np.zeros((0, 4, 4), np.uint8), np.zeros(0, int), "no images"),
        (np.zeros((2, 4, 4), np.uint8), np.array([0, 2]), "labels must lie in [0, 2)"),
        (np.zeros((2, 4, 4), np.uint8), np.array([-1, 0]), "labels must lie"),
        (np.zeros((2, 4, 4), np.uint8), np.array([0.0, 1.0]), "integer class indices"),
        (np.zeros((2, 4, 4), np.uint8), np.array([0, 1, 1]), "expected (2,)"),
    ],
)
def test_invalid_inputs_raise_data_error_naming_the_dataset(x, y, fragment) -> None:
    good = np.zeros((2, 4, 4), np.uint8)
    with pytest.raises(DataError) as info:
        build_image_set("bad_set", x, y, good, np.array([0, 1]), ["a", "b"], 4)
    assert "bad_set" in str(info.value) and fragment in str(info.value)


def test_invalid_classes_and_resolution() -> None:
    x = np.zeros((2, 4, 4), np.uint8)
    with pytest.raises(DataError, match="repeat"):
        build_image_set("d", x, np.array([0, 1]), x, np.array([0, 1]), ["a", "a"], 4)
    with pytest.raises(DataError, match="no classes"):
        build_image_set("d", x, np.array([0, 0]), x, np.array([0, 0]), [], 4)
    with pytest.raises(DataError, match="resolution"):
        build_image_set("d", x, np.array([0, 1]), x, np.array([0, 1]), ["a", "b"], 0)


def test_fingerprint_is_stable_cached_and_sensitive() -> None:
    x = _rng_images((3, 4, 4, 3), seed=3)

    def make(name: str, arr: np.ndarray):
        return build_image_set(name, arr, _labels(3), arr, _labels(3), ["a", "b"], 4)

    first, same = make("f", x), make("f", x.copy())
    assert first.fingerprint() == same.fingerprint()
    assert len(first.fingerprint()) == 64 and first.fingerprint() is first.fingerprint()
    changed = x.copy()
    changed[0, 0, 0, 0] ^= 1
    assert make("f", changed).fingerprint() != first.fingerprint()
    assert make("other", x).fingerprint() != first.fingerprint()
