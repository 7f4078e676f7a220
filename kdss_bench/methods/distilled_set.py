"""A distilled set: synthetic images, their targets and a manifest, saved and validated.

Images live in the network's input space (what is fed to the model as is); the manifest says
whether that space started as raw [0, 1] pixels (the official KRR-ST quirk) or normalised ones.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import yaml

from kdss_bench.errors import CheckpointError

TARGET_KINDS = ("features", "hard", "soft")
TENSORS_FILE = "distilled.safetensors"
MANIFEST_FILE = "manifest.yaml"


@dataclass
class DistilledSet:
    images: torch.Tensor  # float32 (m, 3, R, R), network-input space
    targets: torch.Tensor  # (m, d) float for features/soft, (m,) int64 for hard
    target_kind: str
    manifest: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.validate()

    @property
    def size(self) -> int:
        return int(self.images.shape[0])

    def validate(self, where: str = "distilled set") -> None:
        images, targets = self.images, self.targets
        if self.target_kind not in TARGET_KINDS:
            raise CheckpointError(f"{where}: target kind '{self.target_kind}' is not one of {TARGET_KINDS}")
        if images.ndim != 4 or images.shape[1] != 3 or not images.is_floating_point():
            raise CheckpointError(f"{where}: images must be float (m, 3, H, W), got {tuple(images.shape)} "
                                  f"{images.dtype}")
        if targets.shape[0] != images.shape[0]:
            raise CheckpointError(f"{where}: {images.shape[0]} images but {targets.shape[0]} targets")
        if self.target_kind == "hard":
            if targets.ndim != 1 or targets.is_floating_point():
                raise CheckpointError(f"{where}: hard targets must be int (m,), got {tuple(targets.shape)}")
        elif targets.ndim != 2 or not targets.is_floating_point():
            raise CheckpointError(f"{where}: {self.target_kind} targets must be float (m, d), "
                                  f"got {tuple(targets.shape)} {targets.dtype}")
        if not torch.isfinite(images).all() or (targets.is_floating_point() and not torch.isfinite(targets).all()):
            raise CheckpointError(f"{where}: contains NaN or infinite values")

    def save(self, folder: Path) -> None:
        """Write tensors (safetensors) and the manifest (YAML) into ``folder``."""
        from safetensors.torch import save_file

        folder.mkdir(parents=True, exist_ok=True)
        save_file({"images": self.images.detach().cpu().contiguous(),
                   "targets": self.targets.detach().cpu().contiguous()}, str(folder / TENSORS_FILE))
        manifest = {**self.manifest, "target_kind": self.target_kind, "size": self.size,
                    "image_shape": list(self.images.shape[1:])}
        (folder / MANIFEST_FILE).write_text(yaml.safe_dump(manifest, sort_keys=False), encoding="utf-8")

    @classmethod
    def load(cls, folder: Path) -> DistilledSet:
        from safetensors.torch import load_file

        tensors_path, manifest_path = folder / TENSORS_FILE, folder / MANIFEST_FILE
        for path in (tensors_path, manifest_path):
            if not path.is_file():
                raise CheckpointError(f"{path}: missing; the distilled set in {folder} is incomplete, delete it "
                                      "to recompute")
        tensors = load_file(str(tensors_path))
        manifest = yaml.safe_load(manifest_path.read_text(encoding="utf-8")) or {}
        if set(tensors) != {"images", "targets"}:
            raise CheckpointError(f"{tensors_path}: expected tensors 'images' and 'targets', got {sorted(tensors)}")
        kind = manifest.get("target_kind")
        result = cls(tensors["images"], tensors["targets"], kind, manifest)
        if manifest.get("size") != result.size:
            raise CheckpointError(f"{manifest_path}: size {manifest.get('size')} does not match {result.size} images")
        return result
