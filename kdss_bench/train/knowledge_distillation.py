"""Target data-free knowledge distillation: the paper's Table 4 evaluation.

Follows the official ``test_kd.py`` and ``algorithms/zeroshot_kd.py`` (commit 4beb4b1; "file:line"
below refers to them). A classifier teacher of the target (official: a ResNet18 trained on CIFAR10
at 64 px, ``test_kd.py:71-75``) is distilled into a student that was pre-trained on a distilled
source set, using **only the distilled images** -- no target training image is ever seen:

* the student is a fresh ``model_name`` with the target's number of classes that inherits every
  pre-trained tensor except the head (``zeroshot_kd.py:32-35``: ``del init_model.fc`` then
  ``load_state_dict(strict=False)``; here :func:`~kdss_bench.train.transfer.build_transfer_model`,
  which leaves ``init`` untouched and refuses a mismatch instead of leaving layers random);
* each epoch is one shuffled pass over the distilled images in batches of ``batch_size`` (the last,
  smaller batch kept: ``zeroshot_kd.py:29``); the images are fed **as stored**, in the networks'
  input space, with no normalisation, to the teacher and to the student alike (``:48-55``);
* a batch is DSA-augmented under ``no_grad`` when the method gets augmentation, and the teacher and
  the student see the same augmented batch (``:49-55``); the ``gaussian`` baseline replaces each
  batch by standard normal noise of its shape instead and is never augmented (``:50-51``);
* the loss is :func:`soft_cross_entropy` of the student's logits against the teacher's
  (``:9-19``, ``:55``), AdamW (``:41``) at ``lr`` (``gaussian_lr`` for ``gaussian``,
  ``test_kd.py:180-183``), cosine annealing per epoch over ``epochs`` (``:44``, ``:59``);
* the teacher runs in ``recipe.teacher_mode`` (official: ``train``, ``zeroshot_kd.py:46``), frozen
  and under ``no_grad``;
* at the end the student is tested once on the target's test split, normalised with the target's
  statistics (``:66``, ``aug_te`` = kornia ``Normalize``, ``data/augmentation.py:102``), in
  ``recipe.student_eval_mode`` (official: ``train``, ``:61``, so BatchNorm uses the statistics of
  each test batch of ``test_batch_size`` images, taken in the split's order), reporting top-1 in
  percent and the mean cross-entropy (``:62-71``).

Differences from the official code, none of which changes a number it reports: the caller's teacher
and ``init`` are not modified (the official train-mode teacher's BN running statistics drift across
its three runs but are never read, since it stays in train mode; ``del init_model.fc`` mutates the
pre-trained model), the student's BN running statistics are restored after a train-mode test (the
official student is discarded, ``:73``), and every random draw comes from a seed of its own, so a
run is bit-identical on the CPU for a given seed (official: one global seed, ``test_kd.py:22-26``).
"""

from __future__ import annotations

import copy
import time
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from kdss_bench.errors import DataError, ModelError
from kdss_bench.train.batch_stream import ShuffledBatchStream
from kdss_bench.train.distilled_inputs import check_distilled_images
from kdss_bench.train.dsa_augment import seeded_dsa
from kdss_bench.train.evaluate import EvalResult
from kdss_bench.train.progress import Emit, LossReporter, synchronize
from kdss_bench.train.recipes import BN_MODES, KdRecipe
from kdss_bench.train.seeding import derive_seed, device_generator
from kdss_bench.train.transfer import build_target_model

if TYPE_CHECKING:
    from kdss_bench.data.image_set import ImageSet

PROGRESS_EVERY = 10
"""Iterations between ``progress`` events."""


def soft_cross_entropy(student_logits: Tensor, teacher_logits: Tensor, temperature: float = 1.0) -> Tensor:
    """``mean_i -sum_c softmax(t_i / T)_c * log_softmax(s_i / T)_c``: the official ``distillation_loss``.

    ``zeroshot_kd.py:9-19`` with ``reduction="mean"`` (its default, the one used): summed over the
    classes, averaged over the batch, and **not** multiplied by T^2 (Hinton et al.'s gradient
    scaling); the official call passes no T, so T = 1 (``zeroshot_kd.py:55``). For a fixed teacher
    it is smallest, equal to the entropy of the teacher's softened prediction, where the student's
    softened prediction equals it. Gradients flow to the student's logits only when the teacher's
    are computed without a graph, as here.
    """
    if student_logits.shape != teacher_logits.shape or student_logits.dim() != 2:
        raise ValueError(
            f"soft cross-entropy needs (N, C) logits of one shape, got student {tuple(student_logits.shape)} "
            f"and teacher {tuple(teacher_logits.shape)}"
        )
    log_q = F.log_softmax(student_logits / temperature, dim=-1)
    p = F.softmax(teacher_logits / temperature, dim=-1)
    return -(p * log_q).sum(dim=-1).mean(dim=0)


def prepare_teacher(teacher: nn.Module, mode: str, device: torch.device | str) -> nn.Module:
    """A frozen copy of ``teacher`` on ``device`` in BN ``mode`` (``train`` or ``eval``); ``teacher`` is untouched.

    Official: ``requires_grad_(False)`` on every parameter (``test_kd.py:74-75``) and
    ``teacher.train()`` (``zeroshot_kd.py:46``). A copy, so the train-mode teacher's BN running
    statistics, which move with every batch it sees, do not leak into the caller's model.
    """
    if mode not in BN_MODES:
        raise ValueError(f"teacher mode must be one of {', '.join(BN_MODES)}, got {mode!r}")
    net = copy.deepcopy(teacher).to(device)
    for p in net.parameters():
        p.requires_grad_(False)
    return net.train(mode == "train")


def knowledge_distill(
    student_name: str,
    init: nn.Module | None,
    teacher: nn.Module,
    images: Tensor,
    target: ImageSet,
    recipe: KdRecipe,
    *,
    augment: bool,
    gaussian: bool,
    seed: int,
    device: torch.device | str,
    emit: Emit | None = None,
) -> EvalResult:
    """Distils ``teacher`` into a ``student_name`` started from ``init`` on ``images`` alone; tests it on ``target``.

    * ``init``: the model pre-trained on the distilled set by the method's own recipe (any head; the
      student gets a fresh head with ``target.num_classes`` outputs and every other tensor of
      ``init``, BN running statistics included), or None for a random student (the official
      ``gaussian`` baseline, ``test_kd.py:82``). Not modified.
    * ``teacher``: a classifier of the target's classes (its output has ``target.num_classes``
      logits; see :mod:`kdss_bench.train.target_teacher`). Not modified: a frozen copy runs in
      ``recipe.teacher_mode``.
    * ``images``: the distilled images, float (N, 3, R, R) with R = ``target.resolution``, in the
      networks' input space as a distilled set stores them; fed without normalisation. With
      ``gaussian`` only their number and shape matter (the official baseline uses the ``random``
      set's images for that, ``test_kd.py:37``).
    * ``augment``: whether this method's batches get DSA (official: every method but ``gaussian``,
      ``zeroshot_kd.py:50-53``); DSA runs when both ``augment`` and ``recipe.dsa`` are true, with
      ``recipe.dsa_strategy``.
    * ``gaussian``: replace every batch by standard normal noise (``torch.randn_like``, drawn from
      this run's seed), train at ``recipe.gaussian_lr``, never augment (``augment`` is ignored).

    ``iterations`` in the result is ``recipe.epochs * ceil(N / recipe.batch_size)``. Emits ``progress``
    (loss, lr) every 10 iterations and a final ``metric`` event (:meth:`EvalResult.emit_metric`).
    Raises DataError for images that are not float (N, 3, R, R) at the target's resolution and
    ModelError when the teacher's logits do not match the target's classes.
    """
    check_kd_images(images, target)
    student = build_target_model(student_name, init, target, seed=seed)
    return knowledge_distill_model(
        student, teacher, images, target, recipe, augment=augment, gaussian=gaussian, seed=seed, device=device,
        emit=emit,
    )


def check_kd_images(images: Tensor, target: ImageSet) -> None:
    """Raises DataError unless ``images`` is a non-empty float (N, 3, R, R) batch at ``target``'s resolution."""
    check_distilled_images(images)
    expected = (3, target.resolution, target.resolution)
    if tuple(images.shape[1:]) != expected or images.shape[0] == 0:
        raise DataError(
            f"knowledge distillation on {target.name!r} needs distilled images of shape "
            f"(N, {', '.join(map(str, expected))}) with N >= 1, got {tuple(images.shape)}; "
            "distil the source at the target's resolution"
        )


def knowledge_distill_model(
    student: nn.Module,
    teacher: nn.Module,
    images: Tensor,
    target: ImageSet,
    recipe: KdRecipe,
    *,
    augment: bool,
    gaussian: bool,
    seed: int,
    device: torch.device | str,
    emit: Emit | None = None,
) -> EvalResult:
    """Trains an already built ``student`` in place by distillation, then tests it once (see :func:`knowledge_distill`).

    Split from :func:`knowledge_distill` so callers (and tests) can build or inspect the student.
    The student ends on ``device`` in train mode, with the weights and BN statistics training left.
    """
    check_kd_images(images, target)
    device = torch.device(device)
    student = student.to(device)
    teacher_net = prepare_teacher(teacher, recipe.teacher_mode, device)
    x = images.detach().to(device, torch.float32)
    stream = ShuffledBatchStream((x,), recipe.batch_size, seed=derive_seed(seed, "batches"))
    per_epoch = stream.batches_per_pass
    total = recipe.epochs * per_epoch
    dsa = seeded_dsa(recipe.dsa_strategy, seed) if augment and recipe.dsa and not gaussian else None
    noise = device_generator(seed, "gaussian", device) if gaussian else None
    optimizer = torch.optim.AdamW(
        student.parameters(), lr=recipe.gaussian_lr if gaussian else recipe.lr, weight_decay=recipe.weight_decay
    )
    # T_max=0 would divide by zero; with no epochs the schedule is never stepped anyway.
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(1, recipe.epochs))
    reporter = LossReporter(emit, total=total, every=PROGRESS_EVERY)
    student.train()
    step = 0
    seen = 0
    synchronize(device)
    started = time.perf_counter()
    for _ in range(recipe.epochs):
        lr = optimizer.param_groups[0]["lr"]  # the rate this epoch uses
        for _ in range(per_epoch):
            (xb,) = next(stream)
            with torch.no_grad():
                if noise is not None:
                    xb = torch.randn(xb.shape, generator=noise, device=device, dtype=xb.dtype)
                elif dsa is not None:
                    xb = dsa(xb)
                teacher_logits = teacher_net(xb)
            if step == 0:
                _check_teacher_logits(teacher_logits, target)
            loss = soft_cross_entropy(student(xb), teacher_logits, recipe.temperature)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            step += 1
            seen += int(xb.shape[0])
            reporter.record(step, loss, lr=lr)
        scheduler.step()
    synchronize(device)
    elapsed = time.perf_counter() - started

    return EvalResult.tested(student, target, train_loss=reporter.last_mean, iterations=total, images=seen,
                             elapsed=elapsed, device=device, emit=emit, batch_size=recipe.test_batch_size,
                             batch_statistics=recipe.student_eval_mode == "train")


def _check_teacher_logits(logits: Tensor, target: ImageSet) -> None:
    if logits.dim() != 2 or logits.shape[1] != target.num_classes:
        raise ModelError(
            f"the KD teacher outputs shape {tuple(logits.shape)} but {target.name!r} has {target.num_classes} "
            "classes; the teacher must be a classifier of the target's classes (see train_target_teacher)"
        )
