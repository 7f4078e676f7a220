"""kdss_bench.bench.scheduler_overhead: the machinery's cost per stage, from a run of many one-step stages."""

from __future__ import annotations

import json

import pytest

from kdss_bench.bench.scheduler_overhead import TINY_STAGES_SUITE, scheduler_overhead


def test_the_inline_figures_add_up(tmp_path):
    report = scheduler_overhead("inline", stages=2, workers=1, root=tmp_path)
    assert (report["executor"], report["stages"], report["slots"]) == ("inline", 2, 1)
    for key in ("wall_s", "startup_s", "shutdown_s", "work_s", "overhead_per_stage_s"):
        assert report[key] >= 0, key
    assert report["work_s"] > 0
    assert report["startup_s"] + report["shutdown_s"] + report["work_s"] <= report["wall_s"] + 0.01
    cells = sorted(p.name for p in (tmp_path / "results-inline" / "tiny-stages").iterdir()
                   if not p.name.startswith("_"))
    assert cells == ["no_pretrain__lfw_faces__seed0", "no_pretrain__lfw_faces__seed1"]
    work = sum(json.loads((tmp_path / "results-inline" / "tiny-stages" / c / "result.json").read_text())
               ["eval_wall_time_s"] for c in cells)
    assert report["work_s"] == pytest.approx(work, abs=1e-3), "work is the stages' own evaluation time"
    assert "seeds: [0, 1]" in (tmp_path / "tiny-stages.yaml").read_text()


def test_the_suite_is_one_step_per_stage_without_a_teacher_stage():
    text = TINY_STAGES_SUITE.format(seeds=[0, 1, 2])
    assert "methods: [no_pretrain]" in text and "finetune: {iterations: 1, batch_size: 4}" in text
    assert "seeds: [0, 1, 2]" in text
