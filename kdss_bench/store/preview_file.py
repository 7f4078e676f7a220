"""``preview.npz``: the first few synthetic images of a running distillation, for a watcher to draw.

Synthetic images live in the network-input space (raw [0, 1] pixels or normalised values, and
drifting outside either range while optimised), so each image is min-max scaled to 0..255 on
its own: what a watcher needs to see is the pattern, not an absolute colour. The file is small
(36 images), replaced atomically, and holds ``images`` uint8 (k, R, R, 3) plus ``step`` and
``total`` of the distillation when it was taken. numpy only: the dashboard never imports torch.
"""

from __future__ import annotations

import io
import os
import zipfile

import numpy as np

from kdss_bench.store.atomic_write import write_bytes_atomic

PREVIEW_COUNT = 36


def preview_grid(images: np.ndarray, count: int = PREVIEW_COUNT) -> np.ndarray:
    """The first ``count`` images of an (N, C, H, W) float array as uint8 (k, H, W, 3), each min-max scaled.

    One channel becomes grey RGB; non-finite values (a diverged run) count as the image's minimum.
    """
    array = np.asarray(images, dtype=np.float32)
    if array.ndim != 4 or array.shape[1] not in (1, 3):
        raise ValueError(f"preview images must be (N, 1|3, H, W), got shape {array.shape}")
    array = array[:count]
    finite = np.isfinite(array)
    per_image = (array.shape[0], -1)
    low = np.where(finite, array, np.inf).reshape(per_image).min(axis=1, initial=np.inf)
    high = np.where(finite, array, -np.inf).reshape(per_image).max(axis=1, initial=-np.inf)
    low = np.where(np.isfinite(low), low, 0.0)[:, None, None, None]
    high = np.where(np.isfinite(high), high, 0.0)[:, None, None, None]
    span = np.where(high > low, high - low, 1.0)
    with np.errstate(invalid="ignore", over="ignore"):
        scaled = np.where(finite, (array - low) / span, 0.0)
    pixels = np.clip(np.rint(scaled * 255.0), 0, 255).astype(np.uint8)
    if pixels.shape[1] == 1:
        pixels = np.repeat(pixels, 3, axis=1)
    return np.ascontiguousarray(pixels.transpose(0, 2, 3, 1))


def write_preview(path: str | os.PathLike[str], images: np.ndarray, *, step: int, total: int) -> None:
    """Writes the preview of ``images`` (N, C, H, W, any float range) atomically."""
    buffer = io.BytesIO()
    np.savez(buffer, images=preview_grid(images), step=np.int64(step), total=np.int64(total))
    write_bytes_atomic(path, buffer.getvalue())


def read_preview(path: str | os.PathLike[str]) -> tuple[np.ndarray, int, int] | None:
    """``(images uint8 (k, R, R, 3), step, total)``, or None if the file is missing or not a preview."""
    try:
        with np.load(path, allow_pickle=False) as data:
            images = np.array(data["images"])
            step, total = int(data["step"]), int(data["total"])
    except (OSError, KeyError, ValueError, EOFError, zipfile.BadZipFile):
        return None
    if images.dtype != np.uint8 or images.ndim != 4 or images.shape[-1] != 3:
        return None
    return images, step, total
