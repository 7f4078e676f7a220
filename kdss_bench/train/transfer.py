"""Starting a downstream model from a pre-trained one, as the official fine-tuning does.

A fresh model is built with the target's number of classes; every pre-trained tensor except
the head (``fc.*``) is copied into it, BatchNorm running statistics included, and the head
stays randomly initialised. The official code does this with ``load_state_dict(strict=False)``
after deleting ``fc``; here the pre-trained model is left untouched and any key other than
the head that fails to match is an error rather than a silently random layer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from torch import nn

from kdss_bench.errors import ModelError
from kdss_bench.train.seeding import build_seeded_model

if TYPE_CHECKING:
    from kdss_bench.data.image_set import ImageSet

HEAD_PREFIX = "fc."


def backbone_state(init: nn.Module) -> dict[str, torch.Tensor]:
    """``init``'s state dict without the head: the part a downstream model inherits."""
    return {k: v for k, v in init.state_dict().items() if not k.startswith(HEAD_PREFIX)}


def build_transfer_model(
    model_name: str,
    init: nn.Module | None,
    *,
    num_classes: int,
    in_shape: tuple[int, int, int],
    seed: int,
) -> nn.Module:
    """A ``model_name`` with a fresh ``num_classes`` head and, if given, ``init``'s backbone.

    ``init=None`` gives the randomly initialised model of the no-pre-training reference.
    Raises ModelError when ``init`` is not a ``model_name`` (keys or shapes differ).
    """
    model = build_seeded_model(model_name, in_shape=in_shape, num_outputs=num_classes, seed=seed)
    if init is None:
        return model
    state = backbone_state(init)
    expected = {k for k in model.state_dict() if not k.startswith(HEAD_PREFIX)}
    missing, unexpected = sorted(expected - state.keys()), sorted(state.keys() - expected)
    if missing or unexpected:
        raise ModelError(
            f"pre-trained model does not match '{model_name}': missing {missing[:3]}, "
            f"unexpected {unexpected[:3]}; pre-train with the same model name you evaluate"
        )
    try:
        model.load_state_dict(state, strict=False)
    except RuntimeError as err:
        first = str(err).strip().splitlines()[-1].strip()
        raise ModelError(
            f"pre-trained weights do not fit '{model_name}' at {tuple(in_shape)}: {first}; "
            "pre-train and evaluate with the same model name"
        ) from err
    return model


def build_target_model(model_name: str, init: nn.Module | None, target: ImageSet, *, seed: int) -> nn.Module:
    """:func:`build_transfer_model` for ``target``: its number of classes and resolution."""
    return build_transfer_model(model_name, init, num_classes=target.num_classes,
                                in_shape=(3, target.resolution, target.resolution), seed=seed)
