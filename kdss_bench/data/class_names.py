"""Unique class names for ImageNet-derived sets, whose WordNet names can repeat (two 'crane' synsets)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence


def unique_class_names(names: Sequence[str], ids: Sequence[str]) -> list[str]:
    """``names[k]``, or ``'<name> (<ids[k]>)'`` where that name is shared by several classes.

    ImageNet's 1000 classes hold two 'crane's (bird, machine) and two 'maillot's; an
    :class:`~kdss_bench.data.image_set.ImageSet` needs distinct names, so repeats carry their id.
    """
    counts = Counter(names)
    return [name if counts[name] == 1 else f"{name} ({ident})" for name, ident in zip(names, ids, strict=True)]
