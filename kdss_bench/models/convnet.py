"""The ConvNet family of the official KRR-ST code (``models/convnet.py``).

Unlike the usual dataset-distillation ConvNet (fixed width 128, InstanceNorm), the KRR-ST
code doubles the width per block and uses BatchNorm: ``convnet_128_256_512_bn`` is its
ConvNet-3. Module names (``layers.<i>.block.<j>``) follow the official code so that its
checkpoints load without renaming.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from kdss_bench.models.input_shape import pooled_size, validate_in_shape

NORMS = ("bn", "in", "none")


def _norm_layer(norm: str, channels: int) -> nn.Module:
    if norm == "bn":
        return nn.BatchNorm2d(channels, affine=True)
    if norm == "in":
        return nn.InstanceNorm2d(channels, affine=True)
    if norm == "none":
        return nn.Identity()
    raise ValueError(f"unknown ConvNet norm {norm!r}; expected one of {', '.join(NORMS)}")


class ConvBlock(nn.Module):
    """Conv3x3 (bias) -> norm -> ReLU -> AvgPool2d(2): one block halves the resolution."""

    def __init__(self, in_channels: int, out_channels: int, norm: str) -> None:
        super().__init__()
        self.block = nn.Sequential(
            nn.Conv2d(in_channels, out_channels, kernel_size=3, stride=1, padding=1),
            _norm_layer(norm, out_channels),
            nn.ReLU(inplace=True),  # official: inplace=False; same values, one activation copy less
            nn.AvgPool2d(kernel_size=2, stride=2),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.block(x)


class ConvNet(nn.Module):
    """Stack of :class:`ConvBlock` with one block per width; the head sees the flattened trunk."""

    def __init__(
        self,
        widths: Sequence[int],
        norm: str = "bn",
        *,
        in_shape: tuple[int, int, int] = (3, 32, 32),
        num_outputs: int = 10,
        name: str | None = None,
    ) -> None:
        super().__init__()
        widths = [int(w) for w in widths]
        if not widths or min(widths) < 1:
            raise ValueError(f"ConvNet widths must be positive integers, got {widths!r}")
        display_name = name or "convnet_" + "_".join(map(str, widths)) + f"_{norm}"
        channels, height, width = validate_in_shape(display_name, in_shape, min_size=2 ** len(widths))
        self.widths = tuple(widths)
        self.norm = norm
        self.layers = nn.ModuleList(
            ConvBlock(c_in, c_out, norm) for c_in, c_out in zip([channels, *widths[:-1]], widths, strict=True)
        )
        self.out_hw = (pooled_size(height, len(widths)), pooled_size(width, len(widths)))
        self.num_features = self.out_hw[0] * self.out_hw[1] * widths[-1]
        self.fc = nn.Linear(self.num_features, num_outputs)

    def trunk(self, x: torch.Tensor) -> torch.Tensor:
        """Feature maps after the last block, (N, w_last, H / 2^depth, W / 2^depth)."""
        for layer in self.layers:
            x = layer(x)
        return x

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return self.trunk(x).flatten(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.embed(x))
