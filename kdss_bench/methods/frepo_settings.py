"""Settings of ``frepo`` (Zhou, Nezhadarya and Ba, NeurIPS 2022), torch-free.

Defaults are the official yongchao97/FRePo code for CIFAR-100 with 10 images per class:
``script/distill.py`` (``get_config`` and the README command ``--max_online_updates=100
--num_nn_state=10 --num_train_steps=500000``, ``use_flip=False`` for 10 images per class) and
``lib/datadistillation/frepo.py`` (``nfr``: reg 1e-6, label margin loss, cosine decay to 0.1x).
ZCA whitening is not offered: the benchmark's sets live in mean/std-normalised input space.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from kdss_bench.bounded_yaml import KeyPath
from kdss_bench.methods.settings import MethodSettings
from kdss_bench.methods.settings_checks import check_class_balanced_budget, check_positive
from kdss_bench.methods.suite_facts import SuiteFacts


@dataclass(frozen=True)
class FrepoSettings(MethodSettings):
    """Neural feature regression with a model pool and learned labels; official CIFAR-100 defaults."""

    outer_steps: int = 500_000  # --num_train_steps (README command)
    optimizer: str = "lamb"  # config.kernel.optimizer (optax.lamb, no weight decay); "adam" = plain Adam
    lr: float = 3e-4  # config.kernel.learning_rate, one rate for images and labels
    lr_final_fraction: float = 0.1  # optax.cosine_decay_schedule(alpha=0.1) over outer_steps
    real_batch: int = 1024  # config.kernel.batch_size, real images per step (no augmentation)
    ridge: float = 1e-6  # nfr reg: lambda = ridge * tr(K_ss) / m
    label_margin_weight: float = 1.0  # lb_margin_th: -min(top1 - top2, 1/C), added with weight 1
    flip_prototypes: bool = False  # use_flip: also regress from horizontally flipped X_s (official: 1 img/class)
    scale_init_labels: bool = True  # init_proto(scale_y=True): (one_hot - 1/C) / sqrt(C / 10)
    pool_size: int = 10  # networks in the model pool (--num_nn_state)
    max_online_updates: int = 100  # a pool model is re-initialised once it has taken more steps than this
    online_lr: float = 3e-4  # config.online: Adam, lr 3e-4, MSE on (X_s, Y_s), model in train mode
    online_batch: int = 1000  # prototypes per online step (get_sample_proto, bs = kernel.eval_batch_size)
    online_bn_momentum: float = 0.9  # torch semantics; Flax BatchNorm(momentum=0.1) keeps 0.1 of the old stats
    checkpoint_every: int = 2000  # steps between resumable checkpoints; 0 = never
    model: str = ""  # pool model; empty = the suite's model

    CHOICES: ClassVar[dict[str, tuple[str, ...]]] = {"optimizer": ("lamb", "adam")}
    NOT_IN_IDENTITY: ClassVar[tuple[str, ...]] = ("checkpoint_every",)

    def check(self, facts: SuiteFacts, where: KeyPath) -> None:
        check_class_balanced_budget(facts)
        check_positive(self, ("outer_steps", "real_batch", "pool_size", "max_online_updates", "online_batch"),
                       where)
