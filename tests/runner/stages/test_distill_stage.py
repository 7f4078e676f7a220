"""kdss_bench.runner.stages.distill_stage: the method run once on the source, its set cached with what it cost,
its progress previewed in the owner cell's folder."""

from __future__ import annotations

import logging
import shutil

import numpy as np
import torch

from kdss_bench.methods.distilled_set import DistilledSet
from kdss_bench.runner.stages import distill_stage
from kdss_bench.runner.stages.distill_stage import previewing, write_images_preview
from kdss_bench.store.preview_file import PREVIEW_COUNT, read_preview
from kdss_bench.store.run_dir import RunDir
from tests.runner.conftest import Emits, job_for, node_of
from tests.runner.stages.conftest import workspace_of


def test_it_distils_the_same_set_again_and_caches_it_with_its_cost(tiny_done):
    plan, results = tiny_done.plan, tiny_done.results
    node = plan.nodes[node_of(plan, "distill")]
    folder = results / ".cache" / "distill" / node.key
    before = DistilledSet.load(folder)
    shutil.rmtree(folder)
    preview = RunDir(results, "tiny", node.owner).preview_path
    preview.unlink()
    job = job_for(plan, node.id, results, where={"worker": "w1"})
    ws, emits = workspace_of(job), Emits()
    record = distill_stage.run(ws, job, emits)

    again = ws.cache.load("distill", node.key, DistilledSet.load)
    torch.testing.assert_close(again.images, before.images)  # same seed, same teacher: the same set
    torch.testing.assert_close(again.targets, before.targets)
    assert again.target_kind == "features" and again.images.shape[0] == node.params["budget"] == 12
    assert again.manifest["cost"]["peak_memory_mb"] == record.peak_memory_mb
    assert ws.cache.read_stage_record("distill", node.key)["key"] == node.key == record.key

    kinds = emits.kinds("distill")
    assert kinds[0] == "start" and kinds[-1] == "end" and "progress" in kinds
    assert emits.events[0][4] == {"cached": False, "key": node.key, "worker": "w1"}
    end = emits.events[-1][4]
    assert end["wall_time_s"] == record.wall_time_s
    assert end["distill_wall_time_s"] == again.manifest["cost"]["wall_time_s"]
    images, step, total = read_preview(preview)
    assert images.shape == (12, 16, 16, 3) and step == total == 4, "the last preview: all 4 outer steps"


def test_a_preview_without_a_step_takes_the_latest_events(tmp_path):
    emits = Emits()
    path = tmp_path / "cell" / "preview.npz"
    path.parent.mkdir()  # the job has written the cell's events there by now
    emit, preview = previewing(emits("distill"), path)
    emit("progress", step=3, total=10, loss=0.5)
    emit("metric", lr=0.1)  # no step: the last one stays
    preview(torch.zeros(2, 3, 4, 4))
    assert read_preview(path)[1:] == (3, 10)
    preview(torch.zeros(2, 3, 4, 4), step=7, total=9)
    assert read_preview(path)[1:] == (7, 9)
    assert emits.events == [("distill", "progress", 3, 10, {"loss": 0.5}), ("distill", "metric", None, None,
                                                                             {"lr": 0.1})]


def test_only_the_first_images_are_previewed_and_a_preview_never_fails_the_stage(tmp_path, caplog):
    path = tmp_path / "preview.npz"
    write_images_preview(path, torch.rand(PREVIEW_COUNT + 5, 3, 4, 4, requires_grad=True), 1, 2)
    assert read_preview(path)[0].shape == (PREVIEW_COUNT, 4, 4, 3)
    write_images_preview(tmp_path / "flat.npz", torch.zeros(4, 16), 1, 2)  # features, not images
    assert not (tmp_path / "flat.npz").exists()
    blocked = tmp_path / "a-file"
    blocked.write_text("")
    with caplog.at_level(logging.WARNING, logger="kdss_bench.runner.stages.distill_stage"):
        write_images_preview(blocked / "preview.npz", torch.zeros(2, 3, 4, 4), 1, 2)
    assert "not written" in caplog.text and np.load(path)["step"] == 1
