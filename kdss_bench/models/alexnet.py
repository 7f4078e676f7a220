"""CIFAR-style AlexNet with BatchNorm, as in the official KRR-ST code (``models/alexnet.py``).

Three 2x2 max-pools, so the head sees ``192 * (H/8) * (W/8)`` features.
"""

from __future__ import annotations

import torch
from torch import nn

from kdss_bench.models.input_shape import pooled_size, validate_in_shape


def _conv_bn_relu(c_in: int, c_out: int, kernel: int) -> list[nn.Module]:
    return [
        nn.Conv2d(c_in, c_out, kernel_size=kernel, stride=1, padding=kernel // 2),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
    ]


class AlexNet(nn.Module):
    """conv5 128 / pool / conv5 192 / pool / conv3 256, 192, 192 / pool, then a linear head."""

    def __init__(self, *, in_shape: tuple[int, int, int] = (3, 32, 32), num_outputs: int = 10) -> None:
        super().__init__()
        channels, height, width = validate_in_shape("alexnet", in_shape, min_size=8)
        pool = nn.MaxPool2d
        self.features = nn.Sequential(
            *_conv_bn_relu(channels, 128, 5),
            pool(kernel_size=2, stride=2),
            *_conv_bn_relu(128, 192, 5),
            pool(kernel_size=2, stride=2),
            *_conv_bn_relu(192, 256, 3),
            *_conv_bn_relu(256, 192, 3),
            *_conv_bn_relu(192, 192, 3),
            pool(kernel_size=2, stride=2),
        )
        self.num_features = 192 * pooled_size(height, 3) * pooled_size(width, 3)
        self.fc = nn.Linear(self.num_features, num_outputs)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x).flatten(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.embed(x))
