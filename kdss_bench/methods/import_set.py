"""The ``import`` method: a released distilled set read from ``x_syn.pt`` and ``y_syn.pt``, validated.

The KRR-ST authors publish every method's set as two tensors saved with ``torch.save``. They are
read with ``torch.load(weights_only=True)`` (no arbitrary pickled objects run) and checked against
the suite before use: plain tensors only, images (budget, 3, R, R) at the suite's resolution,
targets matching their kind, no NaN. See :class:`ImportSetSettings` for how the kind is chosen.
"""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import torch

from kdss_bench.errors import CheckpointError, ConfigError
from kdss_bench.methods.context import DistillContext
from kdss_bench.methods.distilled_set import DistilledSet
from kdss_bench.methods.import_set_settings import (
    IMAGES_FILE,
    TARGETS_FILE,
    ImportSetSettings,
    released_folder_problem,
)
from kdss_bench.methods.set_manifest import common_manifest


def released_set_folder(settings: ImportSetSettings) -> Path:
    """The folder named by ``path``; ConfigError when it is unset or not a folder."""
    problem = released_folder_problem(settings.path)
    if problem:
        raise ConfigError(problem)
    return Path(settings.path).expanduser()


def released_files_fingerprint(folder: Path) -> str:
    """sha256 over both files' bytes: a cache key part, since the path alone does not pin the contents."""
    digest = hashlib.sha256()
    for name in (IMAGES_FILE, TARGETS_FILE):
        path = folder / name
        digest.update(name.encode())
        digest.update(hashlib.sha256(path.read_bytes()).digest() if path.is_file() else b"missing")
    return digest.hexdigest()


def load_plain_tensor(path: Path) -> torch.Tensor:
    """``torch.load(weights_only=True)`` of one tensor; CheckpointError for anything else."""
    if not path.is_file():
        raise CheckpointError(f"{path}: not found; the imported set needs {IMAGES_FILE} and {TARGETS_FILE} "
                              "in the folder given as path")
    try:
        loaded = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # UnpicklingError for disallowed objects, RuntimeError for corrupt archives
        raise CheckpointError(f"{path}: cannot be read as a plain tensor with torch.load(weights_only=True) "
                              f"({type(error).__name__}); save it with torch.save(tensor, path)") from None
    if not isinstance(loaded, torch.Tensor) or loaded.layout != torch.strided:
        raise CheckpointError(f"{path}: holds a {type(loaded).__name__}, not a plain tensor; save it with "
                              "torch.save(tensor, path)")
    return loaded.detach()


def resolve_target_kind(targets: torch.Tensor, requested: str, num_classes: int, where: Path) -> str:
    """The ``auto`` rule of :class:`ImportSetSettings`, or a check that ``requested`` fits ``targets``."""
    if requested == "auto":
        if targets.ndim == 1:
            return "hard"
        if targets.ndim == 2 and targets.is_floating_point():
            return "soft" if targets.shape[1] == num_classes else "features"
        raise CheckpointError(f"{where}: targets of shape {tuple(targets.shape)} {targets.dtype} match no kind; "
                              "expected (m,) int labels, or float (m, C) soft labels or (m, d) features")
    if requested == "hard" and targets.ndim != 1:
        raise CheckpointError(f"{where}: hard targets must be (m,) class indices, got {tuple(targets.shape)}")
    if requested in ("soft", "features") and (targets.ndim != 2 or not targets.is_floating_point()):
        raise CheckpointError(f"{where}: {requested} targets must be float (m, d), got {tuple(targets.shape)} "
                              f"{targets.dtype}")
    if requested == "soft" and targets.shape[1] != num_classes:
        raise CheckpointError(f"{where}: soft targets must have one column per source class ({num_classes}), "
                              f"got {targets.shape[1]}; set target_kind: features if they are features")
    return requested


def hard_labels(targets: torch.Tensor, num_classes: int, where: Path) -> torch.Tensor:
    """int64 class indices in [0, C); whole-number floats are accepted as the official ``.long()`` cast does."""
    if targets.dtype == torch.bool or targets.is_complex():
        raise CheckpointError(f"{where}: hard targets must be int class indices, got {targets.dtype}")
    if targets.is_floating_point():
        if not torch.isfinite(targets).all():
            raise CheckpointError(f"{where}: contains NaN or infinite values")
        if not torch.equal(targets, targets.round()):
            raise CheckpointError(f"{where}: hard targets must be whole class indices, got fractional values")
    labels = targets.to(torch.int64)
    if labels.numel() and (labels.min() < 0 or labels.max() >= num_classes):
        raise CheckpointError(f"{where}: class indices must lie in [0, {num_classes}), got "
                              f"[{int(labels.min())}, {int(labels.max())}]")
    return labels


NAME = "import"


def distill(ctx: DistillContext) -> DistilledSet:
    settings: ImportSetSettings = ctx.settings  # type: ignore[assignment]
    started = time.perf_counter()
    folder = released_set_folder(settings)
    images_path, targets_path = folder / IMAGES_FILE, folder / TARGETS_FILE
    images, targets = load_plain_tensor(images_path), load_plain_tensor(targets_path)
    resolution = ctx.source.resolution
    if images.ndim != 4 or tuple(images.shape[1:]) != (3, resolution, resolution) \
            or not images.is_floating_point():
        raise CheckpointError(f"{images_path}: images must be float (m, 3, {resolution}, {resolution}) at the "
                              f"suite's resolution, got {tuple(images.shape)} {images.dtype}")
    if images.shape[0] != ctx.budget:
        raise ConfigError(f"{images_path}: holds {images.shape[0]} images but the suite's budget is "
                          f"{ctx.budget}; set the budget to {images.shape[0]} for this set")
    if targets.shape[:1] != images.shape[:1]:
        raise CheckpointError(f"{targets_path}: {tuple(targets.shape)} targets for {images.shape[0]} images")
    if not torch.isfinite(images).all():
        raise CheckpointError(f"{images_path}: contains NaN or infinite values")
    num_classes = ctx.source.num_classes
    kind = resolve_target_kind(targets, settings.target_kind, num_classes, targets_path)
    if kind == "hard":
        targets = hard_labels(targets, num_classes, targets_path)
    else:
        targets = targets.float()
        if not torch.isfinite(targets).all():
            raise CheckpointError(f"{targets_path}: contains NaN or infinite values")
    manifest = common_manifest(ctx, NAME, input_space=settings.input_space,
                               wall_time_s=time.perf_counter() - started, steps=0, loss=None)
    manifest["imported_from"] = str(folder.resolve())
    manifest["files_sha256"] = released_files_fingerprint(folder)
    return DistilledSet(images=images.float().contiguous(), targets=targets.contiguous(), target_kind=kind,
                        manifest=manifest)

