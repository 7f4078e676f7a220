"""Grid expansion: one cell per method x target x seed, ordered so shared stages are reused."""

from __future__ import annotations

from kdss_bench.config import load_suite
from kdss_bench.runner.grid import expand_grid

from ..conftest import TINY_SUITE


def test_grid_covers_every_combination_in_reuse_order(write_suite):
    suite = load_suite(write_suite(TINY_SUITE.replace("seeds: [0]", "seeds: [0, 3]")))
    cells = expand_grid(suite)
    assert len(cells) == 2 * 2 * 2
    assert [c.id for c in cells[:3]] == ["krr_st__lfw_faces__seed0", "krr_st__textures3__seed0",
                                         "krr_st__lfw_faces__seed3"]
    assert len({c.id for c in cells}) == len(cells)


AXES_SUITE = TINY_SUITE.replace("budget: 12\n", "budgets: [10, 20]\n").replace(
    "model: convnet_8_16_bn\n", "model: convnet_8_16_bn\neval_models: [convnet_8_16_bn, convnet_16_bn]\n")


def test_budgets_and_eval_models_are_axes_named_in_the_ids_and_no_pretrain_has_no_budget(write_suite):
    from kdss_bench.runner.grid import cell_budget, cell_model

    suite = load_suite(write_suite(AXES_SUITE))
    assert suite.all_budgets == (10, 20) and suite.all_eval_models == ("convnet_8_16_bn", "convnet_16_bn")
    cells = expand_grid(suite)
    krr = [c for c in cells if c.method == "krr_st"]
    reference = [c for c in cells if c.method == "no_pretrain"]
    assert len(krr) == 2 * 2 * 2 and len(reference) == 2 * 2, "no_pretrain distils nothing: one cell per model"
    assert krr[0].id == "krr_st__b10__convnet_8_16_bn__lfw_faces__seed0"
    assert reference[0].id == "no_pretrain__convnet_8_16_bn__lfw_faces__seed0"
    assert [cell_budget(suite, c) for c in krr[:5:2]] == [10, 10, 20] and cell_budget(suite, reference[0]) is None
    assert {cell_model(suite, c) for c in cells} == {"convnet_8_16_bn", "convnet_16_bn"}
    assert len({c.id for c in cells}) == len(cells)


def test_a_suite_without_the_axes_keeps_its_ids(write_suite):
    suite = load_suite(write_suite())
    assert suite.budgets == () and suite.eval_models == ()
    assert [c.id for c in expand_grid(suite)][0] == "krr_st__lfw_faces__seed0"
