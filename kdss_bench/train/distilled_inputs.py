"""What the pre-training recipes share before their loops: input checks, the model and the batches.

Every recipe can be called directly (tests, notebooks), not only through the runner's validated
DistilledSet, so each checks its inputs; the checks and the set-up common to all live here once.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from kdss_bench.errors import DataError
from kdss_bench.train.batch_stream import ShuffledBatchStream
from kdss_bench.train.seeding import build_seeded_model, derive_seed


def check_distilled_images(x_syn: Tensor) -> None:
    if x_syn.dim() != 4 or not x_syn.is_floating_point():
        raise DataError(
            f"distilled images must be a float (N, C, H, W) tensor, got {x_syn.dtype} {tuple(x_syn.shape)}"
        )


def check_same_count(x_syn: Tensor, targets: Tensor, noun: str) -> None:
    """One target per image, and at least one image (``noun``: "targets" or "labels", for the message)."""
    if x_syn.shape[0] != targets.shape[0] or x_syn.shape[0] == 0:
        raise DataError(f"distilled set has {x_syn.shape[0]} images but {targets.shape[0]} {noun}")


def model_and_batches(model_name: str, x_syn: Tensor, targets: Tensor, *, num_outputs: int,
                      target_dtype: torch.dtype, batch_size: int, seed: int, device: torch.device,
                      in_shape: tuple[int, int, int] | None) -> tuple[nn.Module, ShuffledBatchStream]:
    """A fresh model drawn from ``seed`` on ``device``, and an endless shuffled stream of the distilled set.

    ``in_shape`` defaults to the images' own shape; the set is copied to the device once.
    """
    shape = tuple(in_shape) if in_shape is not None else tuple(x_syn.shape[1:])
    model = build_seeded_model(model_name, in_shape=shape, num_outputs=num_outputs, seed=seed).to(device)
    x = x_syn.detach().to(device, torch.float32)
    y = targets.detach().to(device, target_dtype)
    return model, ShuffledBatchStream((x, y), batch_size, seed=derive_seed(seed, "batches"))
