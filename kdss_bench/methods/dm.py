"""DM: dataset condensation by distribution matching.

Zhao & Bilen, WACV 2023; official VICO-UoE/DatasetCondensation ``main_DM.py``. Every iteration
draws a freshly initialised network (never trained) and, per class, pulls the mean embedding of
the class's synthetic images towards the mean embedding of a real batch of that class, both
under the same random augmentation. Matching means in many random feature spaces needs no
bi-level optimisation, which makes DM far cheaper than gradient or trajectory matching.

The network stays in train mode, as in the official code. With BatchNorm, the official code
embeds all classes' real images in one batch and all synthetic images in another, so the
normalisation statistics are those of a multi-class batch; without it, class by class
(``embed_batches`` chooses, e.g. ``per_class`` to save memory as the official README suggests).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from kdss_bench.methods.class_image_run import ClassImageRun, has_batch_norm
from kdss_bench.methods.context import DistillContext
from kdss_bench.methods.distilled_set import DistilledSet
from kdss_bench.methods.dm_settings import DmSettings


def _class_means(features: torch.Tensor, sizes: Sequence[int]) -> torch.Tensor:
    return torch.stack([chunk.mean(dim=0) for chunk in features.split(list(sizes))])


def distribution_matching_loss(net: nn.Module, reals: Sequence[torch.Tensor], syns: Sequence[torch.Tensor],
                               *, joint: bool) -> torch.Tensor:
    """Sum over classes of ||mean embed(real_c) - mean embed(syn_c)||^2 (real embeddings are constants).

    ``reals[c]`` and ``syns[c]`` are class c's batches, already augmented alike. ``joint`` embeds
    all classes in one pass per side (the official BatchNorm branch); else one pass per class.
    """
    if len(reals) != len(syns):
        raise ValueError(f"{len(reals)} real class batches but {len(syns)} synthetic ones")
    if joint:
        with torch.no_grad():
            real_means = _class_means(net.embed(torch.cat(list(reals))), [r.shape[0] for r in reals])
        syn_means = _class_means(net.embed(torch.cat(list(syns))), [s.shape[0] for s in syns])
        return ((real_means - syn_means) ** 2).sum()
    total = syns[0].new_zeros(())
    for x_real, x_syn in zip(reals, syns, strict=True):
        with torch.no_grad():
            real_mean = net.embed(x_real).mean(dim=0)
        total = total + ((real_mean - net.embed(x_syn).mean(dim=0)) ** 2).sum()
    return total


class DmRun(ClassImageRun):
    method = "dm"

    def __init__(self, ctx: DistillContext, settings: DmSettings) -> None:
        ctx.check_settings(self.method, settings)
        super().__init__(ctx, settings, lr_img=settings.lr_img, iterations=settings.iterations, init=settings.init,
                         dsa_strategy=settings.dsa_strategy, checkpoint_every=settings.checkpoint_every)

    def iteration_loss(self, iteration: int) -> float:
        settings: DmSettings = self.settings
        net = self.fresh_network(iteration)
        net.train()
        net.requires_grad_(False)
        real, siamese = self.generator("real", iteration), self.generator("siamese", iteration)
        reals, syns = [], []
        for c in range(self.num_classes):
            seed = self.siamese_seed(siamese)
            with torch.no_grad():
                reals.append(self.augment(self.real_images(c, settings.batch_real, real), siamese_seed=seed))
            syns.append(self.augment(self.synthetic_images(c), siamese_seed=seed))
        joint = has_batch_norm(net) if settings.embed_batches == "auto" else settings.embed_batches == "joint"
        loss = distribution_matching_loss(net, reals, syns, joint=joint)
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()
        return float(loss.detach()) / self.num_classes


NAME = "dm"


def distill(ctx: DistillContext) -> DistilledSet:
    return DmRun(ctx, ctx.settings).execute()  # type: ignore[arg-type]

