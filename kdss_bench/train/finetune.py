"""Full fine-tuning on a downstream data set, the KRR-ST paper's main evaluation.

Follows the official ``algorithms/finetune.py`` (and ``scratch.py`` for ``init=None``): a fresh
model with the target's number of classes inherits every pre-trained tensor except the head,
then all parameters are trained with SGD (lr 0.01, momentum 0.9, weight decay 5e-4) under a
cosine schedule to zero stepped once per iteration, on batches of 256 drawn from an endless
shuffled stream and augmented with random crop (padding 4) + flip + normalisation using the
target's train-split statistics. The test accuracy is read once, at the end, in eval mode,
with normalisation only: there is no model selection on the test split.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import nn

from kdss_bench.train.augment import TrainAugment
from kdss_bench.train.batch_stream import ShuffledBatchStream
from kdss_bench.train.evaluate import EvalResult
from kdss_bench.train.progress import Emit, LossReporter, synchronize
from kdss_bench.train.recipes import FinetuneRecipe
from kdss_bench.train.seeding import derive_seed, device_generator
from kdss_bench.train.transfer import build_target_model

if TYPE_CHECKING:
    from kdss_bench.data.image_set import ImageSet


def finetune(
    model_name: str,
    init: nn.Module | None,
    target: ImageSet,
    recipe: FinetuneRecipe,
    *,
    seed: int,
    device: torch.device | str,
    emit: Emit | None = None,
) -> EvalResult:
    """Fine-tunes ``model_name`` from ``init`` (None: random init) on ``target`` and tests it once.

    ``init`` is not modified. Emits ``progress`` (loss, lr) every 10 iterations and a final
    ``metric`` event.
    """
    model = build_target_model(model_name, init, target, seed=seed)
    return finetune_model(model, target, recipe, seed=seed, device=device, emit=emit)


class FinetuneSteps:
    """The training state of one fine-tuning run (data on the device, stream, augmentation, SGD,
    cosine schedule) and its step; shared by :func:`finetune_model` and the step benchmark."""

    def __init__(self, model: nn.Module, target: ImageSet, recipe: FinetuneRecipe, *, seed: int,
                 device: torch.device) -> None:
        self.model = model.to(device)
        x_train, y_train = target.x_train.to(device), target.y_train.to(device)
        self.stream = ShuffledBatchStream((x_train, y_train), recipe.batch_size, seed=derive_seed(seed, "batches"))
        self.augment = TrainAugment(target.mean, target.std)
        self.augment_generator = device_generator(seed, "augment", device)
        self.optimizer = torch.optim.SGD(
            model.parameters(), lr=recipe.lr, momentum=recipe.momentum, weight_decay=recipe.weight_decay
        )
        # T_max=0 would divide by zero; with no iterations the schedule is never stepped anyway.
        self.scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(self.optimizer, T_max=max(1, recipe.iterations))
        model.train()

    def step(self) -> tuple[torch.Tensor, float, int]:
        """One SGD step on the next augmented batch: (loss, the learning rate it used, batch size)."""
        xb, yb = next(self.stream)
        with torch.no_grad():
            xb = self.augment(xb, generator=self.augment_generator)
        loss = F.cross_entropy(self.model(xb), yb)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        lr = self.optimizer.param_groups[0]["lr"]
        self.scheduler.step()
        return loss, lr, int(yb.shape[0])


def finetune_model(
    model: nn.Module,
    target: ImageSet,
    recipe: FinetuneRecipe,
    *,
    seed: int,
    device: torch.device | str,
    emit: Emit | None = None,
) -> EvalResult:
    """Trains every parameter of an already built ``model`` in place, then evaluates it once.

    Split from :func:`finetune` so callers (and tests) can build or inspect the model first.
    """
    device = torch.device(device)
    steps = FinetuneSteps(model, target, recipe, seed=seed, device=device)
    reporter = LossReporter(emit, total=recipe.iterations, every=10)
    images = 0
    synchronize(device)
    started = time.perf_counter()
    for step in range(1, recipe.iterations + 1):
        loss, lr, count = steps.step()
        images += count
        reporter.record(step, loss, lr=lr)
    synchronize(device)
    elapsed = time.perf_counter() - started

    return EvalResult.tested(model, target, train_loss=reporter.last_mean, iterations=recipe.iterations,
                             images=images, elapsed=elapsed, device=device, emit=emit)

