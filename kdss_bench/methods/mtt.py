"""MTT: dataset distillation by matching training trajectories (Cazenavette et al., CVPR 2022).

Each iteration follows the official ``distill.py``: pick a random expert and a start epoch
t < max_start_epoch; from the expert's parameters at t, take ``syn_steps`` plain SGD steps on
DSA-augmented synthetic minibatches with a learnable step size; the loss is the squared distance
from the student's end point to the expert's parameters at t + expert_epochs, divided by the
squared distance from the start to that target. Both the pixels (SGD, lr_img, momentum 0.5) and
the step size (SGD, lr_lr, momentum 0.5) follow the gradient through the unrolled steps. Images
start as class-balanced real images (normalised, no ZCA) and keep hard labels.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from kdss_bench.methods.class_budget import class_balanced_indices, images_per_class
from kdss_bench.methods.context import DistillContext, local_artifact
from kdss_bench.methods.distill_loop import run_distillation_loop
from kdss_bench.methods.distilled_set import DistilledSet
from kdss_bench.methods.flat_parameters import FlatParameters
from kdss_bench.methods.intermediates import Intermediate, IntermediateRequest
from kdss_bench.methods.mtt_experts import ExpertRecipe, ExpertTrajectory, expert_intermediates, expert_trajectories
from kdss_bench.methods.mtt_settings import MttSettings
from kdss_bench.methods.real_images import normalized_train_images
from kdss_bench.methods.run_checkpoint import CheckpointedRun, RunCheckpoint
from kdss_bench.methods.set_manifest import common_manifest
from kdss_bench.methods.trajectory_matching import check_expert_sizes, matching_loss, next_in_cycle
from kdss_bench.train.dsa_augment import DiffAugment
from kdss_bench.train.seeding import build_seeded_model, derive_seed

CHECKPOINT_FILE = "mtt_checkpoint.pt"
MOMENTUM = 0.5  # distill.py: both optimisers are SGD with momentum 0.5


def expert_recipe(settings: MttSettings, model: str) -> ExpertRecipe:
    return ExpertRecipe(model=model, train_epochs=settings.train_epochs, lr=settings.expert_lr,
                        momentum=settings.expert_momentum, weight_decay=settings.expert_weight_decay,
                        batch_size=settings.expert_batch, dsa=settings.dsa, dsa_strategy=settings.dsa_strategy)


NAME = "mtt"


def intermediates(request: IntermediateRequest) -> list[Intermediate]:
    """One expert trajectory per stage (shared by every seed and budget, as the official buffer is)."""
    settings: MttSettings = request.settings  # type: ignore[assignment]
    return expert_intermediates(request.source, expert_recipe(settings, settings.model or request.model),
                                num_experts=settings.num_experts, seed=settings.expert_seed,
                                device=request.device)


def distill(ctx: DistillContext) -> DistilledSet:
    settings: MttSettings = ctx.settings  # type: ignore[assignment]
    ctx.check_settings(NAME)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="kdss-mtt-experts-") as scratch:
        artifact = ctx.artifact or local_artifact(Path(scratch))
        experts = expert_trajectories(ctx.source, expert_recipe(settings, settings.model or ctx.model),
                                      num_experts=settings.num_experts, seed=settings.expert_seed,
                                      device=ctx.device, artifact=artifact, emit=ctx.emit)
        experts_ready = time.perf_counter() - started
        run = MttRun(ctx, settings, experts)
        return run.execute(started=started, experts_time_s=experts_ready)


class MttRun(CheckpointedRun):
    """One distillation: synthetic set, step size, optimisers, the matching step, checkpoints."""

    CHECKPOINTED = (
        "images", "syn_lr", "image_optimizer", "lr_optimizer", "augment_generator", "batch_generator", "rng",
        "order_rng", "expert_queue",
    )
    """The attributes a resumable checkpoint holds (see CheckpointedRun)."""

    def __init__(self, ctx: DistillContext, settings: MttSettings, experts: list[ExpertTrajectory]) -> None:
        self.ctx, self.settings, self.experts = ctx, settings, experts
        self.checkpoint = RunCheckpoint(ctx.work_dir, CHECKPOINT_FILE)
        source, device = ctx.source, ctx.device
        self.per_class = images_per_class(ctx.budget, source.num_classes)
        picker = torch.Generator().manual_seed(derive_seed(ctx.seed, "mtt_init"))
        indices = class_balanced_indices(source.y_train, self.per_class, picker)
        self.source_indices = indices
        self.labels = source.y_train[indices].to(torch.int64).to(device)
        if settings.pix_init == "real":
            images = normalized_train_images(source, indices, device)
        else:
            shape = (int(indices.numel()), *source.x_train.shape[1:])
            images = torch.randn(shape, generator=picker).to(device)
        self.images = images.float().contiguous().requires_grad_(True)
        self.syn_lr = torch.tensor(float(settings.lr_teacher), device=device).requires_grad_(True)
        self.image_optimizer = torch.optim.SGD([self.images], lr=settings.lr_img, momentum=MOMENTUM)
        self.lr_optimizer = torch.optim.SGD([self.syn_lr], lr=settings.lr_lr, momentum=MOMENTUM)
        student = build_seeded_model(settings.model or ctx.model, in_shape=tuple(source.x_train.shape[1:]),
                                     num_outputs=source.num_classes, seed=ctx.seed).to(device)  # weights unused
        self.student = FlatParameters(student.train())
        check_expert_sizes(experts, self.student.size)
        self.augment = DiffAugment(settings.dsa_strategy) if settings.dsa else None
        self.augment_generator = torch.Generator().manual_seed(derive_seed(ctx.seed, "mtt_dsa"))
        self.batch_generator = torch.Generator().manual_seed(derive_seed(ctx.seed, "mtt_batches"))
        self.rng = np.random.default_rng(derive_seed(ctx.seed, "mtt_expert_choice"))  # start epochs (and uniform)
        self.order_rng = np.random.default_rng(derive_seed(ctx.seed, "mtt_expert_order"))
        self.expert_queue: list[int] = []
        self.step = 0
        self.elapsed_before = 0.0
        self.losses: list[float] = []

    # --- the matching loss -----------------------------------------------------------------
    def matching_loss(self, expert: ExpertTrajectory, start_epoch: int) -> torch.Tensor:
        """||theta_N - theta*_{t+M}||^2 / ||theta*_t - theta*_{t+M}||^2 after ``syn_steps`` student steps."""
        settings, device = self.settings, self.ctx.device
        start = expert.snapshot(start_epoch, device)
        target = expert.snapshot(start_epoch + settings.expert_epochs, device)
        augment = self.augment
        return matching_loss(
            self.student, start, target, self.syn_lr, self.images,
            lambda outputs, rows: F.cross_entropy(outputs, self.labels[rows]),
            steps=settings.syn_steps, batch=settings.batch_syn or self.images.shape[0],
            generator=self.batch_generator,
            augment=None if augment is None else lambda x: augment(x, generator=self.augment_generator))

    def next_expert(self) -> int:
        """``cycle``: every expert once per pass, in a fresh random order; ``uniform``: any expert each time."""
        if self.settings.expert_order == "uniform":
            return int(self.rng.integers(len(self.experts)))
        return next_in_cycle(self.expert_queue, self.order_rng, len(self.experts))

    def distill_step(self) -> float:
        """One outer iteration: next expert, random start epoch, matching loss, update pixels and step size."""
        settings = self.settings
        expert = self.experts[self.next_expert()]
        start_epoch = int(self.rng.integers(settings.max_start_epoch))
        loss = self.matching_loss(expert, start_epoch)
        self.image_optimizer.zero_grad(set_to_none=True)
        self.lr_optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.image_optimizer.step()
        self.lr_optimizer.step()
        self.step += 1
        value = float(loss.detach())
        self.losses.append(value)
        return value

    # --- the whole run ---------------------------------------------------------------------
    def execute(self, *, started: float | None = None, experts_time_s: float = 0.0) -> DistilledSet:
        ctx, settings = self.ctx, self.settings
        started = time.perf_counter() if started is None else started
        distill_time = run_distillation_loop(
            ctx, self, total=settings.iterations, advance=self.distill_step, images=self.images,
            checkpoint_every=settings.checkpoint_every, progress=lambda: {"syn_lr": float(self.syn_lr.detach())})
        result = DistilledSet(images=self.images.detach().cpu().float().contiguous(),
                              targets=self.labels.detach().cpu().clone(), target_kind="hard",
                              manifest=self._manifest(time.perf_counter() - started, distill_time, experts_time_s))
        self.checkpoint.remove()
        return result

    def _manifest(self, wall: float, distill_time: float, experts_time: float) -> dict:
        ctx, settings = self.ctx, self.settings
        tail = self.losses[-min(len(self.losses), 20):]
        loss = {"first": self.losses[0] if self.losses else None,
                "last20_mean": float(np.mean(tail)) if tail else None}
        manifest = common_manifest(ctx, "mtt", input_space="normalized", wall_time_s=wall, steps=self.step,
                                   loss=loss)
        records = [expert.record for expert in self.experts]
        test_accuracies = [r["test_accuracy"] for r in records if r["test_accuracy"] is not None]
        manifest["model"] = settings.model or ctx.model
        manifest["cost"].update({
            "distill_time_s": round(distill_time, 3),
            "experts_time_s": round(experts_time, 3),  # this call: training missing experts + loading
            "experts_train_time_s": round(sum(r["wall_time_s"] for r in records), 3),  # all experts, cached or not
        })
        manifest["syn_lr"] = float(self.syn_lr.detach())
        manifest["images_per_class"] = self.per_class
        manifest["source_indices"] = self.source_indices.tolist() if settings.pix_init == "real" else None
        manifest["experts"] = {
            "count": len(records), "seed": settings.expert_seed, "epochs": settings.train_epochs,
            "parameters": self.student.size, "order": settings.expert_order,
            "test_accuracy_mean": float(np.mean(test_accuracies)) if test_accuracies else None,
            "final_train_loss_mean": float(np.mean([r["train_loss"][-1] for r in records])),
        }
        return manifest
