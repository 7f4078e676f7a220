"""Barlow Twins (Zbontar et al., 2021): train a teacher backbone on an unlabelled source set.

The authors ship Barlow Twins ResNet18 teachers without their training code; this is the
standard recipe (two augmented views, a Linear-BN-ReLU projector, the cross-correlation
loss) with Adam, as used for the shared CIFAR-10 teacher. Everything runs batched on one
device from a uint8 tensor: no DataLoader, no PIL.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

import torch
from torch import nn

from kdss_bench.teacher.backbone import build_teacher_backbone, freeze_teacher, teacher_feature_dim
from kdss_bench.teacher.ssl_augment import BarlowTwinsAugment

ProgressFn = Callable[[int, int, float], None]


class UnlabelledImages(Protocol):
    """What Barlow Twins needs of an ``ImageSet``: uint8 (N, 3, R, R) images and their channel stats."""

    x_train: torch.Tensor
    mean: tuple[float, float, float]
    std: tuple[float, float, float]


def build_projector(in_dim: int, dims: Sequence[int]) -> nn.Sequential:
    """Linear(no bias)-BN-ReLU for every hidden size, then a final Linear(no bias)."""
    sizes = [in_dim, *dims]
    if len(sizes) < 2:
        raise ValueError("projector_dims needs at least one size")
    layers: list[nn.Module] = []
    for d_in, d_out in zip(sizes[:-2], sizes[1:-1], strict=True):
        layers += [nn.Linear(d_in, d_out, bias=False), nn.BatchNorm1d(d_out), nn.ReLU(inplace=True)]
    layers.append(nn.Linear(sizes[-2], sizes[-1], bias=False))
    return nn.Sequential(*layers)


def barlow_twins_loss(
    z1: torch.Tensor, z2: torch.Tensor, lambda_offdiag: float = 5e-3, eps: float = 1e-5
) -> torch.Tensor:
    """sum_i (1 - C_ii)^2 + lambda * sum_{i != j} C_ij^2, C the cross-correlation of batch-standardised z.

    Standardisation is a non-affine batch norm (biased variance + ``eps``), as in the paper's code.
    """
    n, d = z1.shape
    z1 = z1.float()
    z2 = z2.float()
    z1 = (z1 - z1.mean(0)) / torch.sqrt(z1.var(0, unbiased=False) + eps)
    z2 = (z2 - z2.mean(0)) / torch.sqrt(z2.var(0, unbiased=False) + eps)
    c = z1.T @ z2 / n
    diagonal = torch.diagonal(c)
    off_diagonal = c.masked_fill(torch.eye(d, dtype=torch.bool, device=c.device), 0.0)
    return (1.0 - diagonal).pow(2).sum() + lambda_offdiag * off_diagonal.pow(2).sum()


def barlow_twins_steps(train_images: int, batch_size: int, epochs: int) -> int:
    """Optimiser steps of a run: whole batches per epoch (the last, partial one is dropped) times epochs."""
    return epochs * (train_images // max(1, min(batch_size, train_images)))


def train_barlow_twins(
    images: UnlabelledImages,
    *,
    arch: str,
    epochs: int,
    batch_size: int = 256,
    lr: float = 1e-3,
    projector_dims: Sequence[int] = (1024, 1024),
    lambda_offdiag: float = 5e-3,
    seed: int,
    device: str | torch.device = "cpu",
    on_progress: ProgressFn | None = None,
    progress_every: int = 10,
    bf16: bool | None = None,
) -> nn.Module:
    """Train ``arch`` with Barlow Twins on ``images.x_train``; return the frozen backbone on ``device``.

    ``epochs`` passes over the set in shuffled batches of ``min(batch_size, N)`` (the last
    partial batch is dropped, as BN-based SSL usually does). ``bf16`` autocast defaults to
    on for CUDA and off on CPU. Deterministic on CPU for a fixed ``seed``: initialisation
    uses a forked global RNG, shuffling and augmentation a private generator.
    """
    device = torch.device(device)
    x_all = images.x_train
    if x_all.dtype != torch.uint8 or x_all.ndim != 4:
        raise ValueError(
            f"Barlow Twins needs uint8 (N, C, H, W) images, got {x_all.dtype} {tuple(x_all.shape)}"
        )
    n = x_all.shape[0]
    batch = min(batch_size, n)
    if batch < 2:
        raise ValueError(f"Barlow Twins needs batches of at least 2 images (BatchNorm); got {n} images")
    if epochs < 1:
        raise ValueError(f"epochs must be at least 1, got {epochs}")
    use_bf16 = device.type == "cuda" if bf16 is None else bf16
    in_shape = tuple(int(v) for v in x_all.shape[1:])

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        backbone = build_teacher_backbone(arch, in_shape)
        projector = build_projector(teacher_feature_dim(backbone), projector_dims)
    backbone.to(device).train()
    projector.to(device).train()
    if device.type == "cuda":
        backbone.to(memory_format=torch.channels_last)

    generator = torch.Generator(device=device).manual_seed(seed)
    augment = BarlowTwinsAugment(mean=tuple(images.mean), std=tuple(images.std))
    optimizer = torch.optim.Adam([*backbone.parameters(), *projector.parameters()], lr=lr)
    x_all = x_all.to(device)

    steps_per_epoch = n // batch
    total = epochs * steps_per_epoch
    step = 0
    for _ in range(epochs):
        order = torch.randperm(n, generator=generator, device=device)
        for b in range(steps_per_epoch):
            x = x_all[order[b * batch : (b + 1) * batch]]
            view1, view2 = augment(x, generator), augment(x, generator)
            if device.type == "cuda":
                view1 = view1.contiguous(memory_format=torch.channels_last)
                view2 = view2.contiguous(memory_format=torch.channels_last)
            # One forward per view, so BatchNorm normalises each view with its own batch stats.
            with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=use_bf16):
                z1 = projector(backbone(view1))
                z2 = projector(backbone(view2))
            loss = barlow_twins_loss(z1, z2, lambda_offdiag)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            step += 1
            if on_progress is not None and (step % progress_every == 0 or step == total):
                on_progress(step, total, float(loss.detach()))

    backbone.to(memory_format=torch.contiguous_format)
    return freeze_teacher(backbone)
