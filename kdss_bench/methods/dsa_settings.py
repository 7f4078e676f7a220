"""Settings of DSA (gradient matching with differentiable siamese augmentation), torch-free.

Defaults are the official VICO-UoE/DatasetCondensation ``main.py`` run as its README's DSA command
(``--init real --method DSA --dsa_strategy color_crop_cutout_flip_scale_rotate``) at 10 images per class.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from kdss_bench.bounded_yaml import KeyPath
from kdss_bench.errors import ConfigError, SettingError
from kdss_bench.methods.class_budget import images_per_class
from kdss_bench.methods.settings import MethodSettings
from kdss_bench.methods.settings_checks import check_class_balanced_budget, check_positive
from kdss_bench.methods.suite_facts import SuiteFacts

# utils.py::get_loops: (outer_loop, inner_loop) per number of images per class, "empirically good".
OFFICIAL_LOOPS: dict[int, tuple[int, int]] = {1: (1, 1), 10: (10, 50), 20: (20, 25), 30: (30, 20), 40: (40, 15),
                                              50: (50, 10)}
DSA_STRATEGIES = ("color_crop_cutout_flip_scale_rotate", "color_crop_cutout_scale_rotate", "none")
"""The README's strategies (the second for digit data sets, where flips hurt); "none" = plain DC matching."""


def official_loops(images_per_class: int) -> tuple[int, int]:
    """``get_loops(ipc)``; the official code stops for any other ipc, here a ConfigError that names the fix."""
    try:
        return OFFICIAL_LOOPS[int(images_per_class)]
    except KeyError:
        raise ConfigError(f"dsa: the official get_loops has no outer/inner loop lengths for {images_per_class} "
                          f"images per class (only {sorted(OFFICIAL_LOOPS)}); set methods.dsa.outer_loop and "
                          "methods.dsa.inner_loop in the suite") from None


@dataclass(frozen=True)
class DsaSettings(MethodSettings):
    """DSA distillation (Zhao & Bilen, ICML 2021); official ``main.py`` defaults at 10 images per class."""

    iterations: int = 1000  # --Iteration (each: a fresh network, outer_loop image updates)
    outer_loop: int = 0  # 0 = get_loops(images per class): 10 at ipc 10
    inner_loop: int = 0  # 0 = get_loops(images per class): 50 at ipc 10 (epochs over the synthetic set)
    lr_img: float = 0.1  # --lr_img; SGD momentum 0.5 on the images
    lr_net: float = 0.01  # --lr_net; plain SGD on the network in the inner loop
    batch_real: int = 256  # --batch_real, real images per class per matching step
    batch_train: int = 256  # --batch_train, synthetic minibatch of the inner loop
    bn_batch_per_class: int = 16  # BNSizePC: real images per class that set BatchNorm's running statistics
    init: str = "real"  # README command (argparse default: noise)
    dsa_strategy: str = "color_crop_cutout_flip_scale_rotate"  # README command for CIFAR-10/100
    dis_metric: str = "ours"  # layer-wise 1 - cosine (utils.py::distance_wb)
    checkpoint_every: int = 50  # iterations between resumable checkpoints; 0 = never
    model: str = ""  # network whose gradients are matched; empty = the suite's model

    CHOICES: ClassVar[dict[str, tuple[str, ...]]] = {
        "init": ("real", "noise"),
        "dsa_strategy": DSA_STRATEGIES,
        "dis_metric": ("ours", "mse", "cos"),
    }
    NOT_IN_IDENTITY: ClassVar[tuple[str, ...]] = ("checkpoint_every",)

    def loops(self, images_per_class: int) -> tuple[int, int]:
        """(outer_loop, inner_loop): the settings where given, else the official table."""
        if self.outer_loop > 0 and self.inner_loop > 0:
            return self.outer_loop, self.inner_loop
        outer, inner = official_loops(images_per_class)
        return (self.outer_loop or outer), (self.inner_loop or inner)

    def check(self, facts: SuiteFacts, where: KeyPath) -> None:
        """The budget splits over the classes, and the loop lengths are given or in the official table."""
        check_class_balanced_budget(facts)
        check_positive(self, ("batch_real", "batch_train", "bn_batch_per_class"), where)
        if facts.num_classes is not None:
            try:
                self.loops(images_per_class(facts.budget, facts.num_classes)[-1])  # the floor, as DsaRun uses
            except ConfigError as error:
                raise SettingError((*where, "outer_loop"), str(error)) from None
