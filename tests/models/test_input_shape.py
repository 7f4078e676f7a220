"""kdss_bench.models.input_shape: a too-small or malformed input shape is one line naming the model."""

from __future__ import annotations

import pytest
from torch import nn

from kdss_bench.errors import ModelError
from kdss_bench.models import build_model
from kdss_bench.models.input_shape import pooled_size, validate_in_shape


def test_a_valid_shape_comes_back_as_ints() -> None:
    assert validate_in_shape("m", (3.0, "32", 32), min_size=8) == (3, 32, 32)


@pytest.mark.parametrize(("shape", "fragment"), [
    ((3, 32), "in_shape must be (channels, height, width), got (3, 32)"),
    (None, "in_shape must be (channels, height, width), got None"),
    (("three", 32, 32), "in_shape must be (channels, height, width)"),
    ((0, 32, 32), "has no channels; pass e.g. (3, 32, 32)"),
    ((3, 7, 32), "needs inputs of at least 8x8 pixels, got 7x32; use a larger resolution or a shallower model"),
    ((3, 32, 7), "got 32x7"),
])
def test_bad_shapes_are_model_errors(shape, fragment) -> None:
    with pytest.raises(ModelError) as caught:
        validate_in_shape("vgg11", shape, min_size=8)
    assert str(caught.value).startswith("model 'vgg11'") and fragment in str(caught.value)


def test_pooled_size_floors_like_pytorch() -> None:
    assert [pooled_size(33, k) for k in range(6)] == [33, 16, 8, 4, 2, 1]
    assert pooled_size(7, 3) == 0


def test_non_rgb_inputs_change_the_first_conv_only() -> None:
    for name in ("convnet_8_bn", "resnet10", "vgg11", "alexnet", "mobilenetv2"):
        model = build_model(name, in_shape=(1, 32, 32), num_outputs=2)
        first_conv = next(m for m in model.modules() if isinstance(m, nn.Conv2d))
        assert first_conv.in_channels == 1, name
