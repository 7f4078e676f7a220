"""Decode image files straight to R x R RGB arrays, so sets of large, varied-size photos fit in memory.

Fine-grained sets (Aircraft, Cars, Flowers) hold thousands of multi-megapixel JPEGs of differing
sizes; decoding each at full size and stacking would need gigabytes. Each file is instead decoded
with JPEG draft mode (DCT-domain downscaling to no less than R x R), resized with PIL's
antialiased bilinear filter and kept as a small uint8 array. Work runs in a thread pool: PIL
releases the GIL while decoding and resizing.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, UnidentifiedImageError

from kdss_bench.errors import DataError


def open_rgb(path: str | os.PathLike[str], resolution: int | None = None) -> Image.Image:
    """Open an image as RGB; with ``resolution`` large JPEGs decode at a reduced scale (>= resolution)."""
    try:
        with Image.open(path) as image:
            if resolution is not None:
                image.draft("RGB", (resolution, resolution))
            return _as_rgb(image)
    except (OSError, UnidentifiedImageError, ValueError) as error:
        raise DataError(f"image {path} cannot be read ({error}); replace or delete the file") from error


def resize_rgb(image: Image.Image, resolution: int) -> np.ndarray:
    """PIL image -> uint8 (R, R, 3), squashing the aspect ratio as the reference pipelines do."""
    image = _as_rgb(image)
    if image.size != (resolution, resolution):
        image = image.resize((resolution, resolution), Image.Resampling.BILINEAR)
    return np.asarray(image, dtype=np.uint8)


def load_resized(paths: Sequence[str | os.PathLike[str]], resolution: int) -> np.ndarray:
    """Files -> uint8 (N, R, R, 3), decoded in parallel."""
    return map_stacked(
        lambda path: resize_rgb(open_rgb(path, resolution), resolution), list(paths), resolution
    )


def map_stacked(load_one: Callable[[Any], np.ndarray], items: Sequence[Any], resolution: int) -> np.ndarray:
    """Apply ``load_one`` (item -> (R, R, 3) uint8) to every item in a thread pool and stack the results."""
    out = np.empty((len(items), resolution, resolution, 3), dtype=np.uint8)
    if not items:
        return out

    def fill(index: int) -> None:
        out[index] = load_one(items[index])

    workers = max(1, min(8, os.cpu_count() or 1, len(items)))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for _ in pool.map(fill, range(len(items))):
            pass
    return out


def _as_rgb(image: Image.Image) -> Image.Image:
    if image.mode == "RGB":
        image.load()
        return image
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        # Drop alpha rather than composite: the arrays path does the same (C=4 -> first 3 channels).
        return image.convert("RGBA").convert("RGB")
    return image.convert("RGB")


def is_image_file(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_SUFFIXES and not path.name.startswith(".")


IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".ppm", ".pgm", ".gif", ".tif", ".tiff", ".webp")
