"""A module's parameters as one flat vector, and a forward pass that reads them from such a vector.

Trajectory matching trains a student by hand (``theta <- theta - lr * grad``) and differentiates
through those steps, so the parameters must be an ordinary tensor in the autograd graph rather
than the module's leaves. One flat vector also makes the expert snapshots one row each and the
parameter distance one norm. ``torch.func.functional_call`` swaps the views in for the forward
pass only, so the module itself is never modified; buffers (BN running statistics) stay the
module's own.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.func import functional_call


class FlatParameters:
    """The layout of ``module``'s parameters (``named_parameters`` order) inside one flat vector."""

    def __init__(self, module: nn.Module) -> None:
        self.module = module
        named = list(module.named_parameters())
        self.names = [name for name, _ in named]
        self.shapes = [tuple(p.shape) for _, p in named]
        self.numels = [p.numel() for _, p in named]
        self.size = sum(self.numels)

    def flatten(self, module: nn.Module | None = None) -> Tensor:
        """A detached copy of the parameters of ``module`` (default: the layout's own) as one vector."""
        params = dict((module or self.module).named_parameters())
        if list(params) != self.names:
            raise ValueError("the module's parameters do not match this layout")
        return torch.cat([params[name].detach().reshape(-1) for name in self.names])

    def unflatten(self, flat: Tensor) -> dict[str, Tensor]:
        """Views of ``flat`` shaped like each parameter (gradients flow back into ``flat``)."""
        if flat.ndim != 1 or flat.numel() != self.size:
            raise ValueError(f"expected a flat vector of {self.size} parameters, got shape {tuple(flat.shape)}")
        pieces = torch.split(flat, self.numels)
        return {name: piece.view(shape) for name, piece, shape in zip(self.names, pieces, self.shapes, strict=True)}

    def __call__(self, flat: Tensor, x: Tensor) -> Tensor:
        """``module(x)`` with the parameters read from ``flat``."""
        return functional_call(self.module, self.unflatten(flat), (x,))
