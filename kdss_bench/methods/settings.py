"""Per-method settings: dataclasses of typed defaults, validated from a suite's ``methods:`` mapping.

Kept free of torch so that validating a suite (``kdss-bench validate``) is instant.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, ClassVar

from kdss_bench.config_reader import ConfigReader, KeyPath
from kdss_bench.errors import SettingError
from kdss_bench.methods.settings_checks import check_budget_within_source, check_positive
from kdss_bench.methods.suite_facts import SuiteFacts


@dataclass(frozen=True)
class MethodSettings:
    """Base class: subclasses list their fields with the paper's defaults."""

    CHOICES: ClassVar[dict[str, tuple[str, ...]]] = {}
    NOT_IN_IDENTITY: ClassVar[tuple[str, ...]] = ()
    """Fields that change how a run is carried out but not its result (e.g. checkpoint frequency)."""

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def identity(self) -> dict[str, Any]:
        """The fields that determine the distilled set: what cache keys and config hashes use."""
        return {k: v for k, v in self.as_dict().items() if k not in self.NOT_IN_IDENTITY}

    def input_fingerprint(self) -> str | None:
        """A hash of files the method reads besides the source (None when it reads none)."""
        return None

    def check(self, facts: SuiteFacts, where: KeyPath) -> None:
        """Raise :class:`SettingError` for settings that cannot run with this suite; torch-free.

        ``where`` is the settings' key in the suite (``("methods", "krr_st")``). ``load_suite`` calls
        it, so ``kdss-bench validate`` catches what a run would refuse hours later; the method's
        implementation calls it again on the loaded source, where more facts are known.
        """


@dataclass(frozen=True)
class NoSettings(MethodSettings):
    """For methods with nothing to set (no pre-training)."""


@dataclass(frozen=True)
class KrrStSettings(MethodSettings):
    """KRR-ST distillation; defaults are the official code's CIFAR-100 configuration (docs/method-notes.md#krr_st)."""

    outer_steps: int = 160_000  # outer (X_s, Y_s) updates (train.py --outer_iteration)
    lr: float = 1e-4  # one learning rate for X_s and Y_s (README command for CIFAR-100; argparse default 1e-3)
    lr_end_factor: float = 1e-3  # LinearLR(1.0 -> 1e-3) over outer_steps
    outer_optimizer: str = "adamw"  # official "adam" = AdamW(wd=0); "sgd" = momentum 0.5
    weight_decay: float = 0.0  # of the outer optimiser (train.py --outer_wd)
    real_batch: int = 1024  # real images per outer step (train.py --outer_batch_size)
    pool_size: int = 10  # ConvNets in the model pool (train.py --num_models)
    online_iterations: int = 1000  # online steps before a pool model is re-initialised (--online_iteration)
    online_optimizer: str = "sgd"  # pool models' optimiser: SGD momentum 0.9, or "adam" (AdamW)
    online_lr: float = 0.1  # pool models' learning rate (train.py --online_lr)
    online_weight_decay: float = 1e-3  # pool models' weight decay (train.py --online_wd)
    pool_reset: str = "paper"  # "official" keeps the released code's never-reset step counter
    real_augment: str = "crop_flip"  # "normalize_only" = the first upload (d9a422c)
    xs_init: str = "raw"  # official: X_s starts as raw [0,1] pixels; "normalized" starts in input space
    ridge: float = 1e-6  # KRR ridge: lambda = ridge * tr(K_ss), trace detached
    grad_clip: float = 0.0  # outer gradient norm clip; 0 = none (train.py --outer_grad_norm)
    checkpoint_every: int = 2000  # resumable checkpoint of X_s, Y_s, optimiser and pool; 0 = never
    model: str = ""  # pool / inner model; empty = the suite's model
    mode: str = "exact"  # "fast": teacher targets of teacher_views augmented views per image, computed once
    teacher_views: int = 10  # fast mode only: K views per source image in the teacher-target cache
    precision: str = "fp32"  # "bf16": autocast the networks (kernel and solve stay fp32)
    solver: str = "cholesky"  # "lu" = the official torch.linalg.solve; same math, about twice the work
    channels_last: bool = True  # memory format of the teacher and the pool; same math
    compile: bool = False  # torch.compile the frozen teacher (with freezing); on CUDA also the pool models

    CHOICES: ClassVar[dict[str, tuple[str, ...]]] = {
        "outer_optimizer": ("adamw", "sgd"),
        "online_optimizer": ("sgd", "adam"),
        "pool_reset": ("paper", "official"),
        "real_augment": ("crop_flip", "normalize_only"),
        "xs_init": ("raw", "normalized"),
        "mode": ("exact", "fast"),
        "precision": ("fp32", "bf16"),
        "solver": ("cholesky", "lu"),
    }
    NOT_IN_IDENTITY: ClassVar[tuple[str, ...]] = ("checkpoint_every",)

    def check(self, facts: SuiteFacts, where: KeyPath) -> None:
        """X_s starts as ``budget`` distinct real images; the pool, the batches and the target cache need >= 1."""
        if not facts.has_teacher:
            raise SettingError(where, "krr_st needs a teacher; add a 'teacher:' section to the suite")
        check_budget_within_source(facts)
        check_positive(self, ("real_batch", "pool_size", "teacher_views"), where)
        if self.online_iterations < 2:
            raise SettingError((*where, "online_iterations"), "must be at least 2 (a pool model starts at a step "
                                                              f"drawn from 1..T-1), got {self.online_iterations}")
        if self.mode == "fast" and self.real_augment != "crop_flip":
            raise SettingError((*where, "mode"), "'fast' caches augmented views; it needs real_augment: crop_flip "
                                                 "(with normalize_only use mode: exact)")


def read_settings(cls: type[MethodSettings], given: Any, reader: ConfigReader,
                  key: KeyPath) -> MethodSettings:
    """Validate ``given`` (a mapping or None) against ``cls``'s fields and defaults."""
    given = reader.mapping(given, key)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    reader.reject_unknown(given, key, fields)
    values = {}
    for name, value in given.items():
        default = _default_of(fields[name])
        choices = cls.CHOICES.get(name)
        if name == "model" and value == "":
            values[name] = value
            continue
        values[name] = reader.typed_like(value, default, (*key, name), choices=choices)
    return cls(**values)


def _default_of(f: dataclasses.Field) -> Any:
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:  # type: ignore[misc]
        return f.default_factory()  # type: ignore[misc]
    return None


__all__ = ["KrrStSettings", "MethodSettings", "NoSettings", "read_settings"]
