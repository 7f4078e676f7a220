"""ResNet10/18 as the official KRR-ST code builds them: torchvision's ResNet with a CIFAR stem.

The stem is a 3x3, stride-1, **padding-2** convolution (so a 32 px input becomes 34 px) and
no max-pool. Everything else is torchvision's ``ResNet`` with ``BasicBlock`` and
``zero_init_residual=True``, so parameter names are torchvision's and the authors' teacher
checkpoints (``barlow_twins_resnet18_*.pt``) load strictly.

Like the official code, ``conv1`` is replaced *after* torchvision's Kaiming-normal init loop,
so it keeps PyTorch's default ``Conv2d`` init; every other conv is Kaiming-normal.
"""

from __future__ import annotations

import torch
from torch import nn
from torchvision.models.resnet import BasicBlock, ResNet

from kdss_bench.models.input_shape import validate_in_shape

BLOCKS_PER_STAGE = {"resnet10": (1, 1, 1, 1), "resnet18": (2, 2, 2, 2)}


class CifarResNet(ResNet):
    """torchvision ResNet + CIFAR stem + ``embed()``; forward is ``fc(embed(x))``."""

    def __init__(
        self, layers: tuple[int, int, int, int], *, in_channels: int = 3, num_outputs: int = 10
    ) -> None:
        super().__init__(BasicBlock, list(layers), num_classes=num_outputs, zero_init_residual=True)
        self.conv1 = nn.Conv2d(in_channels, 64, kernel_size=3, stride=1, padding=2, bias=False)
        self.maxpool = nn.Identity()
        self.num_features = 512 * BasicBlock.expansion

    def stem(self, x: torch.Tensor) -> torch.Tensor:
        """conv1 -> bn1 -> relu (maxpool is the identity): the input to ``layer1``."""
        return self.maxpool(self.relu(self.bn1(self.conv1(x))))

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return torch.flatten(self.avgpool(x), 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.embed(x))


def build_resnet(name: str, *, in_shape: tuple[int, int, int] = (3, 32, 32), num_outputs: int) -> CifarResNet:
    """``resnet10`` ([1,1,1,1]) or ``resnet18`` ([2,2,2,2])."""
    channels, _, _ = validate_in_shape(name, in_shape, min_size=1)
    return CifarResNet(BLOCKS_PER_STAGE[name], in_channels=channels, num_outputs=num_outputs)
