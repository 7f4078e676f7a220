"""Top-1 accuracy and mean cross-entropy of a classifier on a uint8 test split.

Fine-tuning and the linear probe both report this once, after training, with the model in
eval mode (BN running statistics) and normalisation as the only transform, as the official
evaluation does. Batching only bounds memory: in eval mode the result does not depend on it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from kdss_bench.train.augment import Stats, TestTransform
from kdss_bench.train.progress import Emit

if TYPE_CHECKING:
    from kdss_bench.data.image_set import ImageSet


@dataclass(frozen=True)
class EvalResult:
    """What one downstream evaluation reports.

    ``accuracy`` is top-1 on the test split in percent and ``loss`` the test cross-entropy;
    ``train_loss`` is the mean training loss over the last (up to 10) iterations, nan when
    none ran; ``images_per_s`` counts training images through the training loop, 0 when none.
    """

    accuracy: float
    loss: float
    train_loss: float
    iterations: int
    images_per_s: float

    @classmethod
    def tested(cls, model: nn.Module, target: ImageSet, *, train_loss: float, iterations: int, images: int,
               elapsed: float, device: torch.device, emit: Emit | None, batch_size: int = 1024,
               batch_statistics: bool = False) -> EvalResult:
        """Tests the trained ``model`` once on ``target``'s test split, reports the ``metric`` event, returns it all."""
        score = batch_statistics_accuracy_and_loss if batch_statistics else accuracy_and_loss
        accuracy, test_loss = score(model, target.x_test, target.y_test, target.mean, target.std, batch_size,
                                    device=device)
        result = cls(accuracy=accuracy, loss=test_loss, train_loss=train_loss, iterations=iterations,
                     images_per_s=images / elapsed if images and elapsed > 0 else 0.0)
        result.emit_metric(emit)
        return result

    def emit_metric(self, emit: Emit | None) -> None:
        """Reports this result as the stage's final ``metric`` event (test loss as ``test_loss``)."""
        if emit is not None:
            emit(
                "metric",
                step=self.iterations,
                total=self.iterations,
                accuracy=self.accuracy,
                test_loss=self.loss,
                train_loss=self.train_loss,
                images_per_s=self.images_per_s,
            )


def accuracy_and_loss(
    model: nn.Module,
    x_uint8: Tensor,
    y: Tensor,
    mean: Stats,
    std: Stats,
    batch_size: int = 1024,
    device: torch.device | str | None = None,
) -> tuple[float, float]:
    """Returns (accuracy in percent, mean cross-entropy) of ``model`` on ``(x_uint8, y)``.

    ``device`` defaults to where the model's parameters live. The model's train/eval mode is
    restored afterwards.
    """
    return _score(model, x_uint8, y, mean, std, batch_size, device, batch_statistics=False)


def batch_statistics_accuracy_and_loss(
    model: nn.Module,
    x_uint8: Tensor,
    y: Tensor,
    mean: Stats,
    std: Stats,
    batch_size: int,
    device: torch.device | str | None = None,
) -> tuple[float, float]:
    """(accuracy in percent, mean cross-entropy) with the model in **train** mode, the official KD test.

    ``zeroshot_kd.py:61-71``: ``student.train()`` then the test split in order (``shuffle=False``,
    ``data/wrapper.py:16``) in batches of ``batch_size``, so every BatchNorm normalises with the
    statistics of its batch and the result depends on the batching (including the last, smaller
    batch). The model's buffers (BN running statistics, which train-mode forwards update) and its
    mode are restored afterwards.
    """
    return _score(model, x_uint8, y, mean, std, batch_size, device, batch_statistics=True)


def _score(model: nn.Module, x_uint8: Tensor, y: Tensor, mean: Stats, std: Stats, batch_size: int,
           device: torch.device | str | None, *, batch_statistics: bool) -> tuple[float, float]:
    if x_uint8.shape[0] != y.shape[0]:
        raise ValueError(f"{x_uint8.shape[0]} images but {y.shape[0]} labels")
    if x_uint8.shape[0] == 0:
        raise ValueError("cannot evaluate on an empty test split")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    if device is None:
        device = next(model.parameters()).device
    device = torch.device(device)
    transform = TestTransform(mean, std)
    saved = {name: buf.detach().clone() for name, buf in model.named_buffers()} if batch_statistics else {}
    was_training = model.training
    model.train(batch_statistics)
    correct = torch.zeros((), dtype=torch.int64, device=device)
    loss_sum = torch.zeros((), dtype=torch.float64, device=device)
    try:
        # inference mode would forbid the train-mode forwards' in-place updates of BN buffers
        with torch.no_grad() if batch_statistics else torch.inference_mode():
            for start in range(0, x_uint8.shape[0], batch_size):
                xb = x_uint8[start : start + batch_size].to(device, non_blocking=True)
                yb = y[start : start + batch_size].to(device, non_blocking=True)
                logits = model(transform(xb)).float()
                loss_sum += F.cross_entropy(logits, yb, reduction="sum").double()
                correct += (logits.argmax(dim=1) == yb).sum()
    finally:
        if saved:  # train-mode forwards updated the BN running statistics: put them back
            with torch.no_grad():
                for name, buf in model.named_buffers():
                    buf.copy_(saved[name])
        model.train(was_training)
    n = x_uint8.shape[0]
    return 100.0 * int(correct.item()) / n, float(loss_sum.item()) / n
