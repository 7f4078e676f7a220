"""What DSA and DM share: per-class synthetic images optimised against a fresh network per iteration.

Both official scripts (VICO-UoE/DatasetCondensation ``main.py`` and ``main_DM.py``) keep the
synthetic images class by class with fixed hard labels, start them from random real images of
their class (``--init real``) in the normalised input space, update them by SGD with momentum
0.5, and draw a newly initialised network every iteration. Only the loss of one iteration
differs, so subclasses implement :meth:`ClassImageRun.iteration_loss` and this class owns the
state, the real-image sampling, the checkpoints and the result.

All randomness of iteration ``t`` comes from generators seeded by (cell seed, method, purpose,
t), so a run resumed from a checkpoint repeats exactly what an uninterrupted run would do.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from kdss_bench.methods.class_budget import class_balanced_indices, images_per_class
from kdss_bench.methods.context import DistillContext
from kdss_bench.methods.distill_loop import run_distillation_loop
from kdss_bench.methods.distilled_set import DistilledSet
from kdss_bench.methods.run_checkpoint import CheckpointedRun, RunCheckpoint
from kdss_bench.methods.set_manifest import common_manifest
from kdss_bench.train.augment import normalize, to_float
from kdss_bench.train.dsa_augment import DiffAugment
from kdss_bench.train.seeding import build_seeded_model, derive_seed

SIAMESE_SEED_LIMIT = 2**62


def has_batch_norm(net: nn.Module) -> bool:
    """The official code switches to its BatchNorm handling when the network has any BatchNorm layer."""
    return any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in net.modules())


class ClassImageRun(CheckpointedRun):
    """One DSA or DM distillation; subclasses set ``method`` and implement ``iteration_loss``."""

    CHECKPOINTED = ("x_syn", "optimizer")
    """The attributes a resumable checkpoint holds (see CheckpointedRun)."""

    method = "class_image_run"

    def __init__(self, ctx: DistillContext, settings: Any, *, lr_img: float, iterations: int, init: str,
                 dsa_strategy: str, checkpoint_every: int) -> None:
        self.ctx, self.settings = ctx, settings
        self.iterations, self.checkpoint_every = int(iterations), int(checkpoint_every)
        source, device = ctx.source, ctx.device
        self.num_classes = source.num_classes
        self.per_class = images_per_class(ctx.budget, self.num_classes)
        labels = source.y_train.cpu()
        self.class_members = [torch.nonzero(labels == c, as_tuple=False).flatten() for c in range(self.num_classes)]
        offsets = np.cumsum([0, *self.per_class])
        self.class_slices = [slice(int(offsets[c]), int(offsets[c + 1])) for c in range(self.num_classes)]
        self.x_real = source.x_train.to(device)
        self.in_shape = tuple(int(s) for s in source.x_train.shape[1:])
        self.x_syn = self._initial_images(init, labels).requires_grad_(True)
        self.y_syn = torch.repeat_interleave(torch.arange(self.num_classes), torch.tensor(self.per_class))
        self.optimizer = torch.optim.SGD([self.x_syn], lr=lr_img, momentum=0.5)
        self.augment = DiffAugment(dsa_strategy)
        self.step = 0
        self.elapsed_before = 0.0
        self.losses: list[float] = []

    # --- randomness, data and networks -------------------------------------------------------
    def generator(self, purpose: str, iteration: int) -> torch.Generator:
        """A CPU generator for one purpose of one iteration (independent, reproducible, resumable)."""
        return torch.Generator().manual_seed(derive_seed(self.ctx.seed, f"{self.method}:{purpose}:{iteration}"))

    def _initial_images(self, init: str, labels: torch.Tensor) -> torch.Tensor:
        generator = torch.Generator().manual_seed(derive_seed(self.ctx.seed, f"{self.method}:init"))
        picked = class_balanced_indices(labels, self.per_class, generator)
        if init == "noise":  # official: torch.randn in the normalised space
            images = torch.randn((sum(self.per_class), *self.in_shape), generator=generator)
            return images.to(self.ctx.device).contiguous()
        return self.normalised(self.x_real[picked.to(self.ctx.device)]).contiguous()

    def normalised(self, pixels: torch.Tensor) -> torch.Tensor:
        return normalize(to_float(pixels), self.ctx.source.mean, self.ctx.source.std)

    def real_images(self, c: int, n: int, generator: torch.Generator) -> torch.Tensor:
        """``get_images(c, n)``: n random distinct real images of class c (all of them if fewer), normalised."""
        members = self.class_members[c]
        order = torch.randperm(members.numel(), generator=generator)[:n]
        return self.normalised(self.x_real[members[order].to(self.ctx.device)])

    def synthetic_images(self, c: int) -> torch.Tensor:
        return self.x_syn[self.class_slices[c]]

    @staticmethod
    def siamese_seed(generator: torch.Generator) -> int:
        """One seed shared by a class's real and synthetic batch (official: the clock in ms)."""
        return int(torch.randint(0, SIAMESE_SEED_LIMIT, (1,), generator=generator).item())

    def fresh_network(self, iteration: int) -> nn.Module:
        """A newly initialised classifier over the source classes, its weights drawn for this iteration."""
        seed = derive_seed(self.ctx.seed, f"{self.method}:network:{iteration}")
        net = build_seeded_model(self.ctx.model, in_shape=self.in_shape, num_outputs=self.num_classes, seed=seed)
        return net.to(self.ctx.device)

    # --- one iteration -----------------------------------------------------------------------
    def iteration_loss(self, iteration: int) -> float:
        """Runs iteration ``iteration`` (image updates included) and returns its loss for progress."""
        raise NotImplementedError

    # --- checkpoints -------------------------------------------------------------------------
    @property
    def checkpoint(self) -> RunCheckpoint:
        return RunCheckpoint(self.ctx.work_dir, f"{self.method}_checkpoint.pt")

    # --- the whole run -----------------------------------------------------------------------
    def execute(self) -> DistilledSet:
        def advance() -> float:
            loss = self.iteration_loss(self.step)
            self.step += 1
            self.losses.append(loss)
            return loss

        wall = run_distillation_loop(self.ctx, self, total=self.iterations, advance=advance, images=self.x_syn,
                                     checkpoint_every=self.checkpoint_every)
        result = DistilledSet(images=self.x_syn.detach().cpu().float().contiguous(), targets=self.y_syn.clone(),
                              target_kind="hard", manifest=self.manifest(wall))
        self.checkpoint.remove()
        return result

    def extra_manifest(self) -> dict[str, Any]:
        return {}

    def manifest(self, wall: float) -> dict[str, Any]:
        tail = self.losses[-min(len(self.losses), 20):]
        loss = {"first": self.losses[0] if self.losses else None,
                "last20_mean": float(np.mean(tail)) if tail else None}
        return {**common_manifest(self.ctx, self.method, input_space="normalized", wall_time_s=wall, steps=self.step,
                                  loss=loss),
                "images_per_class": list(self.per_class), **self.extra_manifest()}
