"""DSA: dataset condensation by gradient matching with differentiable siamese augmentation.

Zhao & Bilen, ICML 2021; official VICO-UoE/DatasetCondensation ``main.py --method DSA``. Every
iteration draws a fresh network and alternates, ``outer_loop`` times, one update of the images
-- per class, the CE gradients of the network's weights on a real batch and on the class's
synthetic images, both under the SAME random augmentation, should point the same way -- with
``inner_loop`` epochs of training the network on the (augmented) synthetic set, so the images
are matched along a training trajectory rather than at initialisation only.

BatchNorm, as the official code does it: before each image update the network runs once in
train mode on ``bn_batch_per_class`` real images per class (so a single class's small synthetic
batch is not normalised by its own statistics) and its BatchNorm layers are then frozen (eval)
for the matching; the inner loop trains in train mode again.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from kdss_bench.methods.class_budget import images_per_class
from kdss_bench.methods.class_image_run import ClassImageRun, has_batch_norm
from kdss_bench.methods.context import DistillContext
from kdss_bench.methods.distilled_set import DistilledSet
from kdss_bench.methods.dsa_settings import DsaSettings
from kdss_bench.methods.gradient_matching import gradient_matching_distance


def class_gradient_distance(net: nn.Module, params: Sequence[torch.Tensor], x_real: torch.Tensor,
                            x_syn: torch.Tensor, label: int, metric: str = "ours") -> torch.Tensor:
    """Distance between the CE weight gradients on a real and a synthetic batch of class ``label``.

    The real gradients are constants; the synthetic ones keep their graph (create_graph), so the
    distance is differentiable w.r.t. ``x_syn``. Both batches must already be augmented alike.
    """
    real_labels = torch.full((x_real.shape[0],), label, dtype=torch.long, device=x_real.device)
    grads_real = torch.autograd.grad(F.cross_entropy(net(x_real), real_labels), params)
    grads_real = [g.detach() for g in grads_real]
    syn_labels = torch.full((x_syn.shape[0],), label, dtype=torch.long, device=x_syn.device)
    grads_syn = torch.autograd.grad(F.cross_entropy(net(x_syn), syn_labels), params, create_graph=True)
    return gradient_matching_distance(grads_syn, grads_real, metric)


def freeze_batch_norm_statistics(net: nn.Module, x_real: torch.Tensor) -> None:
    """One train-mode pass on real images updates the running statistics; then BatchNorm is set to eval."""
    net.train()
    with torch.no_grad():
        net(x_real)
    for module in net.modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            module.eval()


class DsaRun(ClassImageRun):
    method = "dsa"

    def __init__(self, ctx: DistillContext, settings: DsaSettings) -> None:
        ctx.check_settings(self.method, settings)
        ipc = images_per_class(ctx.budget, ctx.source.num_classes)[-1]  # the floor when the budget does not divide
        self.outer_loop, self.inner_loop = settings.loops(ipc)
        super().__init__(ctx, settings, lr_img=settings.lr_img, iterations=settings.iterations, init=settings.init,
                         dsa_strategy=settings.dsa_strategy, checkpoint_every=settings.checkpoint_every)

    def match_step(self, net: nn.Module, params: list[torch.Tensor], real: torch.Generator,
                   siamese: torch.Generator) -> float:
        """One image update: the matching distance summed over classes, one SGD step on the images.

        Each class is back-propagated on its own (the gradient of the sum is the sum of the
        gradients, and BatchNorm is frozen here), so only one class's graph is alive at a time.
        """
        settings: DsaSettings = self.settings
        self.optimizer.zero_grad(set_to_none=False)
        if self.x_syn.grad is None:
            self.x_syn.grad = torch.zeros_like(self.x_syn)
        total = self.x_syn.new_zeros(())
        for c in range(self.num_classes):
            x_real = self.real_images(c, settings.batch_real, real)
            x_syn = self.synthetic_images(c)
            seed = self.siamese_seed(siamese)
            x_real = self.augment(x_real, siamese_seed=seed)
            x_syn = self.augment(x_syn, siamese_seed=seed)
            distance = class_gradient_distance(net, params, x_real, x_syn, c, settings.dis_metric)
            (grad,) = torch.autograd.grad(distance, [self.x_syn])
            self.x_syn.grad += grad
            total += distance.detach()
        self.optimizer.step()
        return float(total)  # one host sync per image update

    def train_network(self, net: nn.Module, optimizer: torch.optim.Optimizer, shuffle: torch.Generator,
                      augment: torch.Generator) -> None:
        """``inner_loop`` epochs of CE on the synthetic set, per-image DSA, shuffled minibatches."""
        settings: DsaSettings = self.settings
        images, labels = self.x_syn.detach().clone(), self.y_syn.to(self.ctx.device)
        net.train()
        for _ in range(self.inner_loop):
            order = torch.randperm(images.shape[0], generator=shuffle).to(self.ctx.device)
            for batch in order.split(settings.batch_train):
                x = self.augment(images[batch], generator=augment)
                loss = F.cross_entropy(net(x), labels[batch])
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()

    def iteration_loss(self, iteration: int) -> float:
        settings: DsaSettings = self.settings
        net = self.fresh_network(iteration)
        net.train()
        params = list(net.parameters())
        net_optimizer = torch.optim.SGD(params, lr=settings.lr_net)
        real, siamese = self.generator("real", iteration), self.generator("siamese", iteration)
        shuffle, augment = self.generator("shuffle", iteration), self.generator("augment", iteration)
        batch_norm = has_batch_norm(net)
        total = 0.0
        for outer in range(self.outer_loop):
            if batch_norm:
                bn_batch = torch.cat([self.real_images(c, settings.bn_batch_per_class, real)
                                      for c in range(self.num_classes)])
                freeze_batch_norm_statistics(net, bn_batch)
            total += self.match_step(net, params, real, siamese)
            if outer == self.outer_loop - 1:
                break  # official: no network update after the last image update
            self.train_network(net, net_optimizer, shuffle, augment)
        return total / (self.num_classes * self.outer_loop)

    def extra_manifest(self) -> dict[str, Any]:
        return {"loops": {"outer_loop": self.outer_loop, "inner_loop": self.inner_loop},
                "matching_distance": self.settings.dis_metric}


NAME = "dsa"


def distill(ctx: DistillContext) -> DistilledSet:
    return DsaRun(ctx, ctx.settings).execute()  # type: ignore[arg-type]

