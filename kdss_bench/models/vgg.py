"""VGG11 with BatchNorm, as in the official KRR-ST code (``models/vgg.py``).

Five 2x2 max-pools, so the head sees ``512 * (H/32) * (W/32)`` features: the model needs
inputs of at least 32 px.
"""

from __future__ import annotations

import torch
from torch import nn

from kdss_bench.models.input_shape import pooled_size, validate_in_shape

VGG11_CFG: tuple[int | str, ...] = (64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M")


class VGG(nn.Module):
    """``features`` (conv3x3 + BN + ReLU, 'M' = MaxPool2d(2)) then a linear head on the flattened maps."""

    def __init__(
        self,
        cfg: tuple[int | str, ...] = VGG11_CFG,
        *,
        in_shape: tuple[int, int, int] = (3, 32, 32),
        num_outputs: int = 10,
        name: str = "vgg11",
    ) -> None:
        super().__init__()
        num_pools = sum(1 for v in cfg if v == "M")
        channels, height, width = validate_in_shape(name, in_shape, min_size=2**num_pools)
        layers: list[nn.Module] = []
        for v in cfg:
            if v == "M":
                layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
            else:
                layers += [
                    nn.Conv2d(channels, int(v), kernel_size=3, padding=1),
                    nn.BatchNorm2d(int(v)),
                    nn.ReLU(inplace=True),
                ]
                channels = int(v)
        self.features = nn.Sequential(*layers)
        self.num_features = channels * pooled_size(height, num_pools) * pooled_size(width, num_pools)
        self.fc = nn.Linear(self.num_features, num_outputs)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x).flatten(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.embed(x))
