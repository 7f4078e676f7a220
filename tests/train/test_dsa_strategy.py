"""kdss_bench.train.dsa_strategy: a DSA strategy string names op families; checked without torch."""

from __future__ import annotations

import subprocess
import sys

import pytest

from kdss_bench.errors import ConfigError
from kdss_bench.train.dsa_strategy import DEFAULT_STRATEGY, FAMILY_NAMES, parse_strategy


def test_strategies_split_into_families_in_their_order():
    assert parse_strategy(DEFAULT_STRATEGY) == ("color", "crop", "cutout", "flip", "scale", "rotate")
    assert parse_strategy("rotate_color") == ("rotate", "color")
    assert set(FAMILY_NAMES) == set(parse_strategy(DEFAULT_STRATEGY))


@pytest.mark.parametrize("nothing", ["", "none", "None"])
def test_none_means_no_augmentation(nothing):
    assert parse_strategy(nothing) == ()


@pytest.mark.parametrize(("strategy", "unknown"), [("color_blur", "blur"), ("Color", "Color"), ("crop__flip", "")])
def test_an_unknown_family_names_itself_and_the_valid_ones(strategy, unknown):
    with pytest.raises(ConfigError) as caught:
        parse_strategy(strategy)
    message = str(caught.value)
    assert f"unknown op family {unknown!r}" in message and "color, crop, cutout, flip, scale, rotate" in message


def test_parsing_does_not_import_torch():
    code = "import sys; from kdss_bench.train.dsa_strategy import parse_strategy; parse_strategy('color'); " \
           "print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == "False"
