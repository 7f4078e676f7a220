"""Pre-training on a distilled set with learned (soft) labels (KIP, FRePo).

Follows the official ``algorithms/pretrain_frepo.py``: a fresh model whose head has one output
per label dimension regresses the labels with the loss mean over the batch of
sum over outputs of 0.5 (model(x) - y)^2, trained by AdamW (lr 3e-4, weight decay 0) for a
number of iterations on batches of 500 drawn from an endless shuffled stream, under a cosine
schedule with 500 steps of linear warm-up stepped once per iteration. Each batch is augmented
with DSA under ``no_grad`` (mode 'S', per-image parameters); no normalisation (the images
already live in the network's input space).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from kdss_bench.errors import DataError
from kdss_bench.train.distilled_inputs import check_distilled_images, check_same_count, model_and_batches
from kdss_bench.train.dsa_augment import seeded_dsa
from kdss_bench.train.progress import Emit, LossReporter
from kdss_bench.train.recipes import LabelRegressionPretrainRecipe
from kdss_bench.train.warmup_cosine import warmup_cosine_schedule


def label_regression_loss(outputs: Tensor, targets: Tensor) -> Tensor:
    """Mean over the batch of the per-example 0.5 * squared error summed over outputs (KIP/FRePo)."""
    return (0.5 * (outputs - targets).pow(2)).sum(dim=-1).mean()


def check_soft_labelled(x_syn: Tensor, y_soft: Tensor) -> None:
    """Raises DataError unless ``x_syn`` is float (N, C, H, W) and ``y_soft`` float (N, K)."""
    check_distilled_images(x_syn)
    if y_soft.dim() != 2 or not y_soft.is_floating_point():
        raise DataError(f"soft labels must be a float (N, K) tensor, got {y_soft.dtype} {tuple(y_soft.shape)}")
    check_same_count(x_syn, y_soft, "labels")


def pretrain_label_regression(
    model_name: str,
    x_syn: Tensor,
    y_soft: Tensor,
    recipe: LabelRegressionPretrainRecipe,
    *,
    seed: int,
    device: torch.device | str,
    in_shape: tuple[int, int, int] | None = None,
    emit: Emit | None = None,
) -> nn.Module:
    """Trains a fresh ``model_name`` (head width ``y_soft.shape[1]``) to regress ``y_soft`` from ``x_syn``.

    ``in_shape`` defaults to the images' own shape. Emits ``progress`` (loss, lr) every 10
    iterations and a final ``metric`` with ``train_loss``. Returns the trained model on
    ``device``, in train mode.
    """
    check_soft_labelled(x_syn, y_soft)
    device = torch.device(device)
    model, stream = model_and_batches(
        model_name, x_syn, y_soft, num_outputs=y_soft.shape[1], target_dtype=torch.float32,
        batch_size=recipe.batch_size, seed=seed, device=device, in_shape=in_shape,
    )
    augment = seeded_dsa(recipe.dsa_strategy, seed) if recipe.dsa else None
    opt = torch.optim.AdamW(model.parameters(), lr=recipe.lr, weight_decay=recipe.weight_decay)
    sched = warmup_cosine_schedule(opt, recipe.warmup, recipe.iterations)
    reporter = LossReporter(emit, total=recipe.iterations, every=10)
    model.train()
    for step in range(1, recipe.iterations + 1):
        xb, yb = next(stream)
        if augment is not None:
            xb = augment(xb)
        loss = label_regression_loss(model(xb), yb)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        lr = opt.param_groups[0]["lr"]  # the rate this step used
        sched.step()
        reporter.record(step, loss, lr=lr)
    reporter.emit_train_loss()
    return model
