"""Teacher backbones: the network g whose features the distilled targets Y_s imitate.

``resnet18`` is the authors' teacher (torchvision names, CIFAR stem, ``fc = Identity`` so the
output is the 512-d pooled feature). ``resnet10`` is built the same way. A ``convnet_*`` arch
gives a small teacher for CPU runs and tests: the ConvNet trunk followed by global average
pooling, so the feature size is the last width and does not depend on the resolution.
"""

from __future__ import annotations

import torch
from torch import nn

from kdss_bench.errors import ModelError
from kdss_bench.models.convnet import ConvNet
from kdss_bench.models.registry import build_model, check_model_name, parse_convnet_name

RESNET_TEACHERS = ("resnet10", "resnet18")


class PooledConvNetTrunk(nn.Module):
    """ConvNet blocks -> global average pool -> (N, w_last). Module names match :class:`ConvNet`."""

    def __init__(self, convnet: ConvNet) -> None:
        super().__init__()
        self.layers = convnet.layers
        self.num_features = convnet.widths[-1]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.layers:
            x = layer(x)
        return x.mean(dim=(2, 3))


def build_teacher_backbone(arch: str, in_shape: tuple[int, int, int] = (3, 32, 32)) -> nn.Module:
    """A freshly initialised (trainable) teacher network mapping normalised images to (N, d)."""
    check_model_name(arch)
    if arch in RESNET_TEACHERS:
        model = build_model(arch, in_shape=in_shape, num_outputs=1)
        model.fc = nn.Identity()
    elif arch.startswith("convnet"):
        parse_convnet_name(arch)
        model = PooledConvNetTrunk(build_model(arch, in_shape=in_shape, num_outputs=1))
    else:
        raise ModelError(
            f"teacher arch {arch!r} is not supported; use one of {', '.join(RESNET_TEACHERS)} "
            "or a ConvNet name such as convnet_64_128_256_bn"
        )
    model.in_shape = tuple(int(v) for v in in_shape)
    return model


def teacher_feature_dim(teacher: nn.Module) -> int:
    """d, the width of the teacher's output features (512 for the ResNet teachers)."""
    dim = getattr(teacher, "num_features", None)
    if isinstance(dim, int):
        return dim
    in_shape = getattr(teacher, "in_shape", (3, 32, 32))
    param = next(teacher.parameters(), None)
    device = param.device if param is not None else torch.device("cpu")
    was_training = teacher.training
    teacher.eval()
    try:
        with torch.inference_mode():
            out = teacher(torch.zeros(1, *in_shape, device=device))
    finally:
        teacher.train(was_training)
    return int(out.flatten(1).shape[1])


def freeze_teacher(model: nn.Module) -> nn.Module:
    """Put a teacher in its only valid state: eval mode (BN running stats), no gradients."""
    model.eval()
    model.requires_grad_(False)
    return model
