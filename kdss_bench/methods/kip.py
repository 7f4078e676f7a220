"""KIP: kernel inducing points with learned labels (Nguyen, Chen and Lee, ICLR 2021; Nguyen et al., NeurIPS 2021).

Synthetic images X_s and learned labels Y_s (m x C, centred one-hot at the start) are optimised
so that kernel ridge regression fitted on (X_s, Y_s) predicts the centred one-hot labels of a
class-balanced real batch. One step, as the official KIP colab (google-research ``kip/``):

    K_ss = k(X_s, X_s), K_ts = k(X_t, X_s), lambda = reg * tr(K_ss) / m,
    loss = 0.5 * mean((K_ts (K_ss + lambda I)^-1 Y_s - Y_t)^2),   Adam on X_s and Y_s.

The kernel. KIP's is the infinite-width ConvNet NTK/NNGP from neural-tangents, which has no
PyTorch counterpart. It is replaced by the random-feature estimate of the same architecture's
NNGP kernel used by RFAD (Loo et al. 2022): 8 untrained ConvNets of the suite's family drawn
with the NNGP's weight distribution and redrawn every step (``nngp_random_features.py``). This
is the cheapest stand-in that keeps KIP's defining property, a kernel of *untrained* infinitely
wide networks with no learned feature extractor (FRePo's pool of trained networks is what
differs); the NNGP rather than the NTK because only the NNGP has an unbiased random-feature
estimate from forward passes, and RFAD reports NNGP-KIP performing on par with NTK-KIP. An
empirical NTK (per-example Jacobians) would cost O(parameters) memory per image and is not
affordable at the paper's scale.
"""

from __future__ import annotations

from typing import Any

import torch

from kdss_bench.errors import ConfigError
from kdss_bench.methods.class_budget import class_balanced_indices, images_per_class
from kdss_bench.methods.context import DistillContext
from kdss_bench.methods.distilled_set import DistilledSet
from kdss_bench.methods.kernel_regression import kernel_regression_predict
from kdss_bench.methods.kip_settings import KipSettings
from kdss_bench.methods.nngp_random_features import ConvNetNngpKernel
from kdss_bench.methods.real_images import normalized_train_images
from kdss_bench.methods.soft_label_run import SoftLabelRun
from kdss_bench.methods.soft_labels import centred_one_hot
from kdss_bench.train.seeding import derive_seed


def kip_loss(kernel: ConvNetNngpKernel, x_syn: torch.Tensor, y_syn: torch.Tensor, x_real: torch.Tensor,
             y_real: torch.Tensor, *, ridge: float) -> torch.Tensor:
    """0.5 * mean squared error of the KRR prediction of ``y_real`` from (``x_syn``, ``y_syn``)."""
    k_ss, k_ts = kernel.kernels(x_syn, x_real)
    prediction = kernel_regression_predict(k_ss, k_ts, y_syn, ridge)
    return 0.5 * ((prediction - y_real) ** 2).mean()


NAME = "kip"


def distill(ctx: DistillContext) -> DistilledSet:
    return KipRun(ctx, ctx.settings).execute()  # type: ignore[arg-type]


class KipRun(SoftLabelRun):
    """One KIP distillation. All randomness of step t (kernel networks, target batch) is derived
    from (seed, t), so a resumed run repeats what an uninterrupted one would do."""

    method = "kip"

    def __init__(self, ctx: DistillContext, settings: KipSettings) -> None:
        ctx.check_settings(self.method, settings)
        super().__init__(ctx, settings, steps=settings.outer_steps, checkpoint_every=settings.checkpoint_every)
        labels = ctx.source.y_train.cpu()
        self.target_per_class = images_per_class(settings.target_batch, self.num_classes)
        counts = torch.bincount(labels, minlength=self.num_classes)
        short = [c for c in range(self.num_classes) if counts[c] < self.target_per_class[c]]
        if short:
            c = short[0]
            raise ConfigError(f"methods.kip.target_batch {settings.target_batch} needs {self.target_per_class[c]} "
                              f"images of each class but class {c} of '{ctx.source.name}' has {int(counts[c])}; "
                              "lower methods.kip.target_batch")
        self.kernel = ConvNetNngpKernel(ctx.model, self.in_shape, settings.kernel_models, ctx.device)
        self.kernel_draw: int | None = None

    def make_optimizer(self, params: list[torch.Tensor]) -> tuple[torch.optim.Optimizer, Any]:
        return torch.optim.Adam(params, lr=self.settings.lr), None  # jax optimizers.adam, constant rate

    def use_kernel_of_step(self, step: int) -> None:
        """Draw the kernel's networks for ``step`` (a fresh draw every ``resample_every`` steps)."""
        draw = step // self.settings.resample_every
        if draw != self.kernel_draw:
            self.kernel.resample(derive_seed(self.ctx.seed, f"kip:kernel:{draw}"))
            self.kernel_draw = draw

    def target_batch(self, step: int) -> tuple[torch.Tensor, torch.Tensor]:
        """A class-balanced random real batch for ``step``, normalised, with centred one-hot targets."""
        generator = torch.Generator().manual_seed(derive_seed(self.ctx.seed, f"kip:target:{step}"))
        source = self.ctx.source
        indices = class_balanced_indices(source.y_train, self.target_per_class, generator)
        images = normalized_train_images(source, indices, self.ctx.device)
        return images, centred_one_hot(source.y_train[indices], self.num_classes).to(self.ctx.device)

    def outer_step(self) -> float:
        self.use_kernel_of_step(self.step)
        x_real, y_real = self.target_batch(self.step)
        loss = kip_loss(self.kernel, self.x_syn, self.y_syn, x_real, y_real, ridge=self.settings.ridge)
        self.x_syn.grad, self.y_syn.grad = torch.autograd.grad(loss, [self.x_syn, self.y_syn])
        self.optimizer.step()
        return float(loss.detach())

    def extra_manifest(self) -> dict[str, Any]:
        return {"kernel": {"kind": "convnet_nngp_random_features", "model": self.ctx.model,
                           "networks": self.settings.kernel_models,
                           "features_per_network": self.kernel.features_per_network}}
