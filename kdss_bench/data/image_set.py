"""The in-memory form of every dataset: uint8 images, int64 labels, class names and train statistics.

Everything downstream (teacher, distillation, fine-tuning) takes an :class:`ImageSet`, so every
reader funnels its arrays through :func:`build_image_set`, which fixes the layout (N, 3, R, R),
the dtype and the normalisation statistics in one place.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import torch
import torch.nn.functional as F

from kdss_bench.errors import DataError

# Images resized per chunk so that a 50k-image set does not need a float copy of itself at once.
_RESIZE_CHUNK = 2048


@dataclass(frozen=True, eq=False)
class ImageSet:
    """A labelled image classification set held as uint8 tensors (N, 3, R, R).

    ``mean``/``std`` are per-channel statistics of ``x_train / 255`` (train split only, so the
    test split never leaks into normalisation). Treat the tensors as read-only: loaded sets are
    cached and shared.
    """

    name: str
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    classes: tuple[str, ...]
    mean: tuple[float, float, float]
    std: tuple[float, float, float]

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @property
    def resolution(self) -> int:
        return int(self.x_train.shape[-1])

    @cached_property
    def _fingerprint(self) -> str:
        digest = hashlib.sha256()
        digest.update(f"name={self.name}\n".encode())
        digest.update(("classes=" + "\x1f".join(self.classes) + "\n").encode())
        for key in ("x_train", "y_train", "x_test", "y_test"):
            tensor: torch.Tensor = getattr(self, key)
            digest.update(f"{key}:{tensor.dtype}:{tuple(tensor.shape)}\n".encode())
            digest.update(tensor.contiguous().numpy().tobytes())
        return digest.hexdigest()

    def fingerprint(self) -> str:
        """sha256 hex digest of name, classes and the four tensors (computed once), for cache keys."""
        return self._fingerprint

    def __repr__(self) -> str:
        return (
            f"ImageSet(name={self.name!r}, train={len(self.y_train)}, test={len(self.y_test)}, "
            f"classes={self.num_classes}, resolution={self.resolution})"
        )


def build_image_set(
    name: str,
    x_train: np.ndarray | torch.Tensor,
    y_train: np.ndarray | torch.Tensor,
    x_test: np.ndarray | torch.Tensor,
    y_test: np.ndarray | torch.Tensor,
    classes: Sequence[str],
    resolution: int,
    *,
    copy: bool = True,
) -> ImageSet:
    """Validate and normalise raw arrays into an :class:`ImageSet` at ``resolution`` x ``resolution``.

    Images may be numpy or torch uint8 in (N, H, W), (N, H, W, C) or (N, C, H, W) with C in
    {1, 3, 4}; grey becomes 3 equal channels, alpha is dropped, and other sizes are resized with
    antialiased bilinear interpolation (on float, rounded back to uint8). Labels may be any integer
    dtype and must lie in [0, len(classes)).

    The returned tensors share no memory with the arrays given, unless ``copy=False``: then images
    that are already uint8 (N, 3, R, R) torch tensors are kept as they are (no second copy of a
    large set; the caller hands them over and must not modify them afterwards).
    """
    if not isinstance(resolution, int) or isinstance(resolution, bool) or resolution < 1:
        raise DataError(f"dataset '{name}': resolution must be a positive integer, got {resolution!r}")
    class_names = tuple(str(c) for c in classes)
    if not class_names:
        raise DataError(f"dataset '{name}': it has no classes; give at least one class name")
    if len(set(class_names)) != len(class_names):
        duplicates = sorted({c for c in class_names if class_names.count(c) > 1})
        raise DataError(f"dataset '{name}': class names repeat ({', '.join(duplicates)}); make them unique")

    images_train = _to_nchw(name, "x_train", x_train)
    images_test = _to_nchw(name, "x_test", x_test)
    labels_train = _to_labels(name, "y_train", y_train, len(images_train), len(class_names))
    labels_test = _to_labels(name, "y_test", y_test, len(images_test), len(class_names))

    # Resize before widening grey to 3 channels: a third of the work for grey sets.
    images_train = _to_rgb(_resize(images_train, resolution), images_train, copy)
    images_test = _to_rgb(_resize(images_test, resolution), images_test, copy)
    mean, std = _channel_stats(images_train)
    return ImageSet(
        name=name,
        x_train=images_train,
        y_train=labels_train,
        x_test=images_test,
        y_test=labels_test,
        classes=class_names,
        mean=mean,
        std=std,
    )


def _to_nchw(name: str, key: str, images: np.ndarray | torch.Tensor) -> torch.Tensor:
    """Any accepted layout -> uint8 (N, C, H, W) with C in {1, 3} (alpha dropped)."""
    from_numpy = isinstance(images, np.ndarray)
    if from_numpy:
        array = np.ascontiguousarray(images)
        tensor = torch.from_numpy(array if array.flags.writeable else array.copy())
    elif isinstance(images, torch.Tensor):
        tensor = images.detach().cpu()
    else:
        raise DataError(f"dataset '{name}': {key} is a {type(images).__name__}; give a numpy array or tensor")
    if tensor.dtype != torch.uint8:
        raise DataError(
            f"dataset '{name}': {key} has dtype {tensor.dtype}, expected uint8 pixels 0-255; "
            "convert the images"
        )
    if tensor.ndim == 3:
        tensor = tensor.unsqueeze(1)
    elif tensor.ndim == 4:
        tensor = _channels_first(name, key, tensor, prefer_last=from_numpy)
    else:
        raise DataError(
            f"dataset '{name}': {key} has shape {tuple(tensor.shape)}; "
            "expected (N,H,W), (N,H,W,C) or (N,C,H,W)"
        )
    if tensor.shape[0] == 0:
        raise DataError(f"dataset '{name}': {key} holds no images")
    if tensor.shape[2] == 0 or tensor.shape[3] == 0:
        raise DataError(f"dataset '{name}': {key} has empty images, shape {tuple(tensor.shape)}")
    if tensor.shape[1] == 4:
        tensor = tensor[:, :3]
    return tensor


def _to_rgb(images: torch.Tensor, source: torch.Tensor, copy: bool = True) -> torch.Tensor:
    """(N, 1 or 3, R, R) -> contiguous (N, 3, R, R) that shares no memory with the caller's ``source``
    (unless ``copy`` is False); grey is repeated into every channel."""
    if images.shape[1] == 1:
        return images.expand(-1, 3, -1, -1).contiguous()
    out = images.contiguous()
    if copy and out.untyped_storage().data_ptr() == source.untyped_storage().data_ptr():
        out = out.clone()
    return out


def _channels_first(name: str, key: str, tensor: torch.Tensor, *, prefer_last: bool) -> torch.Tensor:
    """Decide between NHWC and NCHW by where a channel axis (1, 3 or 4) can be; ties follow the source."""
    allowed = (1, 3, 4)
    last_ok = tensor.shape[3] in allowed
    first_ok = tensor.shape[1] in allowed
    if last_ok and (prefer_last or not first_ok):
        return tensor.permute(0, 3, 1, 2)
    if first_ok:
        return tensor
    raise DataError(
        f"dataset '{name}': {key} has shape {tuple(tensor.shape)}; no channel axis of size 1, 3 or 4 "
        "at position 1 or 3"
    )


def _to_labels(
    name: str, key: str, labels: np.ndarray | torch.Tensor, count: int, num_classes: int
) -> torch.Tensor:
    tensor = torch.as_tensor(np.asarray(labels)) if isinstance(labels, np.ndarray) else labels
    if not isinstance(tensor, torch.Tensor):
        raise DataError(f"dataset '{name}': {key} is a {type(labels).__name__}; give a numpy array or tensor")
    tensor = tensor.detach().cpu()
    if tensor.dtype.is_floating_point or tensor.dtype.is_complex or tensor.dtype == torch.bool:
        raise DataError(
            f"dataset '{name}': {key} has dtype {tensor.dtype}; labels must be integer class indices"
        )
    if tensor.ndim != 1 or tensor.shape[0] != count:
        raise DataError(
            f"dataset '{name}': {key} has shape {tuple(tensor.shape)}, "
            f"expected ({count},) to match the images"
        )
    tensor = tensor.to(torch.int64).contiguous()
    if count and (int(tensor.min()) < 0 or int(tensor.max()) >= num_classes):
        raise DataError(
            f"dataset '{name}': {key} has labels in [{int(tensor.min())}, {int(tensor.max())}] but there are "
            f"{num_classes} classes; labels must lie in [0, {num_classes})"
        )
    return tensor


def resize_images(images: torch.Tensor, resolution: int) -> torch.Tensor:
    """uint8 (N, C, H, W) -> uint8 (N, C, R, R), resized as :func:`build_image_set` resizes (antialiased
    bilinear on float, per chunk); the input itself when it is already R x R."""
    return _resize(images, resolution)


def _resize(images: torch.Tensor, resolution: int) -> torch.Tensor:
    """Antialiased bilinear resize on float, rounded and clamped back to uint8; a no-op at the right size."""
    if images.shape[2] == resolution and images.shape[3] == resolution:
        return images
    out = torch.empty((images.shape[0], images.shape[1], resolution, resolution), dtype=torch.uint8)
    for start in range(0, images.shape[0], _RESIZE_CHUNK):
        chunk = images[start : start + _RESIZE_CHUNK].float()
        resized = F.interpolate(
            chunk, size=(resolution, resolution), mode="bilinear", align_corners=False, antialias=True
        )
        out[start : start + _RESIZE_CHUNK] = resized.round_().clamp_(0, 255).to(torch.uint8)
    return out


def _channel_stats(images: torch.Tensor) -> tuple[tuple[float, float, float], tuple[float, float, float]]:
    """Per-channel mean and population std of images / 255, accumulated in float64 per chunk."""
    total = torch.zeros(3, dtype=torch.float64)
    total_sq = torch.zeros(3, dtype=torch.float64)
    for start in range(0, images.shape[0], _RESIZE_CHUNK):
        chunk = images[start : start + _RESIZE_CHUNK].to(torch.float64).div_(255.0)
        total += chunk.sum(dim=(0, 2, 3))
        total_sq += chunk.square().sum(dim=(0, 2, 3))
    count = images.shape[0] * images.shape[2] * images.shape[3]
    mean = total / count
    std = (total_sq / count - mean.square()).clamp_(min=0.0).sqrt_()
    return _triple(mean), _triple(std)


def _triple(values: torch.Tensor) -> tuple[float, float, float]:
    return (float(values[0]), float(values[1]), float(values[2]))
