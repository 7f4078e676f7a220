"""Settings of ``mtt`` (Cazenavette et al., CVPR 2022): expert trajectories, then trajectory matching.

Defaults are the official code's CIFAR-100, 10 images per class configuration
(GeorgeCazenavette/mtt-distillation: ``buffer.py`` defaults and README for the experts, the
authors' per-setting table for the distillation: ``--syn_steps=20 --expert_epochs=2
--max_start_epoch=20 --lr_img=1000 --lr_lr=1e-05 --lr_teacher=0.01``, no ``--zca``,
``--batch_syn`` unset = all images). ZCA whitening is not offered: the KRR-ST evaluation
pipeline feeds mean/std-normalised images and has no ZCA. Kept free of torch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from kdss_bench.bounded_yaml import KeyPath
from kdss_bench.errors import ConfigError, SettingError
from kdss_bench.methods.settings import MethodSettings
from kdss_bench.methods.settings_checks import check_class_balanced_budget, check_positive
from kdss_bench.methods.suite_facts import SuiteFacts
from kdss_bench.train.dsa_strategy import parse_strategy


@dataclass(frozen=True)
class MttSettings(MethodSettings):
    """Matching training trajectories; expert fields are the cache key of the trajectories."""

    # distillation (distill.py)
    iterations: int = 5000  # distillation iterations (distill.py --Iteration)
    syn_steps: int = 20  # student SGD steps on the synthetic set per iteration
    expert_epochs: int = 2  # the target is the expert this many epochs after the start
    max_start_epoch: int = 20  # start epoch drawn uniformly from [0, max_start_epoch)
    lr_img: float = 1000.0  # SGD (momentum 0.5) on the images
    lr_lr: float = 1e-5  # SGD (momentum 0.5) on the learnable student learning rate
    lr_teacher: float = 0.01  # initial student learning rate (distill.py --lr_teacher)
    batch_syn: int = 0  # synthetic minibatch per student step; 0 = the whole set (official default)
    pix_init: str = "real"  # class-balanced random real images, or "noise" (standard normal)
    dsa: bool = True  # DSA on every student minibatch (per image, not siamese)
    dsa_strategy: str = "color_crop_cutout_flip_scale_rotate"  # DSA ops joined with "_" (official default)
    expert_order: str = "cycle"  # distill.py lines 307-322: every expert once per pass of a shuffled buffer;
    # "uniform": a uniformly random expert each iteration, the official --load_all path (line 306)
    # experts (buffer.py)
    num_experts: int = 100  # expert trajectories in the buffer (buffer.py --num_experts)
    train_epochs: int = 50  # epochs each expert trains, a snapshot after each (buffer.py --train_epochs)
    expert_lr: float = 0.01  # experts' SGD learning rate (buffer.py --lr_teacher)
    expert_momentum: float = 0.0  # experts' SGD momentum (buffer.py --mom)
    expert_weight_decay: float = 0.0  # experts' weight decay (buffer.py --l2)
    expert_batch: int = 256  # experts' batch size (buffer.py --batch_train)
    expert_seed: int = 0  # experts are shared by every cell seed, as the official buffer is
    checkpoint_every: int = 500  # resumable checkpoint of the distillation; 0 = never
    model: str = ""  # student / expert model; empty = the suite's model

    CHOICES: ClassVar[dict[str, tuple[str, ...]]] = {
        "pix_init": ("real", "noise"),
        "expert_order": ("cycle", "uniform"),
    }
    NOT_IN_IDENTITY: ClassVar[tuple[str, ...]] = ("checkpoint_every",)

    def check(self, facts: SuiteFacts, where: KeyPath) -> None:
        """Every target epoch ``start + expert_epochs`` (start < max_start_epoch) must lie on the trajectories."""
        check_class_balanced_budget(facts)
        check_positive(self, ("num_experts", "syn_steps", "max_start_epoch", "expert_epochs", "expert_batch"),
                       where)
        try:
            parse_strategy(self.dsa_strategy)
        except ConfigError as error:
            raise SettingError((*where, "dsa_strategy"), str(error)) from None
        last_target = self.max_start_epoch - 1 + self.expert_epochs
        if last_target > self.train_epochs:
            raise SettingError((*where, "train_epochs"),
                               f"max_start_epoch - 1 + expert_epochs = {last_target} exceeds train_epochs "
                               f"{self.train_epochs}; raise train_epochs or lower max_start_epoch")
