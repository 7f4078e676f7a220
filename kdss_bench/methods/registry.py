"""The method registry: names -> settings class and implementation, imported lazily.

Listing methods or validating a suite must not import torch, so each entry names its
implementation by module path (a module that satisfies :class:`~kdss_bench.methods.method.Method`)
and :func:`load_method` imports it on first use; the registry has the shape of the model and
dataset registries (:mod:`kdss_bench.lazy_registry`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from kdss_bench.lazy_registry import LazyRegistry, import_target
from kdss_bench.methods.dm_settings import DmSettings
from kdss_bench.methods.dsa_settings import DsaSettings
from kdss_bench.methods.frepo_settings import FrepoSettings
from kdss_bench.methods.import_set_settings import ImportSetSettings
from kdss_bench.methods.kip_settings import KipSettings
from kdss_bench.methods.kmeans_coreset_settings import KmeansCoresetSettings
from kdss_bench.methods.mkdt_settings import MkdtSettings
from kdss_bench.methods.mtt_settings import MttSettings
from kdss_bench.methods.random_subset_settings import RandomSubsetSettings
from kdss_bench.methods.settings import KrrStSettings, MethodSettings, NoSettings

if TYPE_CHECKING:
    from kdss_bench.methods.method import Method


@dataclass(frozen=True)
class MethodInfo:
    name: str
    summary: str
    settings: type[MethodSettings]
    implementation: str | None  # the module implementing Method (``distill(ctx)``); None = nothing to distil
    target_kind: str  # "features" | "hard" | "soft" | "none" | "auto" (known once the set is read)
    needs_teacher: bool | Callable[[MethodSettings], bool]  # a function when it depends on the settings


_METHODS = LazyRegistry[MethodInfo]("method", {  # the paper's table order
    "random": MethodInfo(
        name="random",
        summary="class-balanced random subset of real source images, hard labels",
        settings=RandomSubsetSettings,
        implementation="kdss_bench.methods.random_subset",
        target_kind="hard",
        needs_teacher=False,
    ),
    "kmeans": MethodInfo(
        name="kmeans",
        summary="per class, the real images nearest to k-means centroids (pixels or teacher features)",
        settings=KmeansCoresetSettings,
        implementation="kdss_bench.methods.kmeans_coreset",
        target_kind="hard",
        needs_teacher=lambda settings: settings.features == "teacher",
    ),
    "dsa": MethodInfo(
        name="dsa",
        summary="DSA (Zhao & Bilen 2021): gradient matching with differentiable siamese augmentation",
        settings=DsaSettings,
        implementation="kdss_bench.methods.dsa",
        target_kind="hard",
        needs_teacher=False,
    ),
    "dm": MethodInfo(
        name="dm",
        summary="DM (Zhao & Bilen 2023): match mean embeddings of randomly initialised networks",
        settings=DmSettings,
        implementation="kdss_bench.methods.dm",
        target_kind="hard",
        needs_teacher=False,
    ),
    "mtt": MethodInfo(
        name="mtt",
        summary="MTT (Cazenavette et al. 2022): match expert training trajectories; experts cached as artifacts",
        settings=MttSettings,
        implementation="kdss_bench.methods.mtt",
        target_kind="hard",
        needs_teacher=False,
    ),
    "kip": MethodInfo(
        name="kip",
        summary="KIP (Nguyen et al. 2021): kernel inducing points, learned labels, random-feature ConvNet NNGP",
        settings=KipSettings,
        implementation="kdss_bench.methods.kip",
        target_kind="soft",
        needs_teacher=False,
    ),
    "frepo": MethodInfo(
        name="frepo",
        summary="FRePo (Zhou et al. 2022): neural feature regression with a model pool and learned labels",
        settings=FrepoSettings,
        implementation="kdss_bench.methods.frepo",
        target_kind="soft",
        needs_teacher=False,
    ),
    "krr_st": MethodInfo(
        name="krr_st",
        summary="KRR-ST (Lee et al. 2024): kernel ridge regression on self-supervised targets",
        settings=KrrStSettings,
        implementation="kdss_bench.methods.krr_st",
        target_kind="features",
        needs_teacher=True,
    ),
    "mkdt": MethodInfo(
        name="mkdt",
        summary="MKDT (Joshi et al. 2025): match trajectories of students distilled from the teacher; 512-d targets",
        settings=MkdtSettings,
        implementation="kdss_bench.methods.mkdt",
        target_kind="features",
        needs_teacher=True,
    ),
    "import": MethodInfo(
        name="import",
        summary="a released distilled set read from x_syn.pt / y_syn.pt, validated on load",
        settings=ImportSetSettings,
        implementation="kdss_bench.methods.import_set",
        target_kind="auto",
        needs_teacher=False,
    ),
    "gaussian": MethodInfo(
        name="gaussian",
        summary="eval: kd baseline: a random-init student distilled on Gaussian noise instead of images",
        settings=NoSettings,
        implementation=None,
        target_kind="none",
        needs_teacher=False,
    ),
    "no_pretrain": MethodInfo(
        name="no_pretrain",
        summary="no pre-training: fine-tune from a random initialisation (the reference row)",
        settings=NoSettings,
        implementation=None,
        target_kind="none",
        needs_teacher=False,
    ),
})


def method_names() -> list[str]:
    return _METHODS.names()


def method_info(name: str) -> MethodInfo:
    """The entry of ``name``; ConfigError (with a did-you-mean) for an unknown one."""
    return _METHODS.get(name)


def needs_teacher(name: str, settings: MethodSettings) -> bool:
    """Whether ``name`` with these settings reads the self-supervised teacher."""
    flag = method_info(name).needs_teacher
    return bool(flag(settings)) if callable(flag) else flag


def load_method(name: str) -> Method | None:
    """The imported implementation of ``name`` (None for a method with nothing to distil)."""
    info = method_info(name)
    return None if info.implementation is None else import_target(info.implementation)
