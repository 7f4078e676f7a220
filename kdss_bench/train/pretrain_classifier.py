"""Pre-training on a distilled set with hard class labels (random, k-means, DSA, DM, MTT).

Follows the official ``algorithms/pretrain_dc.py``: a fresh model whose head has one output
per source class is trained with cross-entropy by SGD (lr 0.01, momentum 0.9, weight decay
5e-4) for a number of epochs, each a freshly shuffled pass over the distilled set in batches
of 256 that keeps the last, smaller batch. The learning rate drops x0.1 at half the epochs
(``MultiStepLR`` stepped once per epoch). Each batch is augmented with DSA under ``no_grad``
(mode 'S': one op family per batch, per-image parameters). The images already live in the
network's input space: no normalisation.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from kdss_bench.errors import DataError
from kdss_bench.train.distilled_inputs import check_distilled_images, check_same_count, model_and_batches
from kdss_bench.train.dsa_augment import seeded_dsa
from kdss_bench.train.progress import Emit, LossReporter
from kdss_bench.train.recipes import ClassifierPretrainRecipe


def check_hard_labelled(x_syn: Tensor, y_hard: Tensor, num_classes: int) -> None:
    """Raises DataError unless ``x_syn`` is float (N, C, H, W) and ``y_hard`` N class indices below ``num_classes``."""
    check_distilled_images(x_syn)
    if y_hard.dim() != 1 or y_hard.is_floating_point() or y_hard.dtype == torch.bool:
        raise DataError(f"hard labels must be an integer (N,) tensor, got {y_hard.dtype} {tuple(y_hard.shape)}")
    check_same_count(x_syn, y_hard, "labels")
    low, high = int(y_hard.min()), int(y_hard.max())
    if low < 0 or high >= num_classes:
        raise DataError(f"hard labels span [{low}, {high}] but there are {num_classes} classes")


def pretrain_classifier(
    model_name: str,
    x_syn: Tensor,
    y_hard: Tensor,
    num_classes: int,
    recipe: ClassifierPretrainRecipe,
    *,
    seed: int,
    device: torch.device | str,
    in_shape: tuple[int, int, int] | None = None,
    emit: Emit | None = None,
) -> nn.Module:
    """Trains a fresh ``model_name`` with ``num_classes`` outputs to classify ``x_syn`` as ``y_hard``.

    ``in_shape`` defaults to the images' own shape. Emits ``progress`` (loss, lr) every 10
    epochs with the mean batch loss since the previous event, and a final ``metric`` with
    ``train_loss``. Returns the trained model on ``device``, in train mode.
    """
    check_hard_labelled(x_syn, y_hard, num_classes)
    device = torch.device(device)
    model, stream = model_and_batches(
        model_name, x_syn, y_hard, num_outputs=num_classes, target_dtype=torch.int64,
        batch_size=recipe.batch_size, seed=seed, device=device, in_shape=in_shape,
    )
    augment = seeded_dsa(recipe.dsa_strategy, seed) if recipe.dsa else None
    opt = torch.optim.SGD(
        model.parameters(), lr=recipe.lr, momentum=recipe.momentum, weight_decay=recipe.weight_decay
    )
    sched = torch.optim.lr_scheduler.MultiStepLR(opt, milestones=[recipe.milestone_epoch], gamma=0.1)
    reporter = LossReporter(emit, total=recipe.epochs, every=10)
    model.train()
    for epoch in range(1, recipe.epochs + 1):
        lr = opt.param_groups[0]["lr"]  # the rate this epoch uses
        epoch_loss = torch.zeros((), device=device)
        for _ in range(stream.batches_per_pass):
            xb, yb = next(stream)
            if augment is not None:
                xb = augment(xb)
            loss = F.cross_entropy(model(xb), yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            epoch_loss += loss.detach()
        sched.step()
        reporter.record(epoch, epoch_loss / stream.batches_per_pass, lr=lr)
    reporter.emit_train_loss()
    return model
