"""Decoding files straight to R x R RGB: modes, JPEG draft decoding, unreadable files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from kdss_bench.data.pil_resize import load_resized, open_rgb, resize_rgb
from kdss_bench.errors import DataError


def test_modes_become_rgb_of_the_requested_size(tmp_path: Path) -> None:
    rgba = np.zeros((10, 14, 4), np.uint8)
    rgba[..., 0], rgba[..., 3] = 180, 0  # fully transparent red: alpha is dropped, not composited
    Image.fromarray(rgba, "RGBA").save(tmp_path / "rgba.png")
    Image.fromarray(np.full((9, 9), 77, np.uint8), "L").save(tmp_path / "grey.png")
    Image.fromarray(np.full((6, 6, 3), 40, np.uint8)).convert("P", palette=Image.Palette.ADAPTIVE).save(
        tmp_path / "palette.gif"
    )
    out = load_resized([tmp_path / "rgba.png", tmp_path / "grey.png", tmp_path / "palette.gif"], 5)
    assert out.shape == (3, 5, 5, 3) and out.dtype == np.uint8
    assert (out[0] == [180, 0, 0]).all()
    assert (out[1] == 77).all()
    assert (out[2] == 40).all()


def test_large_jpeg_decodes_at_reduced_scale_and_resizes_exactly(tmp_path: Path) -> None:
    gradient = np.tile(np.linspace(0, 255, 400, dtype=np.uint8), (300, 1))
    Image.fromarray(np.stack([gradient] * 3, axis=-1)).save(tmp_path / "big.jpg", quality=95)
    image = open_rgb(tmp_path / "big.jpg", resolution=32)
    assert image.mode == "RGB" and min(image.size) >= 32 and image.size[0] < 400
    small = resize_rgb(image, 32)
    assert small.shape == (32, 32, 3)
    # The gradient survives: left dark, right bright.
    assert small[:, :4].mean() < 40 and small[:, -4:].mean() > 215


def test_unreadable_file_names_the_path(tmp_path: Path) -> None:
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG not really")
    with pytest.raises(DataError, match="broken.png"):
        load_resized([broken], 8)
