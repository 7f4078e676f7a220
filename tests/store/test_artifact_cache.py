"""Artifacts appear whole or not at all, under a key that changes with their inputs."""

from __future__ import annotations

import pytest

from kdss_bench.store.artifact_cache import ArtifactCache, content_key


def test_key_is_stable_and_sensitive_to_every_part():
    a = content_key({"stage": "distill", "budget": 500, "settings": {"lr": 1e-3}})
    assert a == content_key({"settings": {"lr": 1e-3}, "budget": 500, "stage": "distill"})
    assert a != content_key({"stage": "distill", "budget": 501, "settings": {"lr": 1e-3}})
    assert a != content_key({"stage": "distill", "budget": 500, "settings": {"lr": 2e-3}})


def test_completed_artifact_is_visible_under_its_key(tmp_path):
    cache = ArtifactCache(tmp_path)
    assert not cache.has("distill", "k1")
    with cache.create("distill", "k1") as folder:
        (folder / "data.bin").write_bytes(b"x")
        assert not cache.has("distill", "k1"), "invisible until complete"
    assert cache.has("distill", "k1") and (cache.folder("distill", "k1") / "data.bin").read_bytes() == b"x"


def test_failed_stage_leaves_nothing_and_keeps_resumable_work(tmp_path):
    cache = ArtifactCache(tmp_path)
    work = cache.work_dir("distill", "k2")
    work.mkdir(parents=True)
    (work / "checkpoint.pt").write_bytes(b"state")
    with pytest.raises(KeyboardInterrupt):
        with cache.create("distill", "k2") as folder:
            (folder / "half").write_bytes(b"...")
            raise KeyboardInterrupt
    assert not cache.has("distill", "k2")
    assert [p.name for p in (tmp_path / "distill").iterdir()] == ["k2.work"], "no temporary folder left"
    assert (work / "checkpoint.pt").exists(), "the checkpoint survives for the resumed run"
    with cache.create("distill", "k2"):
        pass
    assert not work.exists(), "scratch space is removed once the artifact is complete"
