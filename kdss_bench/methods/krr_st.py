"""KRR-ST: self-supervised dataset distillation by kernel ridge regression (Lee et al., ICLR 2024).

X_s (m synthetic images) and Y_s (their learnable m x d target representations) are optimised so
that a linear head fitted in closed form on (phi(X_s), Y_s) predicts the frozen self-supervised
teacher's representations of augmented real images. phi is drawn from a pool of ConvNets trained
online on (X_s, Y_s). Every step follows the official ``algorithms/distill.py`` (brief 1.5); the
known bugs and history of the official code are named settings (see ``KrrStSettings``).
"""

from __future__ import annotations

import contextlib
import functools

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from kdss_bench.methods.context import DistillContext
from kdss_bench.methods.distill_loop import run_distillation_loop
from kdss_bench.methods.distilled_set import DistilledSet
from kdss_bench.methods.kernel_ridge_head import kernel_ridge_predict
from kdss_bench.methods.model_pool import ModelPool
from kdss_bench.methods.run_checkpoint import GLOBAL_TORCH_RNG, CheckpointedRun, RunCheckpoint
from kdss_bench.methods.set_manifest import common_manifest
from kdss_bench.methods.settings import KrrStSettings
from kdss_bench.methods.teacher_target_cache import TeacherTargetCache
from kdss_bench.models.registry import build_model
from kdss_bench.teacher.features import teacher_features
from kdss_bench.teacher.inference_teacher import inference_teacher
from kdss_bench.train.augment import TrainAugment, normalize, to_float
from kdss_bench.train.batch_stream import ShuffledBatchStream
from kdss_bench.train.seeding import derive_seed, device_generator

CHECKPOINT_FILE = "krr_st_checkpoint.pt"


def initial_synthetic_set(ctx: DistillContext, settings: KrrStSettings) -> tuple[torch.Tensor, torch.Tensor]:
    """X_s <- m random real training images; Y_s <- teacher(normalise(X_s)) (brief 1.3).

    With ``xs_init="raw"`` (official) X_s keeps the raw [0, 1] pixels although the networks read
    normalised real images; ``"normalized"`` starts X_s in the same space as the real inputs.
    """
    source = ctx.source
    generator = torch.Generator().manual_seed(derive_seed(ctx.seed, "xs_init"))
    picked = torch.randperm(source.x_train.shape[0], generator=generator)[: ctx.budget]
    raw = to_float(source.x_train[picked].to(ctx.device))
    normalised = normalize(raw, source.mean, source.std)
    y_syn = teacher_features(ctx.teacher, normalised).float()
    x_syn = raw if settings.xs_init == "raw" else normalised
    return x_syn.clone().contiguous(), y_syn.clone().contiguous()


def krr_outer_loss(model: nn.Module, x_syn: torch.Tensor, y_syn: torch.Tensor, x_real: torch.Tensor,
                   y_real: torch.Tensor, ridge: float = 1e-6, solver: str = "cholesky") -> torch.Tensor:
    """MSE between the closed-form KRR head's predictions on the real batch and the teacher's targets.

    Features of the real batch carry no gradient (as in the official code); the loss is differentiable
    in ``x_syn`` and ``y_syn``. ``model`` is expected in eval mode (BN running statistics). Under
    an autocast context the two forward passes follow it; the kernel, the solve and the loss do not.
    """
    with torch.no_grad():
        f_real = model.embed(x_real)
    f_syn = model.embed(x_syn)
    prediction = kernel_ridge_predict(f_real, f_syn, y_syn, ridge=ridge, solver=solver)
    return F.mse_loss(prediction, y_real.to(prediction.dtype))


NAME = "krr_st"


def distill(ctx: DistillContext) -> DistilledSet:
    settings: KrrStSettings = ctx.settings  # type: ignore[assignment]
    run = KrrStRun(ctx, settings)
    return run.execute()


class KrrStRun(CheckpointedRun):
    """One distillation: state, the outer step, checkpoints. Split out so tests can step it."""

    CHECKPOINTED = (
        "x_syn", "y_syn", "optimizer", "scheduler", "pool", "real_batches", "augment_generator", "torch_rng",
    )
    """The attributes a resumable checkpoint holds (see CheckpointedRun)."""

    def __init__(self, ctx: DistillContext, settings: KrrStSettings):
        self.ctx, self.settings = ctx, settings
        device, source = ctx.device, ctx.source
        ctx.check_settings("krr_st", settings)  # teacher, budget, pool and speed settings, as validate checks them
        self.precision = (functools.partial(torch.autocast, device.type, dtype=torch.bfloat16)
                          if settings.precision == "bf16" else contextlib.nullcontext)
        torch.manual_seed(derive_seed(ctx.seed, "pool_init"))
        self.rng = np.random.default_rng(derive_seed(ctx.seed, "pool_choice"))
        x_syn, y_syn = initial_synthetic_set(ctx, settings)
        self.x_syn = x_syn.requires_grad_(True)
        self.y_syn = y_syn.requires_grad_(True)
        self.in_shape = tuple(self.x_syn.shape[1:])
        self.feature_dim = int(self.y_syn.shape[1])
        if settings.outer_optimizer == "adamw":
            self.optimizer = torch.optim.AdamW([self.x_syn, self.y_syn], lr=settings.lr,
                                               weight_decay=settings.weight_decay)
        else:
            self.optimizer = torch.optim.SGD([self.x_syn, self.y_syn], lr=settings.lr, momentum=0.5,
                                             weight_decay=settings.weight_decay)
        self.scheduler = torch.optim.lr_scheduler.LinearLR(
            self.optimizer, start_factor=1.0, end_factor=settings.lr_end_factor,
            total_iters=max(1, settings.outer_steps))
        self.pool = ModelPool(self._build_inner_model, size=settings.pool_size,
                              online_iterations=settings.online_iterations,
                              optimizer=settings.online_optimizer, lr=settings.online_lr,
                              weight_decay=settings.online_weight_decay, reset=settings.pool_reset,
                              rng=self.rng, precision=self.precision)
        self.x_real = source.x_train.to(device)
        self.real_batches = ShuffledBatchStream((self.x_real,), settings.real_batch,
                                                seed=derive_seed(ctx.seed, "real_batches"))
        self.augment = TrainAugment(source.mean, source.std) if settings.real_augment == "crop_flip" else None
        self.augment_generator = device_generator(ctx.seed, "real_augment", device)
        self.teacher = inference_teacher(ctx.teacher, channels_last=settings.channels_last)
        if settings.compile:
            self.teacher = torch.compile(self.teacher, options={"freezing": True})
        self.target_cache: TeacherTargetCache | None = None
        """Fast mode's teacher targets; built by :meth:`build_target_cache` (the first step at the latest)."""
        self.checkpoint = RunCheckpoint(ctx.work_dir, CHECKPOINT_FILE)
        self.torch_rng = GLOBAL_TORCH_RNG  # pool models draw their initial weights from it
        self.step = 0
        self.elapsed_before = 0.0
        self.losses: list[float] = []

    def _build_inner_model(self) -> nn.Module:
        model = build_model(self.ctx.model, in_shape=self.in_shape, num_outputs=self.feature_dim).to(self.ctx.device)
        if self.settings.channels_last:
            model = model.to(memory_format=torch.channels_last)
        if self.settings.compile and self.ctx.device.type == "cuda":
            model.embed = torch.compile(model.embed)
            model.forward = torch.compile(model.forward)
        return model

    def build_target_cache(self) -> TeacherTargetCache:
        """Fast mode: the teacher's targets for ``teacher_views`` views of every source image."""
        if self.target_cache is None:
            assert self.augment is not None
            total = self.settings.outer_steps
            self.target_cache = TeacherTargetCache(
                self.teacher, self.x_real, self.augment, self.settings.teacher_views,
                generator=device_generator(self.ctx.seed, "teacher_views", self.ctx.device),
                channels_last=self.settings.channels_last,
                on_progress=lambda done, of: self.ctx.emit("progress", step=0, total=total,
                                                           phase="teacher_targets", images=done, of=of))
        return self.target_cache

    def real_batch(self) -> torch.Tensor:
        (batch,) = next(self.real_batches)
        if self.augment is not None:
            return self.augment(batch, generator=self.augment_generator)
        return normalize(to_float(batch), self.ctx.source.mean, self.ctx.source.std)

    def real_batch_and_targets(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The step's augmented real batch and the teacher's features of it (computed or looked up)."""
        channels_last = self.settings.channels_last
        if self.settings.mode == "fast":
            index = self.real_batches.next_indices().to(self.ctx.device)
            x_real, y_real = self.build_target_cache().batch(index, self.augment_generator)
            return (x_real.contiguous(memory_format=torch.channels_last) if channels_last else x_real), y_real
        x_real = self.real_batch()
        if channels_last:  # before the teacher, whose weights are channels-last
            x_real = x_real.contiguous(memory_format=torch.channels_last)
        with torch.inference_mode(), self.precision():
            y_real = self.teacher(x_real).float()
        return x_real, y_real.clone()  # an ordinary tensor: autograd may save it for the loss's backward

    def outer_step(self) -> float:
        """One KRR-ST update of X_s and Y_s followed by the pool update (brief 1.5, steps 1-9)."""
        settings = self.settings
        idx = int(self.rng.integers(settings.pool_size))
        model = self.pool.models[idx]
        model.eval()
        x_real, y_real = self.real_batch_and_targets()
        with self.precision():
            loss = krr_outer_loss(model, self.x_syn, self.y_syn, x_real, y_real, ridge=settings.ridge,
                                  solver=settings.solver)
        grad_x, grad_y = torch.autograd.grad(loss, [self.x_syn, self.y_syn])
        self.x_syn.grad, self.y_syn.grad = grad_x, grad_y
        if settings.grad_clip > 0:
            nn.utils.clip_grad_norm_(self.x_syn, settings.grad_clip)
            nn.utils.clip_grad_norm_(self.y_syn, settings.grad_clip)
        self.optimizer.step()
        self.scheduler.step()
        self.pool.update(idx, self.x_syn.detach(), self.y_syn.detach())
        self.step += 1
        value = float(loss.detach())
        self.losses.append(value)
        return value

    # --- the whole run -----------------------------------------------------------------------
    def execute(self) -> DistilledSet:
        ctx, settings = self.ctx, self.settings
        total = settings.outer_steps

        def prepare(resumed: bool) -> None:
            if settings.mode == "fast":
                self.build_target_cache()  # after a resume, rebuilt from its seed: the same views and targets
            if not resumed:
                ctx.emit("progress", step=0, total=total, phase="pool_warm_start")
                self.pool.warm_start(self.x_syn, self.y_syn,
                                     on_model=lambda i, n: ctx.emit("progress", step=0, total=total,
                                                                    phase="pool_warm_start", model=i + 1,
                                                                    of=settings.pool_size, steps=n))

        wall = run_distillation_loop(
            ctx, self, total=total, advance=self.outer_step, images=self.x_syn,
            checkpoint_every=settings.checkpoint_every, prepare=prepare,
            progress=lambda: {"lr": self.scheduler.get_last_lr()[0],
                              "reinitialisations": self.pool.reinitialisations})
        result = DistilledSet(
            images=self.x_syn.detach().cpu().float(), targets=self.y_syn.detach().cpu().float(),
            target_kind="features", manifest=self._manifest(wall))
        self.checkpoint.remove()
        return result

    def _manifest(self, wall: float) -> dict:
        ctx, settings = self.ctx, self.settings
        tail = self.losses[-min(len(self.losses), 20):] if self.losses else []
        manifest = common_manifest(
            ctx, "krr_st", input_space="raw" if settings.xs_init == "raw" else "normalized", wall_time_s=wall,
            steps=self.step, loss={"first": self.losses[0] if self.losses else None,
                                   "last20_mean": float(np.mean(tail)) if tail else None})
        manifest["teacher"] = ctx.teacher_id
        manifest["pool_reinitialisations"] = self.pool.reinitialisations
        manifest["mode"] = settings.mode
        if self.target_cache is not None:
            manifest["teacher_target_cache_mb"] = round(self.target_cache.nbytes / 2**20, 1)
        return manifest
