"""MKDT's evaluation protocol, the pre-training half: every set regressed onto 512-d targets for a few epochs.

Under MKDT's protocol no set keeps its own recipe: each network is trained with MSE to the set's
target representations for ``mkdt_protocol.epochs`` (20) epochs by SGD (``MkdtProtocolRecipe``).
The targets are the set's own where it learned them (KRR-ST's Y_s, MKDT's y_syn) and otherwise the
frozen teacher's features of the set's images, as MKDT's ``eval.py`` does for its random and
high-loss subsets (lines 57-66: ``SoftLabelDataset`` with the teacher's representations). The
step size is the one an MKDT set learned (``eval.py`` lines 89-91) or ``lr``. The probe half is
:mod:`kdss_bench.train.lbfgs_probe`.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from kdss_bench.methods.distilled_set import DistilledSet
from kdss_bench.train.recipes import PretrainRecipe


def protocol_targets(distilled: DistilledSet, teacher: nn.Module | None) -> tuple[torch.Tensor, str]:
    """(targets, where they come from): the set's feature targets, else the teacher's features of its images."""
    if distilled.target_kind == "features":
        return distilled.targets.float(), "set"
    if teacher is None:
        raise ValueError("a set without feature targets needs the teacher under MKDT's protocol")
    from kdss_bench.teacher.features import teacher_features

    images = distilled.images.float()
    device = next(teacher.parameters()).device
    return teacher_features(teacher, images.to(device)).cpu(), "teacher"


def protocol_lr(distilled: DistilledSet, settings: dict[str, Any]) -> tuple[float, str]:
    """(step size, where it comes from): an MKDT set's learned one when ``learned_lr``, else ``lr``. A learned
    step size that is not positive (torch's SGD refuses it, so the official code would stop) falls back to
    ``lr`` and says so."""
    learned = distilled.manifest.get("learned_lr")
    if settings["learned_lr"] and isinstance(learned, (int, float)) and not isinstance(learned, bool):
        if learned > 0:
            return float(learned), "learned"
        return float(settings["lr"]), f"lr (the learned step size {learned:g} is not positive)"
    return float(settings["lr"]), "lr"


def pretrain_under_mkdt_protocol(distilled: DistilledSet, teacher: nn.Module | None, model_name: str,
                                 settings: dict[str, Any], *, seed: int, device: torch.device,
                                 in_shape: tuple[int, int, int], emit) -> tuple[nn.Module, dict[str, Any]]:
    """The pre-trained network and what was used (targets' origin, step size) for the run's record."""
    from kdss_bench.train.pretrain import pretrain_on_targets

    targets, origin = protocol_targets(distilled, teacher)
    lr, lr_origin = protocol_lr(distilled, settings)
    recipe = PretrainRecipe(epochs=settings["epochs"], batch_size=settings["batch_size"], lr=lr,
                            momentum=settings["momentum"], weight_decay=settings["weight_decay"])
    model = pretrain_on_targets(model_name, distilled.images, targets, recipe, seed=seed, device=device,
                                in_shape=in_shape, emit=emit)
    return model, {"targets": origin, "lr": lr, "lr_from": lr_origin, "target_dim": int(targets.shape[1])}
