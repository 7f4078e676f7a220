"""Settings of DM (distribution matching), torch-free.

Defaults are the official VICO-UoE/DatasetCondensation ``main_DM.py`` with the README's CIFAR-100
learning rate (``--lr_img 1`` for 1 to 125 images per class).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from kdss_bench.bounded_yaml import KeyPath
from kdss_bench.methods.dsa_settings import DSA_STRATEGIES
from kdss_bench.methods.settings import MethodSettings
from kdss_bench.methods.settings_checks import check_class_balanced_budget, check_positive
from kdss_bench.methods.suite_facts import SuiteFacts


@dataclass(frozen=True)
class DmSettings(MethodSettings):
    """DM distillation (Zhao & Bilen, WACV 2023); official ``main_DM.py`` defaults."""

    iterations: int = 20_000  # --Iteration (each: a fresh network, one image update)
    lr_img: float = 1.0  # --lr_img (README: 1 for CIFAR-100); SGD momentum 0.5 on the images
    batch_real: int = 256  # --batch_real, real images per class per iteration
    init: str = "real"  # real images or noise to start from (--init)
    dsa_strategy: str = "color_crop_cutout_flip_scale_rotate"  # DSA ops joined with "_" (--dsa_strategy)
    embed_batches: str = "auto"  # auto: all classes in one batch when the network has BatchNorm (official), else
    # class by class; "per_class" is the README's trick against running out of memory with BatchNorm
    checkpoint_every: int = 1000  # iterations between resumable checkpoints; 0 = never
    model: str = ""  # embedding network; empty = the suite's model

    CHOICES: ClassVar[dict[str, tuple[str, ...]]] = {
        "init": ("real", "noise"),
        "dsa_strategy": DSA_STRATEGIES,
        "embed_batches": ("auto", "joint", "per_class"),
    }
    NOT_IN_IDENTITY: ClassVar[tuple[str, ...]] = ("checkpoint_every",)

    def check(self, facts: SuiteFacts, where: KeyPath) -> None:
        check_class_balanced_budget(facts)
        check_positive(self, ("batch_real",), where)
