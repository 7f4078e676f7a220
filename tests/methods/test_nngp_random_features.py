"""The random-feature ConvNet NNGP kernel that stands in for KIP's neural-tangents kernel."""

from __future__ import annotations

import math

import torch

from kdss_bench.methods.nngp_random_features import ConvNetNngpKernel, nngp_initialise_
from kdss_bench.models.registry import build_model


def test_nngp_initialisation_draws_weights_with_variance_two_over_fan_in():
    net = build_model("convnet_64_64_bn", in_shape=(3, 16, 16), num_outputs=5)
    nngp_initialise_(net, torch.Generator().manual_seed(0))
    conv = net.layers[1].block[0]
    assert abs(conv.weight.std().item() / math.sqrt(2 / (64 * 9)) - 1) < 0.02
    assert abs(conv.bias.std().item() / 0.1 - 1) < 0.3


def test_kernel_is_symmetric_psd_reproducible_per_seed_and_differentiable_in_the_synthetic_images():
    kernel = ConvNetNngpKernel("convnet_8_16_bn", (3, 8, 8), 2, torch.device("cpu"))
    x_syn = torch.randn(6, 3, 8, 8, generator=torch.Generator().manual_seed(0)).requires_grad_(True)
    x_real = torch.randn(5, 3, 8, 8, generator=torch.Generator().manual_seed(1))
    kernel.resample(7)
    k_ss, k_ts = kernel.kernels(x_syn, x_real)
    assert k_ss.shape == (6, 6) and k_ts.shape == (5, 6)
    torch.testing.assert_close(k_ss, k_ss.T)
    assert torch.linalg.eigvalsh(k_ss.detach().double()).min() > 0.0  # the readout bias adds 0.01 everywhere
    grad = torch.autograd.grad(k_ss.sum() + k_ts.sum(), x_syn)[0]
    assert torch.isfinite(grad).all() and grad.abs().sum() > 0
    kernel.resample(7)
    torch.testing.assert_close(kernel.kernels(x_syn, x_real)[1], k_ts)
    kernel.resample(8)
    assert not torch.allclose(kernel.kernels(x_syn, x_real)[1], k_ts)
