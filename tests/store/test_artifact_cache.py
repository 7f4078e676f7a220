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


def test_every_file_is_checksummed_and_a_flipped_byte_is_found(tmp_path):
    cache = ArtifactCache(tmp_path)
    with cache.create("distill", "k") as folder:
        (folder / "data.bin").write_bytes(b"x" * 1000)
        (folder / "sub").mkdir()
        (folder / "sub" / "more.bin").write_bytes(b"y")
    assert cache.damage("distill", "k") is None and cache.verified("distill", "k") == cache.folder("distill", "k")
    path = cache.folder("distill", "k") / "data.bin"
    path.write_bytes(b"x" * 499 + b"z" + b"x" * 500)  # same size: only the checksum tells
    assert cache.has("distill", "k"), "a look at sizes alone cannot see it"
    assert "does not match the checksum" in cache.damage("distill", "k")


def test_a_damaged_artifact_is_quarantined_with_one_line_and_rebuilt_by_the_next_builder(tmp_path, caplog):
    from kdss_bench.errors import DamagedArtifactError

    cache = ArtifactCache(tmp_path)
    with cache.create("pretrain", "k") as folder:
        (folder / "backbone.safetensors").write_bytes(b"w" * 64)
    (cache.folder("pretrain", "k") / "backbone.safetensors").write_bytes(b"w" * 10)  # truncated
    assert not cache.has("pretrain", "k"), "a truncated file shows in its size"
    with caplog.at_level("WARNING", logger="kdss_bench"), pytest.raises(DamagedArtifactError) as error:
        cache.verified("pretrain", "k")
    assert "backbone.safetensors is 10 bytes, 64 were written" in str(error.value) and "\n" not in str(error.value)
    assert [r.getMessage() for r in caplog.records if "quarantined" in r.getMessage() or "moved to" in
            r.getMessage()], caplog.text
    assert not cache.folder("pretrain", "k").exists() and list((tmp_path / "pretrain").glob("k.broken-*"))
    with cache.create("pretrain", "k") as folder:
        (folder / "backbone.safetensors").write_bytes(b"w" * 64)
    assert cache.damage("pretrain", "k") is None


def test_a_reader_that_fails_marks_the_artifact_damaged_and_names_the_file(tmp_path):
    from safetensors.torch import load_file

    from kdss_bench.errors import DamagedArtifactError

    cache = ArtifactCache(tmp_path)
    with cache.create("pretrain", "k") as folder:
        (folder / "backbone.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(DamagedArtifactError, match=r"pretrain/k is unreadable \(.*Error") as error:
        cache.load("pretrain", "k", lambda folder: load_file(str(folder / "backbone.safetensors")))
    assert "cached pretrain artifact k" in str(error.value)
    assert not cache.has("pretrain", "k")


def test_an_intermediate_that_fails_its_checksums_is_built_again(tmp_path, caplog):
    from kdss_bench.store.artifact_cache import artifact_function

    cache = ArtifactCache(tmp_path)
    artifact = artifact_function(cache)
    builds = []

    def build(folder):
        builds.append(folder)
        (folder / "trajectory.bin").write_bytes(b"t" * 32)

    first = artifact("mtt_experts", {"index": 0}, build)
    (first / "trajectory.bin").write_bytes(b"T" * 32)
    with caplog.at_level("WARNING", logger="kdss_bench"):
        again = artifact("mtt_experts", {"index": 0}, build)
    assert len(builds) == 2 and (again / "trajectory.bin").read_bytes() == b"t" * 32
    assert "it will be rebuilt" in caplog.text
    assert artifact("mtt_experts", {"index": 0}, build) == again and len(builds) == 2, "a sound one is reused"
