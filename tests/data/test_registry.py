"""Dataset names, declared datasets, validation without loading, and the in-process cache."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from kdss_bench.data.registry import (
    cached_dataset_count,
    check_dataset,
    clear_dataset_cache,
    dataset_names,
    describe_dataset,
    load_dataset,
    resolve_dataset,
)
from kdss_bench.errors import ConfigError, DataError

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _empty_cache():
    clear_dataset_cache()
    yield
    clear_dataset_cache()


def _npz(path: Path, value: int = 0, n: int = 4) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(
        path,
        x_train=np.full((n, 6, 6, 3), value, np.uint8),
        y_train=(np.arange(n) % 2).astype(np.uint8),
        x_test=np.full((2, 6, 6), value, np.uint8),
        y_test=np.array([0, 1], np.uint8),
        classes=np.array(["a", "b"]),
    )
    return path


def test_builtin_names_and_descriptions() -> None:
    names = dataset_names()
    for expected in ("cifar10_src", "gtsrb43", "fashion10", "cifar100", "aircraft", "mnist5k", "textures3"):
        assert expected in names
    assert len(names) == len(set(names)) == 22
    assert "gtsrb43.npz" in describe_dataset("gtsrb43")
    assert "offline" in describe_dataset("digits")
    with pytest.raises(ConfigError):
        describe_dataset("nope")


def test_listing_and_describing_do_not_import_torch() -> None:
    code = (
        "import sys; from kdss_bench.data import dataset_names, describe_dataset; "
        "[describe_dataset(n) for n in dataset_names()]; assert 'torch' not in sys.modules, 'torch imported'"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 0, result.stderr


def test_unknown_name_lists_known_and_declared_names() -> None:
    declared = {"mine": {"format": "bundled", "name": "digits"}}
    with pytest.raises(ConfigError) as info:
        check_dataset("cifar11", data_root=None, declared=declared)
    message = str(info.value)
    assert "cifar11" in message and "cifar10_src" in message and "mine" in message


def test_npz_set_needs_a_data_root_and_an_existing_file(tmp_path: Path) -> None:
    with pytest.raises(DataError) as info:
        check_dataset("gtsrb43", data_root=None, declared=None)
    assert "--data-root" in str(info.value) and "gtsrb43.npz" in str(info.value)
    with pytest.raises(DataError) as info:
        check_dataset("gtsrb43", data_root=tmp_path, declared=None)
    assert str(tmp_path / "gtsrb43.npz") in str(info.value)
    _npz(tmp_path / "gtsrb43.npz")
    check_dataset("gtsrb43", data_root=tmp_path, declared=None)
    loaded = load_dataset("gtsrb43", resolution=8, data_root=tmp_path)
    assert loaded.name == "gtsrb43" and loaded.x_train.shape == (4, 3, 8, 8)


def test_torchvision_set_missing_folder_suggests_download(tmp_path: Path) -> None:
    with pytest.raises(DataError) as info:
        check_dataset("cifar100", data_root=tmp_path, declared=None)
    assert "--download" in str(info.value) and str(tmp_path / "cifar100") in str(info.value)
    check_dataset("cifar100", data_root=tmp_path, declared=None, download=True)
    assert resolve_dataset("dtd", data_root=tmp_path).location == (tmp_path / "dtd").resolve()


def test_declared_relative_paths_resolve_against_the_data_root(tmp_path: Path) -> None:
    _npz(tmp_path / "sub" / "mine.npz", value=9)
    declared = {"mine": {"format": "npz", "path": "sub/mine.npz"}}
    check_dataset("mine", data_root=tmp_path, declared=declared)
    images = load_dataset("mine", resolution=6, data_root=tmp_path, declared=declared)
    assert images.name == "mine" and int(images.x_test.max()) == 9
    absolute = {"mine": {"format": "npz", "path": str(tmp_path / "sub" / "mine.npz")}}
    assert (
        resolve_dataset("mine", data_root=None, declared=absolute).location == tmp_path / "sub" / "mine.npz"
    )


def test_declared_imagefolder_and_torchvision_errors(tmp_path: Path) -> None:
    declared = {
        "folder": {"format": "imagefolder", "path": "photos"},
        "tv": {"format": "torchvision", "name": "gtsrb", "root": "tv_root"},
    }
    with pytest.raises(DataError, match="photos"):
        check_dataset("folder", data_root=tmp_path, declared=declared)
    with pytest.raises(DataError, match="tv_root"):
        check_dataset("tv", data_root=tmp_path, declared=declared)
    assert "declared imagefolder" in describe_dataset("folder", declared)


@pytest.mark.parametrize(
    ("entry", "fragment"),
    [
        ("just a string", "mapping"),
        ({"format": "zip", "path": "x"}, "format 'zip'"),
        ({"format": "npz"}, "path:"),
        ({"format": "torchvision", "name": "imagenet"}, "imagenet"),
        ({"format": "bundled", "name": "mnist60k"}, "mnist60k"),
    ],
)
def test_malformed_declarations_are_config_errors(entry, fragment: str) -> None:
    with pytest.raises(ConfigError) as info:
        check_dataset("bad", data_root=None, declared={"bad": entry})
    assert "'bad'" in str(info.value) and fragment in str(info.value)


def test_bundled_sets_need_no_data_root_and_declared_aliases_work() -> None:
    check_dataset("lfw_faces", data_root=None, declared=None)
    declared = {"faces": {"format": "bundled", "name": "lfw_faces"}}
    images = load_dataset("faces", resolution=16, declared=declared)
    assert images.name == "faces" and images.classes == ("face", "not_face")


def test_cache_shares_loads_and_reloads_when_the_key_changes(tmp_path: Path) -> None:
    path = _npz(tmp_path / "fashion10.npz", value=1)
    first = load_dataset("fashion10", resolution=8, data_root=tmp_path)
    assert load_dataset("fashion10", resolution=8, data_root=str(tmp_path)) is first
    assert cached_dataset_count() == 1
    other_resolution = load_dataset("fashion10", resolution=4, data_root=tmp_path)
    assert other_resolution is not first and other_resolution.resolution == 4
    _npz(path, value=2, n=6)
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9))
    changed = load_dataset("fashion10", resolution=8, data_root=tmp_path)
    assert changed is not first and len(changed.y_train) == 6
    _npz(tmp_path / "elsewhere" / "fashion10.npz", value=3)
    elsewhere = load_dataset("fashion10", resolution=8, data_root=tmp_path / "elsewhere")
    assert int(elsewhere.x_train.max()) == 3
    assert cached_dataset_count() == 4
