"""Model names: parsing, helpful errors, and a registry that lists names without torch."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import kdss_bench
from kdss_bench.errors import ModelError
from kdss_bench.models.registry import (
    CONVNET_PATTERN,
    build_model,
    check_model_name,
    model_names,
    parse_convnet_name,
)


def test_model_names_cover_every_family() -> None:
    names = model_names()
    for expected in (
        "convnet_128_256_512_bn",
        "convnet_64_128_256_512_bn",
        "resnet10",
        "resnet18",
        "vgg11",
        "alexnet",
        "mobilenetv2",
    ):
        assert expected in names
    for name in names:
        check_model_name(name)


@pytest.mark.parametrize(
    ("name", "widths", "norm"),
    [
        ("convnet_128_256_512_bn", (128, 256, 512), "bn"),
        ("convnet_64_128_256_512_in", (64, 128, 256, 512), "in"),
        ("convnet_8_none", (8,), "none"),
    ],
)
def test_convnet_names_parse_into_widths_and_norm(name: str, widths: tuple[int, ...], norm: str) -> None:
    spec = parse_convnet_name(name)
    assert spec.widths == widths
    assert spec.norm == norm


def test_convnet_norm_choice_builds_the_matching_layer() -> None:
    import torch

    def norm_layers(name: str) -> list[type]:
        model = build_model(name, in_shape=(3, 8, 8), num_outputs=2)
        return [type(block.block[1]) for block in model.layers]

    assert norm_layers("convnet_4_8_bn") == [torch.nn.BatchNorm2d] * 2
    in_layers = build_model("convnet_4_in", in_shape=(3, 8, 8), num_outputs=2).layers[0].block[1]
    assert isinstance(in_layers, torch.nn.InstanceNorm2d) and in_layers.affine
    assert norm_layers("convnet_4_8_none") == [torch.nn.Identity] * 2
    widths = [
        block.block[0].out_channels
        for block in build_model("convnet_4_8_16_bn", in_shape=(3, 8, 8), num_outputs=2).layers
    ]
    assert widths == [4, 8, 16]


@pytest.mark.parametrize(
    ("name", "fragment"),
    [
        ("convnet_128_256", "must end with its norm"),
        ("convnet_bn", "at least one block width"),
        ("convnet_128_x_bn", "'x'"),
        ("convnet_0_bn", "'0'"),
        ("convnet_128_256_gn", "must end with its norm"),
        ("resnet19", "did you mean 'resnet18'"),
        ("ResNet18", "lower case: 'resnet18'"),
        ("vgg", "called 'vgg11' here"),
        ("mobilenet", "called 'mobilenetv2' here"),
        ("transformer", "unknown model 'transformer'"),
    ],
)
def test_bad_names_raise_model_error_naming_the_fix(name: str, fragment: str) -> None:
    with pytest.raises(ModelError) as info:
        check_model_name(name)
    message = str(info.value)
    assert repr(name) in message
    assert fragment in message
    assert "\n" not in message


def test_unknown_name_lists_valid_names_and_the_convnet_pattern() -> None:
    with pytest.raises(ModelError) as info:
        build_model("transformer", num_outputs=10)
    message = str(info.value)
    assert CONVNET_PATTERN in message
    for name in ("resnet10", "resnet18", "vgg11", "alexnet", "mobilenetv2"):
        assert name in message


@pytest.mark.parametrize(
    ("name", "in_shape"),
    [("convnet_8_8_8_bn", (3, 4, 4)), ("vgg11", (3, 28, 28)), ("alexnet", (3, 4, 4))],
)
def test_inputs_too_small_for_the_head_raise_model_error(name: str, in_shape: tuple[int, int, int]) -> None:
    with pytest.raises(ModelError, match="at least"):
        build_model(name, in_shape=in_shape, num_outputs=2)


@pytest.mark.parametrize("bad", [0, -1, 2.0, True])
def test_num_outputs_must_be_a_positive_int(bad: object) -> None:
    with pytest.raises(ModelError, match="num_outputs"):
        build_model("convnet_4_bn", in_shape=(3, 8, 8), num_outputs=bad)  # type: ignore[arg-type]


def test_listing_and_checking_names_does_not_import_torch() -> None:
    code = (
        "import sys; from kdss_bench.models import model_names, check_model_name; "
        "[check_model_name(n) for n in model_names()]; "
        "sys.exit(1 if 'torch' in sys.modules else 0)"
    )
    repo_root = Path(kdss_bench.__file__).resolve().parent.parent
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(repo_root), os.environ.get("PYTHONPATH")])),
    }
    assert subprocess.run([sys.executable, "-c", code], check=False, env=env).returncode == 0
