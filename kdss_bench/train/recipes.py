"""The training recipes of the evaluation protocol as torch-free dataclasses: defaults and checks.

One source of truth: the training code takes these objects, and the suite schema
(:mod:`kdss_bench.config`) reads its defaults from their fields and validates a suite's sections
by building them, so ``kdss-bench validate`` catches every bad recipe value without torch.
Defaults are the official code's (brief section 2); each class names its suite section.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, ClassVar

from kdss_bench.errors import ConfigError, SettingError
from kdss_bench.train.dsa_strategy import DEFAULT_STRATEGY, parse_strategy


@dataclass(frozen=True)
class Recipe:
    """Base class: ``SECTION`` is the suite key the recipe is read from; checks run on construction."""

    SECTION: ClassVar[str] = ""

    def __post_init__(self) -> None:
        values = dataclasses.asdict(self)
        for name, value in values.items():
            if isinstance(value, float) and not (math.isfinite(value) and value >= 0.0):
                self._refuse(name, f"expected a finite number >= 0, got {value:g}")
        for name in ("epochs", "iterations", "warmup"):
            if name in values and values[name] < 0:
                self._refuse(name, f"expected a non-negative integer, got {values[name]}")
        if values["batch_size"] < 1:
            self._refuse("batch_size", f"expected a positive integer, got {values['batch_size']}")
        if "dsa_strategy" in values:
            try:
                parse_strategy(values["dsa_strategy"])
            except ConfigError as error:
                self._refuse("dsa_strategy", str(error))

    def _refuse(self, name: str, problem: str) -> None:
        raise SettingError((self.SECTION, name), problem)


@dataclass(frozen=True)
class PretrainRecipe(Recipe):
    """KRR-ST pre-training (``algorithms/pretrain_krr_st.py``): MSE to the targets, SGD, no schedule."""

    SECTION: ClassVar[str] = "pretrain"

    epochs: int = 1000
    batch_size: int = 256
    lr: float = 0.1
    momentum: float = 0.9
    weight_decay: float = 1e-3


@dataclass(frozen=True)
class ClassifierPretrainRecipe(Recipe):
    """Cross-entropy pre-training on hard labels (``algorithms/pretrain_dc.py``: random ... mtt)."""

    SECTION: ClassVar[str] = "pretrain_classifier"

    epochs: int = 1000
    batch_size: int = 256
    lr: float = 0.01
    momentum: float = 0.9
    weight_decay: float = 5e-4
    milestone_fraction: float = 0.5
    """The learning rate is multiplied by 0.1 after ``int(epochs * milestone_fraction)`` epochs."""
    dsa: bool = True
    dsa_strategy: str = DEFAULT_STRATEGY

    def __post_init__(self) -> None:
        super().__post_init__()
        if not 0.0 <= self.milestone_fraction <= 1.0:
            self._refuse("milestone_fraction", f"expected a fraction in [0, 1], got {self.milestone_fraction:g}")

    @property
    def milestone_epoch(self) -> int:
        """Epochs run at the full rate (official: ``epochs // 2``)."""
        return int(self.epochs * self.milestone_fraction)


@dataclass(frozen=True)
class LabelRegressionPretrainRecipe(Recipe):
    """Label-regression pre-training on learned labels (``algorithms/pretrain_frepo.py``: kip, frepo).

    The official code fixes ``warmup`` at 500 steps; a run scaled down to fewer iterations
    should scale the warm-up with it, or the rate never leaves the warm-up ramp.
    """

    SECTION: ClassVar[str] = "pretrain_label_regression"

    iterations: int = 10000
    batch_size: int = 500
    lr: float = 3e-4
    weight_decay: float = 0.0
    warmup: int = 500
    dsa: bool = True
    dsa_strategy: str = DEFAULT_STRATEGY


@dataclass(frozen=True)
class FinetuneRecipe(Recipe):
    """Full fine-tuning (``algorithms/finetune.py`` + ``test.py``; defaults for 32/64-px targets)."""

    SECTION: ClassVar[str] = "finetune"

    iterations: int = 10000
    batch_size: int = 256
    lr: float = 0.01
    momentum: float = 0.9
    weight_decay: float = 5e-4


@dataclass(frozen=True)
class LinearProbeRecipe(Recipe):
    """The linear probe (``algorithms/linear_eval.py``, its test batch size as the integer 512)."""

    SECTION: ClassVar[str] = "linear_probe"

    iterations: int = 5000
    batch_size: int = 512
    lr: float = 0.2
    momentum: float = 0.9
    weight_decay: float = 0.0


def recipe_defaults(recipe: type[Recipe]) -> dict[str, Any]:
    """``{field: default}`` of a recipe class, in field order (what a suite section starts from)."""
    return {f.name: f.default for f in dataclasses.fields(recipe)}
