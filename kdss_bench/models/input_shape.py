"""Input-shape checks shared by the model families.

The official models size their linear head from the input resolution, so a too-small input
fails deep inside ``nn.Linear`` with a shape error. Checking up front turns that into a
one-line :class:`ModelError` that names the model, the shape and the minimum size.
"""

from __future__ import annotations

from kdss_bench.errors import ModelError


def validate_in_shape(model_name: str, in_shape: tuple[int, int, int], min_size: int) -> tuple[int, int, int]:
    """Return ``in_shape`` as a tuple of ints, or raise if it is not (C, H, W) with H, W >= ``min_size``."""
    try:
        channels, height, width = (int(v) for v in in_shape)
    except (TypeError, ValueError):
        raise ModelError(
            f"model {model_name!r}: in_shape must be (channels, height, width), got {in_shape!r}"
        ) from None
    if channels < 1:
        raise ModelError(
            f"model {model_name!r}: in_shape {in_shape!r} has no channels; pass e.g. (3, 32, 32)"
        )
    if height < min_size or width < min_size:
        raise ModelError(
            f"model {model_name!r} needs inputs of at least {min_size}x{min_size} pixels, "
            f"got {height}x{width}; "
            "use a larger resolution or a shallower model"
        )
    return channels, height, width


def pooled_size(size: int, num_halvings: int) -> int:
    """Spatial size after ``num_halvings`` 2x2/stride-2 poolings (floor, as PyTorch pools do)."""
    for _ in range(num_halvings):
        size //= 2
    return size
