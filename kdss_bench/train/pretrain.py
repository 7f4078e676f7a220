"""KRR-ST pre-training: regress a network's outputs onto the distilled target representations.

Follows the official ``algorithms/pretrain_krr_st.py``: a model whose head outputs
``y_syn.shape[1]`` values is trained with MSE(model(X_s), Y_s) by SGD (lr 0.1, momentum 0.9,
weight decay 1e-3, no schedule) for a number of epochs, each a freshly shuffled pass over the
distilled set in batches of 256 that keeps the last, smaller batch. The images are fed as
they are (they already live in the network's input space): no augmentation, no normalisation.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from kdss_bench.errors import DataError
from kdss_bench.train.distilled_inputs import check_distilled_images, check_same_count, model_and_batches
from kdss_bench.train.progress import Emit, LossReporter
from kdss_bench.train.recipes import PretrainRecipe


def _check_distilled(x_syn: Tensor, y_syn: Tensor) -> None:
    check_distilled_images(x_syn)
    if y_syn.dim() != 2 or not y_syn.is_floating_point():
        raise DataError(
            f"distilled targets must be a float (N, D) tensor, got {y_syn.dtype} {tuple(y_syn.shape)}"
        )
    check_same_count(x_syn, y_syn, "targets")


def pretrain_on_targets(
    model_name: str,
    x_syn: Tensor,
    y_syn: Tensor,
    recipe: PretrainRecipe,
    *,
    seed: int,
    device: torch.device | str,
    in_shape: tuple[int, int, int] | None = None,
    emit: Emit | None = None,
) -> nn.Module:
    """Trains a fresh ``model_name`` (head width ``y_syn.shape[1]``) to regress ``y_syn`` from ``x_syn``.

    ``in_shape`` defaults to the images' own shape. Emits ``progress`` every 10 epochs with
    the mean batch loss since the previous event, and a final ``metric`` with ``train_loss``.
    Returns the trained model on ``device``, in train mode, as the official code leaves it.
    """
    _check_distilled(x_syn, y_syn)
    device = torch.device(device)
    model, stream = model_and_batches(
        model_name, x_syn, y_syn, num_outputs=y_syn.shape[1], target_dtype=torch.float32,
        batch_size=recipe.batch_size, seed=seed, device=device, in_shape=in_shape,
    )
    opt = torch.optim.SGD(
        model.parameters(), lr=recipe.lr, momentum=recipe.momentum, weight_decay=recipe.weight_decay
    )
    reporter = LossReporter(emit, total=recipe.epochs, every=10)
    model.train()
    for epoch in range(1, recipe.epochs + 1):
        epoch_loss = torch.zeros((), device=device)
        for _ in range(stream.batches_per_pass):
            xb, yb = next(stream)
            loss = F.mse_loss(model(xb), yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            epoch_loss += loss.detach()
        reporter.record(epoch, epoch_loss / stream.batches_per_pass)
    reporter.emit_train_loss()
    return model
