"""FRePo: dataset distillation by neural feature regression with a model pool (Zhou et al., NeurIPS 2022).

Synthetic images X_s and learned labels Y_s (m x C over the source classes) are optimised so that
kernel ridge regression on a pool network's penultimate features, fitted on (X_s, Y_s), predicts
the centred one-hot labels of a real batch. Every step follows the official
``lib/datadistillation/frepo.py`` (yongchao97/FRePo):

1. take the current pool network (eval mode: BatchNorm running statistics) and a real batch;
2. features f = ``embed()`` (the flattened conv trunk, FRePo's ``feat_fc``), no bias column;
3. prediction K_ts (K_ss + lambda I)^-1 Y_s with K = f f^T, lambda = reg * tr(K_ss) / m;
4. loss = mean over the batch of sum over classes of 0.5 (prediction - y)^2, plus the label
   margin term -min(top1 - top2, 1/C) averaged over the learned labels;
5. one LAMB step on X_s and Y_s, learning rate cosine-decayed to 0.1x over the run;
6. the pool network used is re-initialised if it has taken more than ``max_online_updates``
   steps, else trained one Adam step (MSE of its head's output on Y_s) on a random sample of
   up to 1000 synthetic examples; then the next network is drawn uniformly.

The pool networks start untrained with staggered step counters (10 i for network i of 10), as
the official pool does. Deviations, all small: the pool is ``model_pool.ModelPool`` (its online
loss is the mean rather than 0.5 x the per-example sum of squared errors, which Adam's scale
invariance makes nearly irrelevant); images are mean/std-normalised instead of ZCA-whitened;
the real batch comes from a full shuffle rather than tf.data's 16-batch shuffle buffer.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from torch import nn

from kdss_bench.methods.context import DistillContext
from kdss_bench.methods.distilled_set import DistilledSet
from kdss_bench.methods.frepo_settings import FrepoSettings
from kdss_bench.methods.kernel_regression import kernel_regression_predict
from kdss_bench.methods.lamb import Lamb
from kdss_bench.methods.model_pool import ModelPool
from kdss_bench.methods.run_checkpoint import GLOBAL_TORCH_RNG
from kdss_bench.methods.soft_label_run import SoftLabelRun
from kdss_bench.methods.soft_labels import centred_one_hot
from kdss_bench.models.registry import build_model
from kdss_bench.train.augment import normalize, to_float
from kdss_bench.train.batch_stream import ShuffledBatchStream
from kdss_bench.train.seeding import derive_seed


def cosine_decay_factor(step: int, total: int, final_fraction: float) -> float:
    """optax.cosine_decay_schedule(alpha=final_fraction) as a multiplier of the base rate at ``step``."""
    progress = min(step, total) / max(1, total)
    return (1.0 - final_fraction) * 0.5 * (1.0 + math.cos(math.pi * progress)) + final_fraction


def label_margin_loss(y_syn: torch.Tensor) -> torch.Tensor:
    """FRePo's ``lb_margin_th``: -min(top1 - top2, 1/C) per label, averaged; pushes each label to a clear class."""
    num_classes = y_syn.shape[1]
    if num_classes < 2:
        return y_syn.new_zeros(())
    top2 = y_syn.topk(2, dim=1).values
    return -(top2[:, 0] - top2[:, 1]).clamp(max=1.0 / num_classes).mean()


def frepo_loss(model: nn.Module, x_syn: torch.Tensor, y_syn: torch.Tensor, x_real: torch.Tensor,
               y_real: torch.Tensor, *, ridge: float, flip: bool = False,
               margin_weight: float = 1.0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(total, kernel regression loss, label margin loss) of one FRePo step with ``model``'s features.

    ``model`` is used as is (the caller puts it in eval mode); the real batch's features carry no
    gradient, the synthetic ones do.
    """
    label_loss = label_margin_loss(y_syn)
    if flip:
        x_syn = torch.cat([x_syn, x_syn.flip(-1)])
        y_syn = torch.cat([y_syn, y_syn])
    with torch.no_grad():
        f_real = model.embed(x_real)
    f_syn = model.embed(x_syn)
    prediction = kernel_regression_predict(f_syn @ f_syn.T, f_real @ f_syn.T, y_syn, ridge)
    kernel_loss = (0.5 * (prediction - y_real) ** 2).sum(dim=1).mean()
    return kernel_loss + margin_weight * label_loss, kernel_loss, label_loss


NAME = "frepo"


def distill(ctx: DistillContext) -> DistilledSet:
    return FrepoRun(ctx, ctx.settings).execute()  # type: ignore[arg-type]


class FrepoRun(SoftLabelRun):
    """One FRePo distillation: the pool, the real batches and the outer step. Tests step it directly."""

    method = "frepo"
    CHECKPOINTED = (*SoftLabelRun.CHECKPOINTED, "pool", "real_batches", "torch_rng", "kernel_losses")

    def __init__(self, ctx: DistillContext, settings: FrepoSettings) -> None:
        ctx.check_settings(self.method, settings)
        super().__init__(ctx, settings, steps=settings.outer_steps, checkpoint_every=settings.checkpoint_every)
        device, source = ctx.device, ctx.source
        torch.manual_seed(derive_seed(ctx.seed, "frepo:pool_init"))
        self.rng = np.random.default_rng(derive_seed(ctx.seed, "frepo:pool_choice"))
        # official: re-initialise when the step counter exceeds max_online_updates (ModelPool: when it reaches T)
        self.pool = ModelPool(self._build_pool_model, size=settings.pool_size,
                              online_iterations=settings.max_online_updates + 1, optimizer="adam",
                              lr=settings.online_lr, weight_decay=0.0, reset="paper", rng=self.rng)
        stagger = settings.max_online_updates // settings.pool_size
        self.pool.iterations = [stagger * i for i in range(settings.pool_size)]  # untrained, counters staggered
        self.real_batches = ShuffledBatchStream((source.x_train.to(device), source.y_train.to(device)),
                                                settings.real_batch, seed=derive_seed(ctx.seed, "frepo:real_batches"))
        self.kernel_losses: list[float] = []
        self.torch_rng = GLOBAL_TORCH_RNG  # pool models draw their initial weights from it

    # --- what SoftLabelRun asks for ----------------------------------------------------------
    def initial_labels(self, labels: torch.Tensor) -> torch.Tensor:
        labels = centred_one_hot(labels, self.num_classes)
        if self.settings.scale_init_labels:  # init_proto(scale_y=True)
            labels = labels / math.sqrt(self.num_classes / 10)
        return labels

    def make_optimizer(self, params: list[torch.Tensor]) -> tuple[torch.optim.Optimizer, Any]:
        settings = self.settings
        if settings.optimizer == "lamb":
            optimizer: torch.optim.Optimizer = Lamb(params, lr=settings.lr)
        else:
            optimizer = torch.optim.Adam(params, lr=settings.lr)
        scheduler = torch.optim.lr_scheduler.LambdaLR(
            optimizer, lambda step: cosine_decay_factor(step, settings.outer_steps, settings.lr_final_fraction))
        return optimizer, scheduler

    def _build_pool_model(self) -> nn.Module:
        model = build_model(self.ctx.model, in_shape=self.in_shape, num_outputs=self.num_classes)
        for module in model.modules():
            if isinstance(module, nn.modules.batchnorm._BatchNorm):
                module.momentum = self.settings.online_bn_momentum
        return model.to(self.ctx.device)

    def real_batch(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The next real batch, normalised (no augmentation, as the official distillation), and its targets."""
        pixels, labels = next(self.real_batches)
        images = normalize(to_float(pixels), self.ctx.source.mean, self.ctx.source.std)
        return images, centred_one_hot(labels, self.num_classes)

    def outer_step(self) -> float:
        settings = self.settings
        idx = int(self.rng.integers(settings.pool_size))
        model = self.pool.models[idx]
        model.eval()
        x_real, y_real = self.real_batch()
        loss, kernel_loss, _ = frepo_loss(model, self.x_syn, self.y_syn, x_real, y_real, ridge=settings.ridge,
                                          flip=settings.flip_prototypes,
                                          margin_weight=settings.label_margin_weight)
        self.x_syn.grad, self.y_syn.grad = torch.autograd.grad(loss, [self.x_syn, self.y_syn])
        self.optimizer.step()
        self.scheduler.step()
        x_online, y_online = self._online_sample()
        self.pool.update(idx, x_online, y_online)
        self.kernel_losses.append(float(kernel_loss.detach()))
        return float(loss.detach())

    def _online_sample(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Up to ``online_batch`` distinct synthetic examples for the pool network's online step."""
        x, y = self.x_syn.detach(), self.y_syn.detach()
        if x.shape[0] <= self.settings.online_batch:
            return x, y
        rows = torch.from_numpy(self.rng.permutation(x.shape[0])[: self.settings.online_batch]).to(x.device)
        return x[rows], y[rows]

    # --- manifest ------------------------------------------------------------------------------
    def extra_manifest(self) -> dict[str, Any]:
        tail = self.kernel_losses[-min(len(self.kernel_losses), 20):]
        return {"kernel_loss": {"first": self.kernel_losses[0] if self.kernel_losses else None,
                                "last20_mean": float(np.mean(tail)) if tail else None},
                "pool_reinitialisations": self.pool.reinitialisations,
                "label_init": "centred_one_hot_scaled" if self.settings.scale_init_labels else "centred_one_hot"}
