"""Every registered model trains: forward, embed and a backward pass that reaches every parameter.

As timm's ``test_model_backward``: one backward pass of a tiny batch, then every parameter must have
a finite gradient that is non-zero somewhere. Two kinds of parameter are inert at initialisation by
construction, and the test handles each explicitly rather than skipping it:

* a convolution's bias followed directly by a mean-subtracting norm (BatchNorm in train mode,
  InstanceNorm) cancels out of the output: its gradient is exactly zero in exact arithmetic, so
  it is checked to be (numerically) zero instead;
* ResNet's ``zero_init_residual`` zeroes the last BN of every residual branch, which blocks the
  branch's gradients at initialisation; those BN weights are set to one first, so that the test
  sees every branch (the zero init itself is tested in ``test_resnet.py``).
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

from kdss_bench.models import build_model, model_names

TINY_CONVNETS = ["convnet_8_16_bn", "convnet_8_16_in", "convnet_8_16_none", "convnet_6_in"]
MEAN_FREE_NORMS = (nn.BatchNorm2d, nn.InstanceNorm2d)


def cases() -> list[tuple[str, int]]:
    """Every registered name at 32 px (VGG11 needs 32), plus tiny ConvNets of every norm at 16 px."""
    return [(name, 32) for name in model_names()] + [(name, 16) for name in TINY_CONVNETS]


def cancelled_biases(model: nn.Module) -> set[str]:
    """Names of conv biases that feed straight into a mean-subtracting norm (in a Sequential)."""
    names = set()
    for prefix, module in model.named_modules():
        if isinstance(module, nn.Sequential):
            children = list(module.named_children())
            for (name, first), (_, second) in zip(children, children[1:], strict=False):
                if isinstance(first, nn.Conv2d) and first.bias is not None and isinstance(second, MEAN_FREE_NORMS):
                    names.add(f"{prefix}.{name}.bias" if prefix else f"{name}.bias")
    return names


def test_the_parametrisation_covers_every_registered_name_and_every_norm():
    names = [name for name, _ in cases()]
    assert set(model_names()) <= set(names)
    assert {name.rsplit("_", 1)[1] for name in names if name.startswith("convnet")} == {"bn", "in", "none"}


@pytest.mark.parametrize(("name", "size"), cases())
def test_forward_embed_and_every_parameter_gets_a_gradient(name: str, size: int) -> None:
    torch.manual_seed(0)
    model = build_model(name, in_shape=(3, size, size), num_outputs=7).train()
    with torch.no_grad():  # wake the zero-initialised residual branches (see the module docstring)
        for module in model.modules():
            if isinstance(module, nn.BatchNorm2d) and torch.count_nonzero(module.weight) == 0:
                module.weight.fill_(1.0)
    x = torch.randn(2, 3, size, size)

    features = model.embed(x)
    out = model(x)

    assert isinstance(model.fc, nn.Linear)
    assert features.shape == (2, model.num_features) and model.fc.in_features == model.num_features
    assert model.fc.out_features == 7 and out.shape == (2, 7)
    torch.testing.assert_close(out, model.fc(features))
    out.square().mean().backward()

    inert = cancelled_biases(model)
    if name.endswith(("_bn", "_in")) or name in ("vgg11", "alexnet"):
        assert inert, f"{name}: its conv biases before a norm were not found"
    for parameter_name, parameter in model.named_parameters():
        grad = parameter.grad
        assert grad is not None, f"{name}: no gradient for {parameter_name}"
        assert torch.isfinite(grad).all(), f"{name}: non-finite gradient for {parameter_name}"
        if parameter_name in inert:
            assert grad.abs().max() <= 1e-4 * max(1.0, float(out.detach().abs().max())), \
                f"{name}: {parameter_name} should cancel in the norm after it"
        else:
            assert grad.abs().max() > 0, f"{name}: zero gradient everywhere for {parameter_name}"


def test_a_bias_before_a_norm_is_inert_only_while_the_norm_subtracts_the_batch_mean() -> None:
    """Why the check above treats those biases apart: in eval mode BatchNorm is affine and they do learn."""
    torch.manual_seed(0)
    model = build_model("convnet_8_16_bn", in_shape=(3, 16, 16), num_outputs=3).eval()
    model(torch.randn(2, 3, 16, 16)).square().mean().backward()
    assert model.layers[0].block[0].bias.grad.abs().max() > 1e-6
