"""kdss_bench.runner.workspace: a stage job's view of the suite's datasets, the artifact cache and teachers,
each teacher loaded once per process and device."""

from __future__ import annotations

import shutil

import pytest
import torch

from kdss_bench.config import load_suite
from kdss_bench.data.registry import load_dataset
from kdss_bench.errors import CheckpointError, DamagedArtifactError
from kdss_bench.runner import workspace
from kdss_bench.runner.workspace import CACHE_FOLDER, Workspace
from kdss_bench.teacher.backbone import build_teacher_backbone
from kdss_bench.teacher.checkpoint import save_teacher_checkpoint
from tests.conftest import TINY_SUITE

from .conftest import node_of

TEACHER_LINE = TINY_SUITE[TINY_SUITE.index("teacher:"):TINY_SUITE.index("methods:")]


@pytest.fixture(autouse=True)
def _no_loaded_teachers(monkeypatch):
    monkeypatch.setattr(workspace, "_TEACHERS", {})


def test_the_suites_datasets_at_its_resolution_and_the_cache_under_the_results(tiny_plan, tmp_path):
    suite, _ = tiny_plan
    ws = Workspace(suite, str(tmp_path / "results"), torch.device("cpu"))
    assert ws.in_shape == (3, 16, 16) and ws.cache.root == tmp_path / "results" / CACHE_FOLDER
    assert ws.source.name == "digits" and ws.source.resolution == 16
    assert ws.source.fingerprint() == load_dataset("digits", resolution=16).fingerprint()
    assert ws.image_set("textures3").x_train.shape[1:] == (3, 16, 16)
    assert ws.image_set("textures3") is ws.image_set("textures3"), "datasets are read once per process"


def test_a_trained_teacher_is_read_from_the_cache_once_frozen_and_channels_last(tiny_done):
    plan, results = tiny_done.plan, tiny_done.results
    key = plan.nodes[node_of(plan, "teacher")].key
    ws = Workspace(tiny_done.suite, results, torch.device("cpu"))
    teacher = ws.teacher(key)
    assert not teacher.training and all(not p.requires_grad for p in teacher.parameters())
    conv = next(p for p in teacher.parameters() if p.ndim == 4)
    assert conv.is_contiguous(memory_format=torch.channels_last)
    other = Workspace(tiny_done.suite, results, torch.device("cpu"))
    assert other.teacher(key) is teacher, "loaded once per process, whichever job asks"
    shutil.rmtree(results / CACHE_FOLDER / "teacher" / key)
    assert other.teacher(key) is teacher, "a loaded teacher is not read again"


def test_a_damaged_trained_teacher_is_quarantined_for_a_rebuild(tiny_done):
    plan, results = tiny_done.plan, tiny_done.results
    key = plan.nodes[node_of(plan, "teacher")].key
    (results / CACHE_FOLDER / "teacher" / key / "teacher.pt").write_bytes(b"torn")
    with pytest.raises(DamagedArtifactError):
        Workspace(tiny_done.suite, results, torch.device("cpu")).teacher(key)
    assert not (results / CACHE_FOLDER / "teacher" / key).exists()


def test_a_checkpoint_teacher_is_the_users_file_and_its_problems_are_theirs(write_suite, tmp_path):
    torch.manual_seed(0)
    backbone = build_teacher_backbone("convnet_8_16_bn", (3, 16, 16))
    save_teacher_checkpoint(backbone, tmp_path / "t.pt")
    text = TINY_SUITE.replace(TEACHER_LINE, f"teacher: {{checkpoint: {tmp_path / 't.pt'}, arch: convnet_8_16_bn}}\n")
    suite = load_suite(write_suite(text))
    ws = Workspace(suite, tmp_path / "results", torch.device("cpu"))
    teacher = ws.teacher("any-key")
    for mine, loaded in zip(backbone.state_dict().values(), teacher.state_dict().values(), strict=True):
        assert torch.equal(mine, loaded)
    (tmp_path / "t.pt").write_bytes(b"torn")
    with pytest.raises(CheckpointError) as caught:
        Workspace(suite, tmp_path / "results", torch.device("cpu")).teacher("another-key")
    assert not isinstance(caught.value, DamagedArtifactError), "the user's file is not quarantined"
    assert (tmp_path / "t.pt").exists()
