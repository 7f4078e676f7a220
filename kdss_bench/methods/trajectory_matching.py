"""The math MTT and MKDT share: an unrolled student on the synthetic set and the normalised distance.

Both methods start a student at an expert's parameters theta*_t, take N plain SGD steps
``theta <- theta - lr * grad`` on synthetic minibatches with a learnable step size ``lr``, and
compare the end point with the expert's parameters M epochs later:

    ||theta_N - theta*_{t+M}||^2 / ||theta*_t - theta*_{t+M}||^2

Only the inner loss differs (cross-entropy on hard labels for MTT, MSE to learnable 512-d
targets for MKDT), so it is a callable of the student's outputs and the minibatch's rows. Both
official codes (``distill.py`` of GeorgeCazenavette/mtt-distillation and of jiayini1119/MKDT)
draw minibatches the same way: a fresh permutation of the synthetic set split into
``batch``-sized chunks, taken from the end (``indices_chunks.pop()``) until none is left.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch
from torch import Tensor

from kdss_bench.errors import ConfigError
from kdss_bench.methods.flat_parameters import FlatParameters

InnerLoss = Callable[[Tensor, Tensor], Tensor]
"""``inner_loss(outputs, rows)``: the student's loss on the synthetic rows ``rows`` given its outputs."""


def unroll_student(student: FlatParameters, start: Tensor, syn_lr: Tensor, images: Tensor, inner_loss: InnerLoss,
                   *, steps: int, batch: int, generator: torch.Generator,
                   augment: Callable[[Tensor], Tensor] | None = None) -> Tensor:
    """The student's flat parameters after ``steps`` SGD steps from ``start``, differentiable in
    ``images``, ``syn_lr`` and whatever ``inner_loss`` reads (e.g. learnable targets).

    ``batch`` rows per step (``images.shape[0]`` for full-batch steps); the permutations come from
    the CPU ``generator``; ``augment`` (if any) is applied to each minibatch before the forward pass.
    """
    params = start.clone().requires_grad_(True)
    chunks: list[Tensor] = []
    for _ in range(steps):
        if not chunks:
            order = torch.randperm(images.shape[0], generator=generator).to(images.device)
            chunks = list(torch.split(order, batch))
        rows = chunks.pop()
        x = images[rows]
        if augment is not None:
            x = augment(x)
        loss = inner_loss(student(params, x), rows)
        (grad,) = torch.autograd.grad(loss, params, create_graph=True)
        params = params - syn_lr * grad
    return params


def normalized_distance(end: Tensor, start: Tensor, target: Tensor) -> Tensor:
    """||end - target||^2 / ||start - target||^2 (1 when the student did not move)."""
    return (end - target).pow(2).sum() / (start - target).pow(2).sum()


def matching_loss(student: FlatParameters, start: Tensor, target: Tensor, syn_lr: Tensor, images: Tensor,
                  inner_loss: InnerLoss, *, steps: int, batch: int, generator: torch.Generator,
                  augment: Callable[[Tensor], Tensor] | None = None) -> Tensor:
    """The trajectory-matching loss of one segment: unroll from ``start``, compare with ``target``."""
    end = unroll_student(student, start, syn_lr, images, inner_loss, steps=steps, batch=batch,
                         generator=generator, augment=augment)
    return normalized_distance(end, start, target)


def check_expert_sizes(experts: Sequence, size: int) -> None:
    """Every expert trajectory must have the student's parameter count (else its cache is stale)."""
    for expert in experts:
        if expert.num_parameters != size:
            raise ConfigError(f"expert {expert.folder} has {expert.num_parameters} parameters but the model "
                              f"has {size}; delete the stale expert cache")


def next_in_cycle(queue: list[int], rng: np.random.Generator, count: int) -> int:
    """The next of ``count`` experts when each is matched once per pass in a fresh random order (both
    official ``distill.py`` defaults): refills ``queue`` (the pass's remaining experts) with a permutation."""
    if not queue:
        queue.extend(int(i) for i in rng.permutation(count))
    return queue.pop(0)
