"""What KIP and FRePo share: images and learned soft labels optimised by a kernel-regression loss.

Both official codes start from class-balanced random real images (normalised, the network-input
space) with centred one-hot labels, optimise images and labels jointly with one optimiser, and
return the labels as (m, C) float targets over the source classes (target kind ``soft``). This
class owns that state, the checkpoints, the loop and the result; subclasses implement
:meth:`SoftLabelRun.outer_step` and say how their optimiser and labels start.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from kdss_bench.methods.class_budget import class_balanced_indices, images_per_class
from kdss_bench.methods.context import DistillContext
from kdss_bench.methods.distill_loop import run_distillation_loop
from kdss_bench.methods.distilled_set import DistilledSet
from kdss_bench.methods.real_images import normalized_train_images
from kdss_bench.methods.run_checkpoint import CheckpointedRun, RunCheckpoint
from kdss_bench.methods.set_manifest import common_manifest
from kdss_bench.methods.soft_labels import centred_one_hot
from kdss_bench.train.seeding import derive_seed


class SoftLabelRun(CheckpointedRun):
    """One distillation with learned labels; ``method`` names it in seeds, checkpoints and the manifest."""

    CHECKPOINTED = ("x_syn", "y_syn", "optimizer", "scheduler")
    """The attributes a resumable checkpoint holds (see CheckpointedRun)."""

    method = "soft_label_run"

    def __init__(self, ctx: DistillContext, settings: Any, *, steps: int, checkpoint_every: int) -> None:
        self.ctx, self.settings = ctx, settings
        self.total_steps, self.checkpoint_every = int(steps), int(checkpoint_every)
        source = ctx.source
        self.num_classes = source.num_classes
        self.in_shape = tuple(int(s) for s in source.x_train.shape[1:])
        self.per_class = images_per_class(ctx.budget, self.num_classes)
        generator = torch.Generator().manual_seed(derive_seed(ctx.seed, f"{self.method}:init"))
        self.init_indices = class_balanced_indices(source.y_train, self.per_class, generator)
        images = normalized_train_images(source, self.init_indices, ctx.device).float()
        labels = self.initial_labels(source.y_train[self.init_indices.cpu()]).to(ctx.device)
        self.x_syn = images.contiguous().requires_grad_(True)
        self.y_syn = labels.contiguous().requires_grad_(True)
        self.optimizer, self.scheduler = self.make_optimizer([self.x_syn, self.y_syn])
        self.step = 0
        self.elapsed_before = 0.0
        self.losses: list[float] = []

    # --- what a method decides ---------------------------------------------------------------
    def initial_labels(self, labels: torch.Tensor) -> torch.Tensor:
        """Labels of the initial images as (m, C) float; centred one-hot unless a method scales them."""
        return centred_one_hot(labels, self.num_classes)

    def make_optimizer(self, params: list[torch.Tensor]) -> tuple[torch.optim.Optimizer, Any]:
        """The optimiser of images and labels, and a scheduler stepped once per step (or None)."""
        raise NotImplementedError

    def outer_step(self) -> float:
        """One update of images and labels (and of any networks); returns the step's loss."""
        raise NotImplementedError

    def extra_manifest(self) -> dict[str, Any]:
        return {}

    def advance(self) -> float:
        """Run one outer step and count it; returns its loss."""
        loss = self.outer_step()
        self.step += 1
        self.losses.append(loss)
        return loss

    def last_lr(self) -> float:
        return float(self.optimizer.param_groups[0]["lr"])

    # --- checkpoints -------------------------------------------------------------------------
    @property
    def checkpoint(self) -> RunCheckpoint:
        return RunCheckpoint(self.ctx.work_dir, f"{self.method}_checkpoint.pt")

    # --- the whole run -----------------------------------------------------------------------
    def execute(self) -> DistilledSet:
        wall = run_distillation_loop(self.ctx, self, total=self.total_steps, advance=self.advance, images=self.x_syn,
                                     checkpoint_every=self.checkpoint_every,
                                     progress=lambda: {"lr": self.last_lr()})
        result = DistilledSet(images=self.x_syn.detach().cpu().float().contiguous(),
                              targets=self.y_syn.detach().cpu().float().contiguous(),
                              target_kind="soft", manifest=self.manifest(wall))
        self.checkpoint.remove()
        return result

    def manifest(self, wall: float) -> dict[str, Any]:
        tail = self.losses[-min(len(self.losses), 20):]
        loss = {"first": self.losses[0] if self.losses else None,
                "last20_mean": float(np.mean(tail)) if tail else None}
        manifest = common_manifest(self.ctx, self.method, input_space="normalized", wall_time_s=wall,
                                   steps=self.step, loss=loss)
        manifest["images_per_class"] = list(self.per_class)
        manifest["init_source_indices"] = self.init_indices.tolist()
        manifest.update(self.extra_manifest())
        return manifest
