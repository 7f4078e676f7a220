"""Settings of ``kip`` (kernel inducing points with learned labels, Nguyen et al. 2021), torch-free.

Optimisation defaults are the official KIP colab (google-research ``kip/KIP.ipynb``): Adam with
learning rate 0.04 on images and labels, a class-balanced target batch of 5000 real images per
step, regulariser 1e-6 * tr(K_ss) / m, loss 0.5 * mean squared error on centred one-hot labels,
"~1000 or more steps for full convergence". The kernel is not the neural-tangents infinite-width
ConvNet kernel (JAX only) but its random-feature estimate as in RFAD (Loo et al. 2022, official
yolky/RFAD: 8 networks, redrawn every step); see ``kdss_bench.methods.nngp_random_features``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from kdss_bench.bounded_yaml import KeyPath
from kdss_bench.errors import SettingError
from kdss_bench.methods.class_budget import class_budget_problem, images_per_class
from kdss_bench.methods.settings import MethodSettings
from kdss_bench.methods.settings_checks import check_class_balanced_budget, check_positive
from kdss_bench.methods.suite_facts import SuiteFacts


@dataclass(frozen=True)
class KipSettings(MethodSettings):
    """KIP with learned labels and a random-feature ConvNet NNGP kernel."""

    outer_steps: int = 1000  # KIP colab: train for ~1000 or more steps
    lr: float = 0.04  # KIP colab LEARNING_RATE (Adam), one rate for images and labels
    target_batch: int = 5000  # KIP colab TARGET_BATCH_SIZE, class-balanced real images per step
    ridge: float = 1e-6  # KIP colab reg: lambda = ridge * tr(K_ss) / m
    kernel_models: int = 8  # RFAD n_models: random ConvNets whose features make one kernel estimate
    resample_every: int = 1  # RFAD model_rot: steps between fresh draws of the kernel's networks
    checkpoint_every: int = 500  # steps between resumable checkpoints; 0 = never
    model: str = ""  # ConvNet whose NNGP is estimated; empty = the suite's model

    CHOICES: ClassVar[dict[str, tuple[str, ...]]] = {}
    NOT_IN_IDENTITY: ClassVar[tuple[str, ...]] = ("checkpoint_every",)

    def check(self, facts: SuiteFacts, where: KeyPath) -> None:
        """Whether every class has its share of ``target_batch`` needs the labels: KipRun checks that."""
        check_class_balanced_budget(facts)
        check_positive(self, ("outer_steps", "kernel_models", "resample_every"), where)
        key = (*where, "target_batch")
        if facts.num_classes is not None and class_budget_problem(self.target_batch, facts.num_classes):
            raise SettingError(key, f"{self.target_batch} real images per step cannot hold one of each of the "
                                    f"{facts.num_classes} classes of '{facts.source}'; raise it to >= "
                                    f"{facts.num_classes}")
        if facts.num_classes is not None and facts.train_images is not None and \
                self.target_batch > facts.train_images:
            per_class = images_per_class(self.target_batch, facts.num_classes)[0]
            raise SettingError(key, f"target_batch {self.target_batch} needs {per_class} images of each class but "
                                    f"'{facts.source}' has {facts.train_images} training images for its "
                                    f"{facts.num_classes} classes; lower methods.kip.target_batch")
