"""Names of DSA op families and how a strategy string spells them, without torch.

A suite names DSA strategies (``pretrain_classifier.dsa_strategy: color_crop``); checking one
while validating a suite must not import torch, so the names live here and
:mod:`kdss_bench.train.dsa_augment` maps each to its ops.
"""

from __future__ import annotations

from kdss_bench.errors import ConfigError

FAMILY_NAMES = ("color", "crop", "cutout", "flip", "scale", "rotate")
DEFAULT_STRATEGY = "color_crop_cutout_flip_scale_rotate"


def parse_strategy(strategy: str) -> tuple[str, ...]:
    """``"color_crop"`` -> ("color", "crop"); "", "none" or "None" -> () (no augmentation)."""
    if strategy in ("", "none", "None"):
        return ()
    families = tuple(strategy.split("_"))
    unknown = [f for f in families if f not in FAMILY_NAMES]
    if unknown:
        raise ConfigError(
            f"DSA strategy {strategy!r}: unknown op family {unknown[0]!r}; join names from "
            f"{', '.join(FAMILY_NAMES)} with '_' (e.g. {DEFAULT_STRATEGY!r}) or pass 'none'"
        )
    return families
