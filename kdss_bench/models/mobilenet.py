"""CIFAR-style MobileNetV2 of the official KRR-ST code (``models/mobilenet.py``).

Differences from the standard MobileNetV2 that the official code has and we keep: the
expansion factor is **2** (not 6) in every stage but the first, ``conv1`` and the second
stage use stride 1 (CIFAR resolution), and a stride-1 block whose width changes gets a
1x1 conv + BN shortcut.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from kdss_bench.models.input_shape import validate_in_shape

# (expansion, out_planes, num_blocks, first stride) per stage.
MOBILENET_CFG: tuple[tuple[int, int, int, int], ...] = (
    (1, 16, 1, 1),
    (2, 24, 2, 1),
    (2, 32, 3, 2),
    (2, 64, 4, 2),
    (2, 96, 3, 1),
    (2, 160, 3, 2),
    (2, 320, 1, 1),
)


class InvertedResidual(nn.Module):
    """1x1 expand -> 3x3 depthwise -> 1x1 project; residual only when the stride is 1."""

    def __init__(self, in_planes: int, out_planes: int, expansion: int, stride: int) -> None:
        super().__init__()
        self.stride = stride
        planes = expansion * in_planes
        self.conv1 = nn.Conv2d(in_planes, planes, kernel_size=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(
            planes, planes, kernel_size=3, stride=stride, padding=1, groups=planes, bias=False
        )
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, out_planes, kernel_size=1, bias=False)
        self.bn3 = nn.BatchNorm2d(out_planes)
        self.shortcut = nn.Sequential()
        if stride == 1 and in_planes != out_planes:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_planes, out_planes, kernel_size=1, bias=False),
                nn.BatchNorm2d(out_planes),
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = F.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return out + self.shortcut(x) if self.stride == 1 else out


class MobileNetV2(nn.Module):
    """conv1 (3x3, s1) -> inverted residual stages -> 1x1 conv to 1280 -> global avg-pool -> fc."""

    def __init__(self, *, in_shape: tuple[int, int, int] = (3, 32, 32), num_outputs: int = 10) -> None:
        super().__init__()
        channels, _, _ = validate_in_shape("mobilenetv2", in_shape, min_size=1)
        self.conv1 = nn.Conv2d(channels, 32, kernel_size=3, stride=1, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(32)
        blocks: list[nn.Module] = []
        in_planes = 32
        for expansion, out_planes, num_blocks, first_stride in MOBILENET_CFG:
            for stride in [first_stride] + [1] * (num_blocks - 1):
                blocks.append(InvertedResidual(in_planes, out_planes, expansion, stride))
                in_planes = out_planes
        self.layers = nn.Sequential(*blocks)
        self.conv2 = nn.Conv2d(in_planes, 1280, kernel_size=1, bias=False)
        self.bn2 = nn.BatchNorm2d(1280)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.num_features = 1280
        self.fc = nn.Linear(self.num_features, num_outputs)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.bn1(self.conv1(x)))
        x = self.layers(x)
        x = F.relu(self.bn2(self.conv2(x)))
        return self.avgpool(x).flatten(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.embed(x))
