"""Real training images in network-input space, as the real-subset baselines store them.

The baselines' official code keeps its sets normalised with the source's train statistics, so a
selected real image is converted and normalised exactly as the evaluation pipeline would.
"""

from __future__ import annotations

import torch

from kdss_bench.data.image_set import ImageSet
from kdss_bench.train.augment import normalize, to_float


def normalized_train_images(source: ImageSet, indices: torch.Tensor,
                            device: torch.device | str = "cpu") -> torch.Tensor:
    """float32 (len(indices), 3, R, R): ``source.x_train[indices]`` / 255, normalised with its mean/std."""
    picked = source.x_train[indices.to(torch.int64).cpu()].to(device)
    return normalize(to_float(picked), source.mean, source.std).contiguous()
