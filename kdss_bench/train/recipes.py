"""The training recipes of the evaluation protocol as torch-free dataclasses: defaults and checks.

One source of truth: the training code takes these objects, and the suite schema
(:mod:`kdss_bench.config`) reads its defaults from their fields and validates a suite's sections
by building them, so ``kdss-bench validate`` catches every bad recipe value without torch.
Defaults are the official code's (docs/method-notes.md#shared-evaluation-protocol); each class names
its suite section.
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



BN_MODES = ("train", "eval")
"""How a network with BatchNorm runs: ``train`` (statistics of the current batch) or ``eval`` (running ones)."""


@dataclass(frozen=True)
class KdRecipe(Recipe):
    """Target data-free knowledge distillation, the paper's Table 4 (official ``test_kd.py`` and
    ``algorithms/zeroshot_kd.py`` at commit 4beb4b1; "file:line" below refers to those files).

    A student pre-trained on a distilled set (its head replaced by a random one with the target's
    classes) learns the target teacher's soft predictions on the distilled images alone, then is
    tested once on the target's test split.

    * ``epochs`` 1000 (``test_kd.py:178``), each one shuffled pass over the distilled images in
      batches of ``batch_size`` 512 that keeps the last, smaller batch (``test_kd.py:179``;
      ``zeroshot_kd.py:29``, ``DataLoader(shuffle=True)``, ``drop_last`` False).
    * AdamW (``test_kd.py:177`` "adam" -> ``zeroshot_kd.py:41``; betas and eps torch's defaults)
      with ``lr`` 1e-4, or ``gaussian_lr`` 1e-3 for the Gaussian-noise baseline
      (``test_kd.py:180-183``), ``weight_decay`` 0 (``test_kd.py:184``).
    * Cosine annealing to 0 with ``T_max = epochs``, stepped once per epoch
      (``zeroshot_kd.py:44`` and ``:59``); not an option.
    * Loss: soft cross-entropy ``-sum softmax(t / T) * log_softmax(s / T)``, mean over the batch,
      with ``temperature`` T = 1 (``zeroshot_kd.py:9-19``, called with the default T at ``:55``);
      no T^2 factor.
    * ``dsa``: each distilled batch is DSA-augmented under ``no_grad`` and the same augmented batch
      goes to the teacher and the student (``zeroshot_kd.py:49-55``). The official code does this
      for every method except ``gaussian`` -- KRR-ST, KIP and FRePo included, not only the
      supervised baselines (``zeroshot_kd.py:50-53``) -- with ``dsa_strategy``
      ``color_crop_cutout_flip_scale_rotate`` and ``ParamDiffAug``'s defaults, mode 'S', one
      random draw per image (``test_kd.py:18-19``, ``DiffAugment`` called without a seed). The
      caller decides per method whether to augment (``knowledge_distill(augment=...)``); this
      flag is the suite's switch for it.
    * ``teacher_mode`` ``train`` reproduces the official quirk: ``teacher.train()`` before the
      loop (``zeroshot_kd.py:46``), so the teacher's BatchNorm normalises with the statistics of
      each (augmented) synthetic batch instead of its running statistics from the target's
      training data. ``eval`` is the textbook alternative.
    * ``student_eval_mode`` ``train`` reproduces the second quirk: ``student.train()`` before
      testing (``zeroshot_kd.py:61``), so the test accuracy is measured with BatchNorm statistics
      of each test batch of ``test_batch_size`` 512 (``test_kd.py:179`` and ``:61-62``, the test
      loader's batch size; ``data/wrapper.py:16``, test split in order). ``eval`` tests with the
      running statistics, as fine-tuning does.
    """

    SECTION: ClassVar[str] = "kd"

    epochs: int = 1000
    batch_size: int = 512
    lr: float = 1e-4
    gaussian_lr: float = 1e-3
    """The learning rate of the ``gaussian`` baseline (random-init student, noise inputs)."""
    weight_decay: float = 0.0
    temperature: float = 1.0
    teacher_mode: str = "train"
    """``train`` (official, BN batch statistics of the synthetic batch) or ``eval`` (running statistics)."""
    student_eval_mode: str = "train"
    """``train`` (official, BN statistics of each test batch) or ``eval`` (running statistics) at test time."""
    test_batch_size: int = 512
    """Test batch size; matters only with ``student_eval_mode: train``, where BN uses the batch's statistics."""
    dsa: bool = True
    dsa_strategy: str = DEFAULT_STRATEGY

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.temperature > 0.0:
            self._refuse("temperature", f"expected a number > 0, got {self.temperature:g}")
        if self.test_batch_size < 1:
            self._refuse("test_batch_size", f"expected a positive integer, got {self.test_batch_size}")
        for name in ("teacher_mode", "student_eval_mode"):
            value = getattr(self, name)
            if value not in BN_MODES:
                self._refuse(name, f"expected one of {', '.join(BN_MODES)}, got {value!r}")


@dataclass(frozen=True)
class TargetTeacherRecipe(Recipe):
    """Supervised training of the target's classifier teacher for knowledge distillation (``kd``).

    Ours, not the official code's: the authors ship only the trained checkpoint
    ``teacher_ckpt/teacher_cifar10.pt`` (a ResNet18 with the CIFAR stem, 10 classes, loaded at
    ``test_kd.py:71-73``) and no code that trained it. These values are the common CIFAR ResNet
    recipe (e.g. kuangliu/pytorch-cifar): SGD ``lr`` 0.1, momentum 0.9, weight decay 5e-4,
    batches of 128, cosine annealing to 0 over the run, random crop (padding 4) + horizontal
    flip + normalisation with the target's train statistics, 200 ``epochs`` at paper scale
    (CPU suites scale it down). It runs the fine-tuning loop from a random initialisation
    (:func:`~kdss_bench.train.target_teacher.train_target_teacher`), so the schedule is stepped
    per iteration and a run cut to a few epochs still anneals smoothly, and the test accuracy is
    read once, in eval mode.
    """

    SECTION: ClassVar[str] = "kd_teacher"

    epochs: int = 200
    batch_size: int = 128
    lr: float = 0.1
    momentum: float = 0.9
    weight_decay: float = 5e-4


@dataclass(frozen=True)
class MkdtProtocolRecipe(Recipe):
    """MKDT's evaluation protocol (``jiayini1119/MKDT`` ``eval.py``, ``pretrain_methods/pretrain_mse.py``,
    ``evaluation/linear_evaluation.py``; "file:line" below refers to those files at HEAD ``eaf200e``).

    * Pre-training: a fresh network whose head is as wide as the set's targets, MSE to them, SGD with
      momentum 0.9 (``pretrain_mse.py:23``), ``lr`` 0.1 (``eval.py:210`` ``--pre_lr``) or, with
      ``learned_lr`` and an MKDT set, the step size it learned (``eval.py:89-91``), ``weight_decay``
      1e-4 (``eval.py:211``), ``epochs`` 20 (``eval.py:208``), batches of ``batch_size`` 256
      (``eval.py:209``), shuffled, no schedule, no augmentation (``pretrain_mse.py:29-40``).
    * Probe: the frozen backbone's features of the (label-fraction) training images, one full-batch
      ``nn.Linear`` trained by ``probe_steps`` 20 calls of ``torch.optim.LBFGS`` (torch's defaults:
      lr 1, ``max_iter`` 20 per call, history 100) on cross-entropy + ``probe_l2`` 1e-3 * ||W||^2
      (``linear_evaluation.py:10-39``, ``eval.py:217`` ``--le_iters 20``), tested on the full test split.
    The fraction of labels and how it is drawn are the suite's ``label_fraction(s)`` and
    ``label_sampling`` (they apply to every protocol).
    """

    SECTION: ClassVar[str] = "mkdt_protocol"

    epochs: int = 20
    batch_size: int = 256
    lr: float = 0.1
    momentum: float = 0.9
    weight_decay: float = 1e-4
    learned_lr: bool = True
    """Pre-train an MKDT set with the step size it learned (official); False: ``lr`` for every set."""
    probe_steps: int = 20
    probe_max_iter: int = 20
    probe_l2: float = 1e-3

    def __post_init__(self) -> None:
        super().__post_init__()
        for name in ("probe_steps", "probe_max_iter"):
            if getattr(self, name) < 1:
                self._refuse(name, f"expected a positive integer, got {getattr(self, name)}")


def recipe_defaults(recipe: type[Recipe]) -> dict[str, Any]:
    """``{field: default}`` of a recipe class, in field order (what a suite section starts from)."""
    return {f.name: f.default for f in dataclasses.fields(recipe)}
