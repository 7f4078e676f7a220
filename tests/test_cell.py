"""The one codec of cell ids: format and parse are inverse, and other names parse to nothing."""

from __future__ import annotations

import pytest

from kdss_bench.cell import Cell


@pytest.mark.parametrize("cell", [
    Cell("krr_st", "gtsrb43", 0),
    Cell("no_pretrain", "dtd10", 12),
    Cell("krr_st", "gtsrb43", 1, budget=500),
    Cell("random", "cifar10", 2, eval_model="convnet_64_128_256_512_bn"),
    Cell("krr_st", "b100", 3, budget=100, eval_model="vgg11"),  # a target named like a budget stays a target
    Cell("mkdt", "gtsrb43", 0, protocol="mkdt", label_fraction=0.05),
    Cell("krr_st", "fashion10", 1, 500, "vgg11", "krr_st", 1.0),
    Cell("random", "dtd10", 0, label_fraction=0.125),
    Cell("random", "lf5", 0, protocol="mkdt"),  # a target named like a fraction stays a target
])
def test_format_and_parse_are_inverse(cell):
    assert Cell.parse(cell.id) == cell


def test_the_id_names_only_the_axes_the_cell_has():
    assert Cell("krr_st", "gtsrb43", 0).id == "krr_st__gtsrb43__seed0"
    assert Cell("krr_st", "gtsrb43", 0, 500, "vgg11").id == "krr_st__b500__vgg11__gtsrb43__seed0"
    assert Cell("krr_st", "g", 0, None, None, "mkdt", 0.05).id == "krr_st__proto_mkdt__lf0.05__g__seed0"
    assert Cell("krr_st", "g", 0, label_fraction=1.0).id == "krr_st__lf1__g__seed0"


@pytest.mark.parametrize("name", ["_suite", "krr_st__gtsrb43", "krr_st__gtsrb43__s0", "a__b__c__d__e__f__seed0",
                                  "krr_st____seed0", "krr_st__vgg11__resnet10__t__seed0",
                                  "krr_st__lf0.5__proto_mkdt__t__seed0", "krr_st__proto_mkdt__b500__t__seed0",
                                  "krr_st__proto_a__proto_b__t__seed0"])
def test_other_names_parse_to_nothing(name):
    assert Cell.parse(name) is None
