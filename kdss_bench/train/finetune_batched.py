"""Fine-tuning several seeds at once as one batched model (``torch.func``).

The benchmark fine-tunes each cell with several seeds. The models are small (a ConvNet on
32-px images), so one of them leaves most of a GPU idle and every step is dominated by kernel
launches and Python overhead. Stacking the S seeds' weights and running the model under
``torch.vmap(functional_call)`` turns S small convolutions into one grouped kernel per layer:
one launch and one optimizer step for all seeds instead of S of each.

Each seed still gets exactly what :func:`kdss_bench.train.finetune.finetune_model` would give
it: its own batch order, its own augmentation draws, the same SGD and per-iteration cosine
schedule, and BatchNorm running statistics of its own (the stacked buffers are vmapped too, so
the in-place running-stat updates of train-mode BatchNorm land in each seed's slice). The loss
is the sum of the seeds' mean losses, so each slice's gradient is its own model's gradient, and
SGD (momentum, weight decay) acts elementwise, so the update is the per-model update. Results
equal the sequential loop up to floating-point reduction order (grouped kernels sum in another
order), not bit for bit.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.func import functional_call, stack_module_state

from kdss_bench.train.augment import TrainAugment
from kdss_bench.train.batch_stream import ShuffledBatchStream
from kdss_bench.train.evaluate import accuracy_and_loss
from kdss_bench.train.finetune import EvalResult, FinetuneRecipe
from kdss_bench.train.progress import Emit, LossReporter, synchronize
from kdss_bench.train.seeding import derive_seed, device_generator
from kdss_bench.train.transfer import build_transfer_model

if TYPE_CHECKING:
    from kdss_bench.data.image_set import ImageSet


def finetune_seeds(
    model_name: str,
    inits: Sequence[nn.Module | None],
    target: ImageSet,
    recipe: FinetuneRecipe,
    *,
    seeds: Sequence[int],
    device: torch.device | str,
    emit: Emit | None = None,
) -> list[EvalResult]:
    """Batched counterpart of calling :func:`~kdss_bench.train.finetune.finetune` once per seed.

    ``inits[i]`` (None: random init) starts seed ``seeds[i]``; the models are built as
    ``finetune`` builds them, so result ``i`` matches ``finetune(..., init=inits[i],
    seed=seeds[i])`` up to floating-point reduction order. ``inits`` are not modified.
    """
    inits, seeds = list(inits), [int(s) for s in seeds]
    if len(inits) != len(seeds):
        raise ValueError(f"finetune_seeds got {len(inits)} inits for {len(seeds)} seeds; give one init per seed")
    in_shape = (3, target.resolution, target.resolution)
    models = [
        build_transfer_model(model_name, init, num_classes=target.num_classes, in_shape=in_shape, seed=seed)
        for init, seed in zip(inits, seeds, strict=True)
    ]
    return finetune_models_batched(models, target, recipe, seeds=seeds, device=device, emit=emit)


def finetune_models_batched(
    models: Sequence[nn.Module],
    target: ImageSet,
    recipe: FinetuneRecipe,
    *,
    seeds: Sequence[int],
    device: torch.device | str,
    emit: Emit | None = None,
) -> list[EvalResult]:
    """Trains already built models of one architecture in place as one batch, then tests each once.

    Model ``i`` is trained with seed ``seeds[i]`` as ``finetune_model(models[i], ...,
    seed=seeds[i])`` would train it. Raises ValueError when the models' architectures differ.
    ``images_per_s`` counts all S x B images of a step over the batched loop's wall time, so
    every result carries the same, aggregate figure.

    Events differ from S sequential runs: one ``progress`` stream for all seeds (the loss is the
    mean over seeds), then the S seeds' ``metric`` events one after another, in seed order.
    """
    device = torch.device(device)
    run = train_stacked(models, target, recipe, seeds=seeds, device=device, emit=emit)
    images_per_s = run.images / run.elapsed if run.images and run.elapsed > 0 else 0.0
    results = []
    for model, train_loss in zip(models, run.train_losses, strict=True):
        accuracy, test_loss = accuracy_and_loss(
            model, target.x_test, target.y_test, target.mean, target.std, device=device
        )
        results.append(
            EvalResult(
                accuracy=accuracy,
                loss=test_loss,
                train_loss=train_loss,
                iterations=recipe.iterations,
                images_per_s=images_per_s,
            )
        )
    for result in results:  # after all evaluations, so the metric events come as one block
        result.emit_metric(emit)
    return results


@dataclass(frozen=True)
class BatchedRun:
    train_losses: list[float]  # per seed, as LossReporter.last_mean would give each sequential run
    images: int  # all seeds' training images
    elapsed: float  # wall time of the training loop alone


class _SeedLossWindows:
    """Per-seed mirror of LossReporter's windows, so each seed reports its sequential ``train_loss``."""

    def __init__(self, num_seeds: int, total: int, every: int = 10) -> None:
        self.total, self.every = int(total), max(1, int(every))
        self._sum: Tensor | None = None
        self._count = 0
        self.last_means = [float("nan")] * num_seeds

    def record(self, step: int, losses: Tensor) -> None:
        value = losses.detach().float()
        self._sum = value if self._sum is None else self._sum + value
        self._count += 1
        if step % self.every == 0 or step == self.total:
            # Same arithmetic as LossReporter: a float32 sum, divided in Python.
            self.last_means = [v / self._count for v in self._sum.tolist()]
            self._sum, self._count = None, 0


def _architecture(model: nn.Module) -> list[tuple]:
    """What must agree for one stateless module to stand in for every model."""
    return (
        [("module", name, type(m).__qualname__) for name, m in model.named_modules()]
        + [("parameter", name, tuple(p.shape), p.dtype) for name, p in model.named_parameters()]
        + [("buffer", name, tuple(b.shape), b.dtype) for name, b in model.named_buffers()]
    )


def _check_same_architecture(models: Sequence[nn.Module]) -> None:
    reference = _architecture(models[0])
    for i, model in enumerate(models[1:], start=1):
        other = _architecture(model)
        if other == reference:
            continue
        for a, b in zip(reference, other, strict=False):
            if a != b:
                raise ValueError(
                    f"batched fine-tuning needs models of one architecture, but model {i} differs from "
                    f"model 0: {_describe(b)} where model 0 has {_describe(a)}"
                )
        longer, which = (reference, 0) if len(reference) > len(other) else (other, i)
        extra = longer[min(len(reference), len(other))]
        raise ValueError(
            f"batched fine-tuning needs models of one architecture, but only model {which} has "
            f"{_describe(extra)}"
        )


def _describe(entry: tuple) -> str:
    kind, name, *rest = entry
    if kind == "module":
        return f"module '{name}' of type {rest[0]}"
    return f"{kind} '{name}' of shape {rest[0]} and dtype {rest[1]}"


def train_stacked(
    models: Sequence[nn.Module],
    target: ImageSet,
    recipe: FinetuneRecipe,
    *,
    seeds: Sequence[int],
    device: torch.device,
    emit: Emit | None,
) -> BatchedRun:
    """The training loop of :func:`finetune_models_batched`; writes the trained weights back."""
    models, seeds = list(models), [int(s) for s in seeds]
    if not models:
        raise ValueError("batched fine-tuning needs at least one model")
    if len(models) != len(seeds):
        raise ValueError(f"batched fine-tuning got {len(models)} models for {len(seeds)} seeds; give one seed each")
    for model in models:
        model.to(device).train()
    _check_same_architecture(models)

    # Stacked copies (leading dim S): params are fresh leaf tensors the optimizer owns.
    params, buffers = stack_module_state(models)
    # Only the module structure is needed to run the forward; 'meta' holds no memory.
    base = copy.deepcopy(models[0]).to("meta").train()

    def seed_loss(p: dict[str, Tensor], b: dict[str, Tensor], x: Tensor, y: Tensor) -> Tensor:
        return F.cross_entropy(functional_call(base, (p, b), (x,)), y)

    # Buffers are vmapped (in_dims=0) as well: train-mode BatchNorm updates its running stats
    # in place, which vmap allows only when those buffers are batched like the input.
    batched_loss = torch.vmap(seed_loss, in_dims=(0, 0, 0, 0))

    x_train, y_train = target.x_train.to(device), target.y_train.to(device)
    streams = [
        ShuffledBatchStream((x_train, y_train), recipe.batch_size, seed=derive_seed(s, "batches")) for s in seeds
    ]
    augment = TrainAugment(target.mean, target.std)
    generators = [device_generator(s, "augment", device) for s in seeds]
    opt = torch.optim.SGD(
        list(params.values()), lr=recipe.lr, momentum=recipe.momentum, weight_decay=recipe.weight_decay
    )
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(1, recipe.iterations))
    reporter = LossReporter(emit, total=recipe.iterations, every=10)
    windows = _SeedLossWindows(len(seeds), total=recipe.iterations, every=10)

    images = 0
    synchronize(device)
    started = time.perf_counter()
    for step in range(1, recipe.iterations + 1):
        # Every stream has the same length and batch size, so the S batches always stack.
        batches = [next(stream) for stream in streams]
        with torch.no_grad():
            xb = torch.stack([augment(x, generator=g) for (x, _), g in zip(batches, generators, strict=True)])
        yb = torch.stack([y for _, y in batches])  # (S, B)
        losses = batched_loss(params, buffers, xb, yb)  # (S,) each seed's mean cross-entropy
        opt.zero_grad(set_to_none=True)
        losses.sum().backward()
        opt.step()
        lr = opt.param_groups[0]["lr"]  # the rate this step used
        sched.step()
        images += yb.numel()
        reporter.record(step, losses.detach().mean(), lr=lr)
        windows.record(step, losses)
    synchronize(device)
    elapsed = time.perf_counter() - started

    with torch.no_grad():
        for s, model in enumerate(models):
            for name, p in model.named_parameters():
                p.copy_(params[name][s])
            for name, b in model.named_buffers():
                b.copy_(buffers[name][s])
    return BatchedRun(train_losses=windows.last_means, images=images, elapsed=elapsed)
