"""Linear probe: train only a linear classifier on frozen backbone features.

Follows the official ``algorithms/linear_eval.py`` (which KRR-ST uses for monitoring): the
backbone runs once over the train split in eval mode with normalisation only, giving fixed
features; a linear layer is then trained on them with SGD (lr 0.2, momentum 0.9, no weight
decay) under a cosine schedule, in batches of 512 from an endless shuffled stream; the test
accuracy is read once at the end. The linear layer is the model's own fresh ``fc`` head, so
the trained model is an ordinary classifier and is evaluated like a fine-tuned one.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from kdss_bench.train.augment import TestTransform
from kdss_bench.train.batch_stream import ShuffledBatchStream
from kdss_bench.train.evaluate import EvalResult
from kdss_bench.train.progress import Emit, LossReporter, synchronize
from kdss_bench.train.recipes import LinearProbeRecipe
from kdss_bench.train.seeding import derive_seed
from kdss_bench.train.transfer import build_target_model

if TYPE_CHECKING:
    from kdss_bench.data.image_set import ImageSet


def extract_features(
    model: nn.Module, x_uint8: Tensor, mean, std, *, device: torch.device, batch_size: int = 1024
) -> Tensor:
    """``model.embed`` of normalised images, in eval mode and without autograd, on ``device``."""
    transform = TestTransform(mean, std)
    model.eval()
    chunks = []
    with torch.inference_mode():
        for start in range(0, x_uint8.shape[0], batch_size):
            xb = x_uint8[start : start + batch_size].to(device, non_blocking=True)
            chunks.append(model.embed(transform(xb)).float())
    # Concatenating outside inference mode yields an ordinary tensor that autograd may save.
    return torch.cat(chunks)


def linear_probe(
    model_name: str,
    init: nn.Module | None,
    target: ImageSet,
    recipe: LinearProbeRecipe,
    *,
    seed: int,
    device: torch.device | str,
    emit: Emit | None = None,
) -> EvalResult:
    """Probes ``init``'s backbone (None: a random-init backbone) with a linear head on ``target``.

    ``init`` is not modified. Emits ``progress`` every 10 iterations and a final ``metric``.
    """
    model = build_target_model(model_name, init, target, seed=seed)
    return probe_model(model, target, recipe, seed=seed, device=device, emit=emit)


def probe_model(
    model: nn.Module,
    target: ImageSet,
    recipe: LinearProbeRecipe,
    *,
    seed: int,
    device: torch.device | str,
    emit: Emit | None = None,
) -> EvalResult:
    """Trains only ``model.fc`` in place on frozen ``model.embed`` features, then tests once.

    The backbone is left frozen (``requires_grad=False``) and in eval mode.
    """
    device = torch.device(device)
    model.to(device)
    model.requires_grad_(False)
    head: nn.Linear = model.fc
    head.requires_grad_(True)
    features = extract_features(model, target.x_train, target.mean, target.std, device=device)
    labels = target.y_train.to(device)
    stream = ShuffledBatchStream((features, labels), recipe.batch_size, seed=derive_seed(seed, "batches"))
    opt = torch.optim.SGD(
        head.parameters(), lr=recipe.lr, momentum=recipe.momentum, weight_decay=recipe.weight_decay
    )
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(1, recipe.iterations))
    reporter = LossReporter(emit, total=recipe.iterations, every=10)

    model.eval()  # the backbone is frozen: BN keeps its running statistics
    seen = 0
    synchronize(device)
    started = time.perf_counter()
    for step in range(1, recipe.iterations + 1):
        fb, yb = next(stream)
        loss = F.cross_entropy(head(fb), yb)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        lr = opt.param_groups[0]["lr"]  # the rate this step used
        sched.step()
        seen += yb.shape[0]
        reporter.record(step, loss, lr=lr)
    synchronize(device)
    elapsed = time.perf_counter() - started

    return EvalResult.tested(model, target, train_loss=reporter.last_mean, iterations=recipe.iterations,
                             images=seen, elapsed=elapsed, device=device, emit=emit)
