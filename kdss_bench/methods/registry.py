"""The method registry: names -> settings class and implementation, imported lazily.

Listing methods or validating a suite must not import torch, so each entry names its
implementation as ``"module:attribute"`` and :func:`load_method` imports it on first use.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from kdss_bench.errors import ConfigError
from kdss_bench.methods.settings import KrrStSettings, MethodSettings, NoSettings


@dataclass(frozen=True)
class MethodInfo:
    name: str
    summary: str
    settings: type[MethodSettings]
    implementation: str | None  # "module:attribute" of a Method class; None = nothing to distil
    target_kind: str  # "features" | "hard" | "soft" | "none"
    needs_teacher: bool


_METHODS: dict[str, MethodInfo] = {
    "krr_st": MethodInfo(
        name="krr_st",
        summary="KRR-ST (Lee et al. 2024): kernel ridge regression on self-supervised targets",
        settings=KrrStSettings,
        implementation="kdss_bench.methods.krr_st:KrrSt",
        target_kind="features",
        needs_teacher=True,
    ),
    "no_pretrain": MethodInfo(
        name="no_pretrain",
        summary="no pre-training: fine-tune from a random initialisation (the reference row)",
        settings=NoSettings,
        implementation=None,
        target_kind="none",
        needs_teacher=False,
    ),
}


def method_names() -> list[str]:
    return list(_METHODS)


def method_info(name: str) -> MethodInfo:
    try:
        return _METHODS[name]
    except KeyError:
        raise ConfigError(f"unknown method '{name}'; registered methods: {', '.join(_METHODS)}") from None


def load_method(name: str):
    """Import and instantiate the implementation of ``name`` (None for no_pretrain)."""
    info = method_info(name)
    if info.implementation is None:
        return None
    module_name, attribute = info.implementation.split(":")
    return getattr(importlib.import_module(module_name), attribute)()
