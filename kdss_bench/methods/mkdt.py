"""MKDT: dataset distillation via knowledge distillation (Joshi, Ni, Mirzasoleiman, ICLR 2025).

Follows the official code (github ``jiayini1119/MKDT``): the frozen self-supervised teacher's
features of every source image are the targets (``get_target_rep.py``); students ("experts") are
trained on the real images by knowledge distillation, MSE to those features, with a snapshot per
epoch (``buffer.py``); the synthetic images start as the source images with the largest KD loss
under the experts' epoch-1 parameters, averaged over the experts (``sort_dset.py``), and their
targets as the teacher's features of those images. Then, as in MTT, each iteration takes an
expert and a start epoch t < max_start_epoch, unrolls ``syn_steps`` student SGD steps from the
expert's parameters at t on synthetic minibatches, with MSE between the student's output and the
learnable targets as the inner loss and a learnable step size, and minimises
``||theta_N - theta*_{t+M}||^2 / ||theta*_t - theta*_{t+M}||^2`` over the images, the targets
and the step size (three SGD optimisers with momentum 0.5, ``distill.py``). No augmentation and
no ZCA anywhere, as in the official code. The learned step size goes into the manifest
(``learned_lr``): the official evaluation pre-trains with it (``eval.py`` lines 89-91).
"""

from __future__ import annotations

import dataclasses
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from kdss_bench.data.image_set import ImageSet
from kdss_bench.errors import ConfigError
from kdss_bench.methods.context import DistillContext, local_artifact
from kdss_bench.methods.distill_loop import run_distillation_loop
from kdss_bench.methods.distilled_set import DistilledSet
from kdss_bench.methods.flat_parameters import FlatParameters
from kdss_bench.methods.intermediates import Intermediate, IntermediateRequest
from kdss_bench.methods.mkdt_experts import (
    EXPERTS_ARTIFACT,
    TARGETS_ARTIFACT,
    KdExpertRecipe,
    expert_builder,
    expert_parts,
    expert_trajectories,
    normalized_source,
    target_parts,
    targets_builder,
    teacher_fingerprint,
    teacher_targets,
)
from kdss_bench.methods.mkdt_settings import OFFICIAL_DATASET, MkdtSettings
from kdss_bench.methods.mtt_experts import ExpertTrajectory
from kdss_bench.methods.run_checkpoint import CheckpointedRun, RunCheckpoint
from kdss_bench.methods.set_manifest import common_manifest
from kdss_bench.methods.trajectory_matching import check_expert_sizes, matching_loss, next_in_cycle
from kdss_bench.train.seeding import build_seeded_model, derive_seed

CHECKPOINT_FILE = "mkdt_checkpoint.pt"
MOMENTUM = 0.5  # distill.py lines 77-79: images, targets and step size all use SGD with momentum 0.5
INIT_EPOCH = 1  # sort_dset.py line 33: param_all[0][1], the expert's parameters after its first epoch
INIT_BATCH = 256  # sort_dset.py line 83 --batch_train 256, in source order (shuffle=False, line 21)

OFFICIAL_NORMALIZATION: dict[str, tuple[tuple[float, float, float], tuple[float, float, float]]] = {
    "CIFAR10": ((0.4914, 0.4822, 0.4465), (0.2023, 0.1994, 0.2010)),  # utils.py lines 45-46
    "Tiny": ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225)),  # utils.py lines 56-57
    "ImageNet": ((0.485, 0.456, 0.3868), (0.2309, 0.2262, 0.2237)),  # utils.py lines 68-69
    "CIFAR100": ((0.5071, 0.4865, 0.4409), (0.2009, 0.1984, 0.2023)),  # utils.py lines 82-83
}


def normalization_stats(source: ImageSet, kind: str) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """(mean, std) the images are normalised with: the source's own, or MKDT's constants for it."""
    if kind == "source":
        return tuple(source.mean), tuple(source.std)
    official = OFFICIAL_DATASET.get(source.name)
    if official is None:
        raise ConfigError(f"methods.mkdt.normalization 'official' has MKDT's constants only for the sources "
                          f"{', '.join(sorted(OFFICIAL_DATASET))}, not '{source.name}'; use normalization: source")
    return OFFICIAL_NORMALIZATION[official]


def expert_recipe(settings: MkdtSettings, model: str) -> KdExpertRecipe:
    return KdExpertRecipe(model=model, train_epochs=settings.train_epochs, lr=settings.expert_lr,
                          momentum=settings.expert_momentum, weight_decay=settings.expert_weight_decay,
                          batch_size=settings.expert_batch)


def per_image_kd_loss(student: FlatParameters, experts: list[ExpertTrajectory], source: ImageSet, targets: Tensor,
                      *, mean, std, device: torch.device, epoch: int = INIT_EPOCH) -> Tensor:
    """float64 (N,): each source image's MSE (mean over the target's entries) to its teacher target
    under each expert's parameters after ``epoch`` epochs, averaged over the experts (``sort_dset.py``
    lines 30-47). The student runs as in training (train mode), in batches of 256 in source order."""
    n = int(source.x_train.shape[0])
    total = torch.zeros(n, dtype=torch.float64)
    with torch.no_grad():
        for expert in experts:
            params = expert.snapshot(epoch, device)
            for start in range(0, n, INIT_BATCH):
                rows = slice(start, min(n, start + INIT_BATCH))
                outputs = student(params, normalized_source(source, mean, std, rows, device))
                losses = (outputs - targets[rows].to(device)).pow(2).mean(1)
                total[rows] += losses.double().cpu()
    return total / len(experts)


NAME = "mkdt"


def intermediates(request: IntermediateRequest) -> list[Intermediate]:
    """The teacher targets, then one KD expert per stage (each reads the targets), shared by every
    seed and budget."""
    settings: MkdtSettings = request.settings  # type: ignore[assignment]
    source = request.source
    mean, std = normalization_stats(source, settings.normalization)
    parts = target_parts(source, teacher_key=request.teacher_id, mean=mean, std=std)
    size = {"artifact": TARGETS_ARTIFACT, "train_images": int(source.x_train.shape[0]),
            "resolution": source.resolution}

    def build_targets(folder: Path, emit) -> None:
        targets_builder(request.teacher, source, mean, std, device=request.device, emit=emit)(folder)

    targets = Intermediate(TARGETS_ARTIFACT, parts, "mkdt teacher targets", size, build_targets,
                           needs_teacher=True)
    recipe = expert_recipe(settings, settings.model or request.model)
    pieces = [targets]
    for index in range(settings.num_experts):
        def build(folder: Path, emit, index: int = index) -> None:
            cached, _ = teacher_targets(request.teacher, source, teacher_key=request.teacher_id, mean=mean,
                                        std=std, device=request.device, artifact=request.artifact)
            expert_builder(source, cached, recipe, mean=mean, std=std, seed=settings.expert_seed, index=index,
                           num_experts=settings.num_experts, device=request.device, emit=emit)(folder)

        expert_size = {"artifact": EXPERTS_ARTIFACT, "train_images": int(source.x_train.shape[0]),
                       "resolution": source.resolution, "recipe": dataclasses.asdict(recipe)}
        pieces.append(Intermediate(
            EXPERTS_ARTIFACT, expert_parts(recipe, targets=parts, seed=settings.expert_seed, index=index),
            f"mkdt expert {index + 1}/{settings.num_experts}", expert_size, build, needs_teacher=True,
            after=(targets.key,)))
    return pieces


def distill(ctx: DistillContext) -> DistilledSet:
    settings: MkdtSettings = ctx.settings  # type: ignore[assignment]
    ctx.check_settings(NAME)
    started = time.perf_counter()
    mean, std = normalization_stats(ctx.source, settings.normalization)
    with tempfile.TemporaryDirectory(prefix="kdss-mkdt-experts-") as scratch:
        artifact = ctx.artifact or local_artifact(Path(scratch))
        targets, parts = teacher_targets(ctx.teacher, ctx.source, mean=mean, std=std, device=ctx.device,
                                         teacher_key=ctx.teacher_id or teacher_fingerprint(ctx.teacher),
                                         artifact=artifact, emit=ctx.emit)
        targets_ready = time.perf_counter() - started
        experts = expert_trajectories(ctx.source, targets, expert_recipe(settings, settings.model or ctx.model),
                                      targets_parts=parts, mean=mean, std=std,
                                      num_experts=settings.num_experts, seed=settings.expert_seed,
                                      device=ctx.device, artifact=artifact, emit=ctx.emit)
        experts_ready = time.perf_counter() - started - targets_ready
        run = MkdtRun(ctx, settings, experts, targets, mean=mean, std=std)
        return run.execute(started=started, targets_time_s=targets_ready, experts_time_s=experts_ready)


class MkdtRun(CheckpointedRun):
    """One distillation: synthetic images, targets, step size, optimisers, the matching step, checkpoints."""

    CHECKPOINTED = (
        "source_indices", "init_record", "images", "targets", "syn_lr", "image_optimizer",
        "target_optimizer", "lr_optimizer", "batch_generator", "expert_rng", "epoch_rng", "single_expert",
        "expert_queue", "expert_counts",
    )
    """The attributes a resumable checkpoint holds (see CheckpointedRun)."""

    def __init__(self, ctx: DistillContext, settings: MkdtSettings, experts: list[ExpertTrajectory],
                 targets: Tensor, *, mean, std) -> None:
        self.ctx, self.settings, self.experts = ctx, settings, experts
        self.mean, self.std = tuple(mean), tuple(std)
        source, device = ctx.source, ctx.device
        self.checkpoint = RunCheckpoint(ctx.work_dir, CHECKPOINT_FILE)
        student = build_seeded_model(settings.model or ctx.model, in_shape=tuple(source.x_train.shape[1:]),
                                     num_outputs=int(targets.shape[1]), seed=ctx.seed).to(device)  # weights unused
        self.student = FlatParameters(student.train())
        check_expert_sizes(experts, self.student.size)
        saved = self.checkpoint.load()  # a resumed run keeps its initial choice instead of recomputing it
        if saved is not None and {"source_indices", "init_record"} <= set(saved):
            self.source_indices, self.init_record = torch.as_tensor(saved["source_indices"]), dict(saved["init_record"])
        else:
            self.source_indices, self.init_record = self.initial_indices(targets)
        images = normalized_source(source, self.mean, self.std, self.source_indices, device)
        self.images = images.contiguous().requires_grad_(True)
        self.targets = targets[self.source_indices].to(device).float().clone().requires_grad_(True)
        self.syn_lr = torch.tensor(float(settings.lr_teacher), device=device).requires_grad_(True)
        self.image_optimizer = torch.optim.SGD([self.images], lr=settings.lr_img, momentum=MOMENTUM)
        self.target_optimizer = torch.optim.SGD([self.targets], lr=settings.lr_labels, momentum=MOMENTUM)
        self.lr_optimizer = torch.optim.SGD([self.syn_lr], lr=settings.lr_lr, momentum=MOMENTUM)
        self.batch_generator = torch.Generator().manual_seed(derive_seed(ctx.seed, "mkdt_batches"))
        self.expert_rng = np.random.default_rng(derive_seed(ctx.seed, "mkdt_expert_order"))
        self.epoch_rng = np.random.default_rng(derive_seed(ctx.seed, "mkdt_start_epoch"))
        self.single_expert = int(self.expert_rng.integers(len(experts))) if settings.expert_order == "single" else None
        self.expert_queue: list[int] = []
        self.expert_counts = [0] * len(experts)
        self.step = 0
        self.elapsed_before = 0.0
        self.losses: list[float] = []

    # --- initialisation --------------------------------------------------------------------
    def initial_indices(self, targets: Tensor) -> tuple[Tensor, dict]:
        """The source rows the synthetic set starts from, and a record of how they were chosen."""
        ctx, settings = self.ctx, self.settings
        n = int(ctx.source.x_train.shape[0])
        if settings.init == "random":
            picker = torch.Generator().manual_seed(derive_seed(ctx.seed, "mkdt_init"))
            return torch.randperm(n, generator=picker)[: ctx.budget], {"kind": "random"}
        losses = per_image_kd_loss(self.student, self.experts, ctx.source, targets, mean=self.mean, std=self.std,
                                   device=ctx.device)
        chosen = torch.argsort(losses, descending=True, stable=True)[: ctx.budget]
        return chosen, {"kind": "high_loss", "epoch": INIT_EPOCH, "experts": len(self.experts),
                        "kd_loss_chosen_mean": float(losses[chosen].mean()), "kd_loss_all_mean": float(losses.mean())}

    # --- the matching loss -----------------------------------------------------------------
    def matching_loss(self, expert: ExpertTrajectory, start_epoch: int) -> Tensor:
        """||theta_N - theta*_{t+M}||^2 / ||theta*_t - theta*_{t+M}||^2 after ``syn_steps`` student steps
        on MSE(student(x_syn), y_syn) (``distill.py`` lines 149-199)."""
        settings, device = self.settings, self.ctx.device
        start = expert.snapshot(start_epoch, device)
        target = expert.snapshot(start_epoch + settings.expert_epochs, device)
        return matching_loss(self.student, start, target, self.syn_lr, self.images,
                             lambda outputs, rows: F.mse_loss(outputs, self.targets[rows]),
                             steps=settings.syn_steps, batch=settings.batch_syn or self.images.shape[0],
                             generator=self.batch_generator)

    def next_expert(self) -> int:
        """``cycle``: every expert once per pass, in a fresh random order; ``single``: always the same one."""
        if self.single_expert is not None:
            return self.single_expert
        return next_in_cycle(self.expert_queue, self.expert_rng, len(self.experts))

    def distill_step(self) -> float:
        """One iteration: next expert, random start epoch, matching loss, update images, targets, step size."""
        index = self.next_expert()
        start_epoch = int(self.epoch_rng.integers(self.settings.max_start_epoch))
        loss = self.matching_loss(self.experts[index], start_epoch)
        optimizers = (self.image_optimizer, self.target_optimizer, self.lr_optimizer)
        for optimizer in optimizers:
            optimizer.zero_grad(set_to_none=True)
        loss.backward()
        for optimizer in optimizers:
            optimizer.step()
        self.expert_counts[index] += 1
        self.step += 1
        value = float(loss.detach())
        self.losses.append(value)
        return value

    # --- the whole run ---------------------------------------------------------------------
    def execute(self, *, started: float | None = None, targets_time_s: float = 0.0,
                experts_time_s: float = 0.0) -> DistilledSet:
        ctx, settings = self.ctx, self.settings
        started = time.perf_counter() if started is None else started
        distill_time = run_distillation_loop(
            ctx, self, total=settings.iterations, advance=self.distill_step, images=self.images,
            checkpoint_every=settings.checkpoint_every, progress=lambda: {"syn_lr": float(self.syn_lr.detach())})
        manifest = self._manifest(time.perf_counter() - started, distill_time, targets_time_s, experts_time_s)
        result = DistilledSet(images=self.images.detach().cpu().float().contiguous(),
                              targets=self.targets.detach().cpu().float().contiguous(), target_kind="features",
                              manifest=manifest)
        self.checkpoint.remove()
        return result

    def _manifest(self, wall: float, distill_time: float, targets_time: float, experts_time: float) -> dict:
        ctx, settings = self.ctx, self.settings
        tail = self.losses[-min(len(self.losses), 20):]
        loss = {"first": self.losses[0] if self.losses else None,
                "last20_mean": float(np.mean(tail)) if tail else None}
        manifest = common_manifest(ctx, "mkdt", input_space="normalized", wall_time_s=wall, steps=self.step,
                                   loss=loss)
        records = [expert.record for expert in self.experts]
        manifest["normalization"] = {"mean": list(self.mean), "std": list(self.std), "kind": settings.normalization}
        manifest["model"] = settings.model or ctx.model
        manifest["teacher"] = ctx.teacher_id
        manifest["cost"].update({
            "distill_time_s": round(distill_time, 3),
            "targets_time_s": round(targets_time, 3),  # this call: computing or loading the teacher targets
            "experts_time_s": round(experts_time, 3),  # this call: training missing experts + loading
            "experts_train_time_s": round(sum(r["wall_time_s"] for r in records), 3),  # all experts, cached or not
        })
        manifest["learned_lr"] = float(self.syn_lr.detach())  # the official evaluation pre-trains with it
        manifest["init"] = self.init_record
        manifest["source_indices"] = self.source_indices.tolist()
        manifest["experts"] = {
            "count": len(records), "seed": settings.expert_seed, "epochs": settings.train_epochs,
            "parameters": self.student.size, "order": settings.expert_order,
            "matched": sum(1 for c in self.expert_counts if c), "single": self.single_expert,
            "final_train_loss_mean": float(np.mean([r["train_loss"][-1] for r in records])),
        }
        return manifest
