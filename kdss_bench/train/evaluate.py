"""Top-1 accuracy and mean cross-entropy of a classifier on a uint8 test split.

Fine-tuning and the linear probe both report this once, after training, with the model in
eval mode (BN running statistics) and normalisation as the only transform, as the official
evaluation does. Batching only bounds memory: in eval mode the result does not depend on it.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from kdss_bench.train.augment import Stats, TestTransform


def accuracy_and_loss(
    model: nn.Module,
    x_uint8: Tensor,
    y: Tensor,
    mean: Stats,
    std: Stats,
    batch_size: int = 1024,
    device: torch.device | str | None = None,
) -> tuple[float, float]:
    """Returns (accuracy in percent, mean cross-entropy) of ``model`` on ``(x_uint8, y)``.

    ``device`` defaults to where the model's parameters live. The model's train/eval mode is
    restored afterwards.
    """
    if x_uint8.shape[0] != y.shape[0]:
        raise ValueError(f"{x_uint8.shape[0]} images but {y.shape[0]} labels")
    if x_uint8.shape[0] == 0:
        raise ValueError("cannot evaluate on an empty test split")
    if device is None:
        device = next(model.parameters()).device
    device = torch.device(device)
    transform = TestTransform(mean, std)
    was_training = model.training
    model.eval()
    correct = torch.zeros((), dtype=torch.int64, device=device)
    loss_sum = torch.zeros((), dtype=torch.float64, device=device)
    try:
        with torch.inference_mode():
            for start in range(0, x_uint8.shape[0], batch_size):
                xb = x_uint8[start : start + batch_size].to(device, non_blocking=True)
                yb = y[start : start + batch_size].to(device, non_blocking=True)
                logits = model(transform(xb)).float()
                loss_sum += F.cross_entropy(logits, yb, reduction="sum").double()
                correct += (logits.argmax(dim=1) == yb).sum()
    finally:
        model.train(was_training)
    n = x_uint8.shape[0]
    return 100.0 * int(correct.item()) / n, float(loss_sum.item()) / n
