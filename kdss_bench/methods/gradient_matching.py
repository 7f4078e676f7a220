"""The distance between two networks' parameter gradients that gradient matching minimises.

Dataset condensation (Zhao et al. 2021, Zhao & Bilen 2021) compares the gradients a network gets
from a real batch and from the synthetic images of one class. The official ``match_loss`` offers
three metrics; the default ``ours`` (``utils.py::distance_wb``) treats every output neuron of a
layer separately -- 1 minus the cosine between its real and synthetic incoming-weight gradients,
summed over neurons and layers -- and ignores every 1-D parameter (biases, norm scales), which
the official code scores as exactly zero. Cosines make the distance blind to the gradient's
magnitude, which differs between a batch of 256 real images and 10 synthetic ones.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

METRICS = ("ours", "mse", "cos")
COSINE_EPS = 1e-6  # added to the norm product, as in the official distance_wb


def _per_neuron_rows(gradient: Tensor) -> Tensor:
    """(out, ...) -> (out, fan_in): one row per output neuron (conv filter, linear unit)."""
    return gradient.reshape(gradient.shape[0], -1)


def layer_distance(grad_syn: Tensor, grad_real: Tensor) -> Tensor:
    """Sum over the layer's output neurons of 1 - cos(real row, synthetic row); 0 for 1-D tensors."""
    if grad_real.shape != grad_syn.shape:
        raise ValueError(f"gradient shapes differ: {tuple(grad_syn.shape)} vs {tuple(grad_real.shape)}")
    if grad_real.ndim <= 1:
        return grad_syn.new_zeros(())
    rows_syn, rows_real = _per_neuron_rows(grad_syn), _per_neuron_rows(grad_real)
    dot = (rows_syn * rows_real).sum(dim=-1)
    norms = rows_syn.norm(dim=-1) * rows_real.norm(dim=-1) + COSINE_EPS
    return (1.0 - dot / norms).sum()


def _flat(gradients: Sequence[Tensor]) -> Tensor:
    return torch.cat([g.reshape(-1) for g in gradients])


def gradient_matching_distance(grads_syn: Sequence[Tensor], grads_real: Sequence[Tensor],
                               metric: str = "ours") -> Tensor:
    """The official ``match_loss``: ``ours`` (layer-wise, above), ``mse`` (summed squared difference of
    all gradients) or ``cos`` (1 - cosine of all gradients as one vector)."""
    if len(grads_syn) != len(grads_real):
        raise ValueError(f"{len(grads_syn)} synthetic gradients but {len(grads_real)} real ones")
    if metric == "ours":
        total = grads_syn[0].new_zeros(())
        for g_syn, g_real in zip(grads_syn, grads_real, strict=True):
            total = total + layer_distance(g_syn, g_real)
        return total
    syn, real = _flat(grads_syn), _flat(grads_real)
    if metric == "mse":
        return ((syn - real) ** 2).sum()
    if metric == "cos":
        return 1.0 - (syn * real).sum() / (syn.norm() * real.norm() + COSINE_EPS)
    raise ValueError(f"unknown gradient matching metric {metric!r}; expected one of {', '.join(METRICS)}")
