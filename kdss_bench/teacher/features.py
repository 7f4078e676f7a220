"""Teacher features of many images, in batches, without building an autograd graph."""

from __future__ import annotations

import torch
from torch import nn

from kdss_bench.teacher.backbone import teacher_feature_dim


def teacher_features(teacher: nn.Module, x_normalized: torch.Tensor, batch_size: int = 512) -> torch.Tensor:
    """g(x) for normalised images ``x`` (N, C, H, W) -> float32 (N, d) on ``x``'s device.

    The batches run under ``torch.inference_mode``; the result is concatenated outside it so
    it is an ordinary tensor (KRR-ST makes its copy of the targets learnable).
    """
    if teacher.training:
        raise ValueError("teacher_features needs a frozen teacher in eval mode (call freeze_teacher first)")
    if batch_size < 1:
        raise ValueError(f"batch_size must be positive, got {batch_size}")
    param = next(teacher.parameters(), None)
    device = param.device if param is not None else x_normalized.device
    chunks = []
    with torch.inference_mode():
        for start in range(0, x_normalized.shape[0], batch_size):
            batch = x_normalized[start : start + batch_size].to(device, torch.float32, non_blocking=True)
            chunks.append(teacher(batch).flatten(1).float().to(x_normalized.device))
    if not chunks:
        return torch.empty(0, teacher_feature_dim(teacher), device=x_normalized.device)
    return torch.cat(chunks)
