"""The prepared cache: written once per resolution, read back tensor for tensor, invalidated by edited sources."""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from kdss_bench.data import prepared_cache
from kdss_bench.data.dataset_sources import PAPER_RESOLUTIONS, SOURCES
from kdss_bench.data.image_set import ImageSet
from kdss_bench.data.prepare import prepare_dataset
from kdss_bench.data.prepared_cache import cache_folder, cache_state
from kdss_bench.data.registry import (
    DatasetSource,
    check_dataset,
    clear_dataset_cache,
    load_dataset,
    read_source,
    resolve_dataset,
)
from tests.data.tiny_trees import WRITERS, flowers_md5s, jpeg, write_cub2011

pytestmark = pytest.mark.usefixtures("fresh_datasets")


def _write(name: str, root: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    location = root / name
    WRITERS[name](location)
    if name == "flowers102":  # torchvision checks the official md5s of the two .mat files: accept the tiny ones
        from torchvision.datasets import Flowers102

        monkeypatch.setattr(Flowers102, "_file_dict", flowers_md5s(location))
    return location


def _original(name: str, location: Path, resolution: int) -> ImageSet:
    spec = SOURCES[name]
    return read_source(DatasetSource(name, spec.format, location, variant=name), resolution)


def _fresh_fingerprint(images: ImageSet) -> str:
    """The fingerprint computed from the tensors themselves (not the one the cache carries)."""
    return ImageSet(images.name, images.x_train, images.y_train, images.x_test, images.y_test, images.classes,
                    images.mean, images.std).fingerprint()


def _assert_same(cached: ImageSet, original: ImageSet) -> None:
    for key in ("x_train", "y_train", "x_test", "y_test"):
        a, b = getattr(cached, key), getattr(original, key)
        assert a.dtype == b.dtype and a.shape == b.shape and torch.equal(a, b), key
    assert cached.classes == original.classes and cached.name == original.name
    assert cached.mean == original.mean and cached.std == original.std
    assert cached.fingerprint() == original.fingerprint() == _fresh_fingerprint(cached)


@pytest.mark.parametrize("name", list(WRITERS))
def test_every_reader_prepares_a_cache_that_loads_the_same_set_without_the_originals(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    location = _write(name, tmp_path, monkeypatch)
    originals = {r: _original(name, location, r) for r in PAPER_RESOLUTIONS}
    outcome = prepare_dataset(name, tmp_path, PAPER_RESOLUTIONS, verify=False, echo=lambda line: None)
    assert outcome.status == "prepared" and outcome.resolutions == list(PAPER_RESOLUTIONS)
    for resolution in PAPER_RESOLUTIONS:
        folder = tmp_path / ".kdss-cache" / name / str(resolution)
        assert sorted(p.name for p in folder.iterdir()) == [
            "manifest.json", "x_test.npy", "x_train.npy", "y_test.npy", "y_train.npy"]
        assert cache_state(SOURCES[name], location, resolution).status == "valid"
        _assert_same(load_dataset(name, resolution=resolution, data_root=tmp_path), originals[resolution])

    # The cache no longer needs the originals: moved away, the set still loads (and validates), unchanged.
    location.rename(tmp_path / f"{name}.moved")
    clear_dataset_cache()
    for resolution in PAPER_RESOLUTIONS:
        check_dataset(name, data_root=tmp_path, resolution=resolution)
        _assert_same(load_dataset(name, resolution=resolution, data_root=tmp_path), originals[resolution])


def test_a_declared_alias_reads_the_same_cache_under_its_own_name(tmp_path: Path, monkeypatch) -> None:
    location = _write("cifar10", tmp_path, monkeypatch)
    prepare_dataset("cifar10", tmp_path, [32], verify=False, echo=lambda line: None)
    shutil.rmtree(location)
    declared = {"mine": {"format": "torchvision", "name": "cifar10"}, "few": {
        "format": "torchvision", "name": "cifar10", "train_per_class": 1}}
    images = load_dataset("mine", resolution=32, data_root=tmp_path, declared=declared)
    assert images.name == "mine" and len(images.y_train) == 10
    assert images.fingerprint() == _fresh_fingerprint(images)  # not the built-in name's fingerprint
    assert len(load_dataset("few", resolution=32, data_root=tmp_path, declared=declared).y_train) == 10


def test_an_edited_source_file_invalidates_the_cache(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    base = write_cub2011(tmp_path / "cub2011")
    prepare_dataset("cub2011", tmp_path, [16], verify=False, echo=lambda line: None)
    cached = load_dataset("cub2011", resolution=16, data_root=tmp_path)
    image = next((base / "images").rglob("*.jpg"))
    before = image.stat()
    jpeg(image, (0, 255, 0), size=12)  # same name, new pixels
    os.utime(image, ns=(before.st_atime_ns, before.st_mtime_ns + 10**9))
    state = cache_state(SOURCES["cub2011"], tmp_path / "cub2011", 16)
    assert state.status == "stale" and "changed since it was prepared" in state.reason
    clear_dataset_cache()
    with caplog.at_level(logging.WARNING, logger="kdss_bench"):
        reread = load_dataset("cub2011", resolution=16, data_root=tmp_path)
    assert not torch.equal(reread.x_train, cached.x_train)  # the edit is seen: the originals were read
    assert [r.message for r in caplog.records if "out of date" in r.message] and "data prepare cub2011" in caplog.text
    _assert_same(reread, _original("cub2011", tmp_path / "cub2011", 16))
    lines: list[str] = []
    prepare_dataset("cub2011", tmp_path, [16], verify=False, echo=lines.append)
    assert any("out of date" in line for line in lines)
    assert cache_state(SOURCES["cub2011"], tmp_path / "cub2011", 16).status == "valid"


def test_an_added_or_removed_file_and_new_decoders_invalidate_it(tmp_path: Path, monkeypatch) -> None:
    location = _write("imagenet64", tmp_path, monkeypatch)
    spec = SOURCES["imagenet64"]
    prepare_dataset("imagenet64", tmp_path, [8], verify=False, echo=lambda line: None)
    assert cache_state(spec, location, 8).status == "valid"
    (location / "map_clsloc.txt").write_text("n0 1 x\n")  # optional, but it renames the classes
    assert cache_state(spec, location, 8).status == "stale"
    (location / "map_clsloc.txt").unlink()
    assert cache_state(spec, location, 8).status == "valid"
    monkeypatch.setattr(prepared_cache, "decoder_versions", lambda: {"torch": "0.0", "torchvision": "0.0",
                                                                      "pillow": "0.0"})
    state = cache_state(spec, location, 8)
    assert state.status == "stale" and "other decoders" in state.reason and "torch" in state.reason


def test_a_damaged_or_half_written_cache_is_not_used(tmp_path: Path, monkeypatch) -> None:
    location = _write("cifar10", tmp_path, monkeypatch)
    spec = SOURCES["cifar10"]
    prepare_dataset("cifar10", tmp_path, [32], verify=False, echo=lambda line: None)
    folder = cache_folder(location, "cifar10", 32)
    with open(folder / "x_train.npy", "r+b") as stream:
        stream.truncate(100)
    state = cache_state(spec, location, 32)
    assert state.status == "absent" and "wrong size" in state.reason
    assert len(load_dataset("cifar10", resolution=32, data_root=tmp_path).y_train) == 10  # from the originals

    calls = []
    real_save = np.save

    def failing_save(file, array, **kwargs):
        calls.append(array.shape)
        if len(calls) == 3:
            raise OSError("interrupted")
        real_save(file, array, **kwargs)

    monkeypatch.setattr(np, "save", failing_save)
    with pytest.raises(OSError, match="interrupted"):
        prepare_dataset("cifar10", tmp_path, [32], verify=False, echo=lambda line: None)
    assert not (folder / "manifest.json").exists() and not list(folder.glob(".*.tmp"))
    assert cache_state(spec, location, 32).status == "absent"
    (folder / "manifest.json").write_text("{not json")
    assert cache_state(spec, location, 32).status == "absent"


def test_detached_cache_when_the_originals_are_gone(tmp_path: Path, monkeypatch) -> None:
    location = _write("dogs", tmp_path, monkeypatch)
    prepare_dataset("dogs", tmp_path, [8], verify=False, echo=lambda line: None)
    shutil.rmtree(location)
    state = cache_state(SOURCES["dogs"], location, 8)
    assert state.status == "detached" and state.usable
    # Only at a prepared resolution: at another one the originals are needed, and validation says so.
    check_dataset("dogs", data_root=tmp_path, resolution=8)
    with pytest.raises(Exception, match="run kdss-bench data prepare dogs"):
        check_dataset("dogs", data_root=tmp_path, resolution=16)
    lines: list[str] = []
    outcome = prepare_dataset("dogs", tmp_path, [8], verify=False, echo=lines.append)
    assert outcome.status == "prepared" and "stands in for them" in lines[-1]


def test_resolving_does_not_look_at_a_cache_for_other_folders(tmp_path: Path, monkeypatch) -> None:
    """A declared torchvision root that is not <root>/<name> keeps the plain reader (no cache, old checks)."""
    location = _write("cifar10", tmp_path, monkeypatch)
    prepare_dataset("cifar10", tmp_path, [32], verify=False, echo=lambda line: None)
    declared = {"tv": {"format": "torchvision", "name": "cifar10", "root": str(tmp_path / "elsewhere")}}
    source = resolve_dataset("tv", data_root=tmp_path, declared=declared)
    assert source.location == (tmp_path / "elsewhere").resolve()
    with pytest.raises(Exception, match="--download"):
        load_dataset("tv", resolution=32, data_root=tmp_path, declared=declared)
    assert location.is_dir()
