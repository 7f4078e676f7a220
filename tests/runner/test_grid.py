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
