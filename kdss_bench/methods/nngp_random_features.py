"""KIP's kernel in PyTorch: a random-feature estimate of the infinite-width ConvNet NNGP kernel.

KIP (Nguyen et al. 2021) computes the exact infinite-width ConvNet NTK/NNGP with
neural-tangents, which exists only for JAX. Its random-feature counterpart (RFAD, Loo et al.
2022) is used here: an untrained network drawn with the NNGP's weight distribution
(W ~ N(0, 2 / fan_in), b ~ N(0, 0.1^2), the W_std = sqrt(2), b_std = 0.1 of KIP's stax
networks) computes features phi(x) whose inner products, averaged over networks, converge to the
NNGP of the same architecture as width and the number of networks grow. The readout layer of
the NNGP adds W_std^2 <phi, phi'> / P + b_std^2, so

    K(a, b) = 2 / P * sum_j phi_j(a) . phi_j(b) + 0.01,   P = networks x features per network.

The networks are the suite's ConvNet family (``embed()``), in eval mode: a fresh BatchNorm has
running statistics 0 / 1 and is the identity, so a ``_bn`` ConvNet gives the NNGP of the plain
conv-ReLU-avgpool ConvNet of the KIP paper. Redrawing the networks every step (RFAD) makes the
optimisation see the expected kernel rather than one finite draw. Cost is a few forward and one
backward pass per network and step, instead of the O(pixels^2) exact convolutional kernel.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from kdss_bench.models.registry import build_model

WEIGHT_VARIANCE = 2.0  # W_std = sqrt(2), every layer including the readout
BIAS_STD = 0.1  # b_std = 0.1, every layer including the readout
REAL_CHUNK = 1024  # real images per forward pass when no gradient is needed


def nngp_initialise_(network: nn.Module, generator: torch.Generator) -> None:
    """Draw every conv / linear layer as the NNGP's prior: W ~ N(0, 2 / fan_in), b ~ N(0, 0.01)."""
    with torch.no_grad():
        for module in network.modules():
            if isinstance(module, (nn.Conv2d, nn.Linear)):
                fan_in = module.weight[0].numel()
                module.weight.normal_(0.0, math.sqrt(WEIGHT_VARIANCE / fan_in), generator=generator)
                if module.bias is not None:
                    module.bias.normal_(0.0, BIAS_STD, generator=generator)


class ConvNetNngpKernel:
    """``count`` untrained ConvNets of one architecture; ``resample(seed)`` redraws all their weights."""

    def __init__(self, model_name: str, in_shape: tuple[int, int, int], count: int, device: torch.device) -> None:
        if count < 1:
            raise ValueError(f"a random-feature kernel needs at least one network, got {count}")
        self.device = torch.device(device)
        with torch.random.fork_rng(devices=[]):  # the weights are redrawn below; keep the global RNG untouched
            self.networks = [build_model(model_name, in_shape=tuple(in_shape), num_outputs=1) for _ in range(count)]
        self.networks = [net.to(self.device).eval().requires_grad_(False) for net in self.networks]
        self.features_per_network = int(self.networks[0].num_features)

    @property
    def total_features(self) -> int:
        return self.features_per_network * len(self.networks)

    def resample(self, seed: int) -> None:
        """Fresh NNGP weights for every network, drawn from ``seed`` (reproducible, resumable)."""
        generator = torch.Generator(device=self.device).manual_seed(int(seed))
        for net in self.networks:
            nngp_initialise_(net, generator)

    def _embed_without_grad(self, net: nn.Module, x: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return torch.cat([net.embed(chunk) for chunk in x.split(REAL_CHUNK)])

    def kernels(self, x_syn: torch.Tensor, x_real: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """K(X_s, X_s) (m, m) with gradients to ``x_syn``, and K(X_real, X_s) (n, m)."""
        k_ss = x_syn.new_zeros(x_syn.shape[0], x_syn.shape[0])
        k_ts = x_syn.new_zeros(x_real.shape[0], x_syn.shape[0])
        for net in self.networks:
            f_syn = net.embed(x_syn)
            f_real = self._embed_without_grad(net, x_real)
            k_ss = k_ss + f_syn @ f_syn.T
            k_ts = k_ts + f_real @ f_syn.T
        scale = WEIGHT_VARIANCE / self.total_features
        return scale * k_ss + BIAS_STD ** 2, scale * k_ts + BIAS_STD ** 2
