"""kdss_bench.data.dataset_status: per built-in dataset, are its files there and which caches are usable."""

from __future__ import annotations

import os
import shutil

import pytest

from kdss_bench.data.dataset_status import all_statuses, dataset_status, kind_of
from kdss_bench.data.prepare import prepare_dataset
from kdss_bench.data.registry import ARCHIVE_SETS, BUNDLED_SETS, NPZ_SETS, TORCHVISION_SETS, dataset_names
from kdss_bench.errors import DataError

from .tiny_trees import write_cub2011


def test_kind_of_every_built_in_name():
    kinds = {name: kind_of(name) for name in dataset_names()}
    assert {n for n, k in kinds.items() if k == "npz"} == set(NPZ_SETS)
    assert {n for n, k in kinds.items() if k == "torchvision"} == set(TORCHVISION_SETS)
    assert {n for n, k in kinds.items() if k == "archive"} == set(ARCHIVE_SETS)
    assert {n for n, k in kinds.items() if k == "bundled"} == set(BUNDLED_SETS)
    with pytest.raises(DataError, match="dataset 'mine' is not built in"):
        kind_of("mine")


def test_an_npz_set_is_there_or_not(tmp_path):
    status = dataset_status("dtd10", tmp_path)
    assert (status.kind, status.present, status.files) == ("npz", False, "no (dtd10.npz not found)")
    (tmp_path / "dtd10.npz").write_bytes(b"")
    status = dataset_status("dtd10", tmp_path)
    assert status.present and status.files == "yes" and not status.needs_preparing


def test_a_bundled_set_comes_with_its_package(tmp_path):
    status = dataset_status("digits", tmp_path)  # scikit-learn ships it
    assert (status.kind, status.present, status.files) == ("bundled", True, "yes (installed package)")


def test_an_archive_set_goes_from_missing_to_partial_to_present_to_prepared(tmp_path):
    status = dataset_status("cub2011", tmp_path)
    assert (status.present, status.files, status.prepared, status.needs_preparing) == (False, "no", (), False)

    base = write_cub2011(tmp_path / "cub2011")
    (base / "classes.txt").unlink()
    status = dataset_status("cub2011", tmp_path)
    assert not status.present and status.files == "partial: 1 of 5 paths missing (CUB_200_2011/classes.txt)"
    for name in ("images.txt", "image_class_labels.txt", "train_test_split.txt"):
        (base / name).unlink()
    assert dataset_status("cub2011", tmp_path).files.startswith("partial: 4 of 5 paths missing (")
    assert dataset_status("cub2011", tmp_path).files.endswith(", ...)"), "more than three are cut"

    shutil.rmtree(tmp_path / "cub2011")
    write_cub2011(tmp_path / "cub2011")
    status = dataset_status("cub2011", tmp_path)
    assert status.present and status.files == "yes" and status.needs_preparing and status.prepared == ()

    assert prepare_dataset("cub2011", tmp_path, [8, 16], verify=False, echo=lambda line: None).status == "prepared"
    status = dataset_status("cub2011", tmp_path)
    assert status.prepared == ((8, "valid", ""), (16, "valid", "")) and not status.needs_preparing


def test_changed_originals_make_the_cache_stale_and_removed_ones_leave_it_detached(tmp_path):
    base = write_cub2011(tmp_path / "cub2011")
    prepare_dataset("cub2011", tmp_path, [8], verify=False, echo=lambda line: None)
    labels = base / "image_class_labels.txt"
    labels.write_text(labels.read_text() + "\n")
    status = dataset_status("cub2011", tmp_path)
    ((resolution, state, reason),) = status.prepared
    assert (resolution, state) == (8, "stale") and "changed since it was prepared" in reason
    assert status.needs_preparing, "a stale cache does not count"

    shutil.rmtree(tmp_path / "cub2011")
    status = dataset_status("cub2011", tmp_path)
    ((_, state, reason),) = status.prepared
    assert state == "detached" and "are gone" in reason
    assert not status.present and status.files == "no" and not status.needs_preparing


def test_a_resolution_folder_without_a_cache_is_not_listed(tmp_path):
    write_cub2011(tmp_path / "cub2011")
    os.makedirs(tmp_path / ".kdss-cache" / "cub2011" / "32")
    assert dataset_status("cub2011", tmp_path).prepared == ()


def test_all_statuses_lists_every_built_in_dataset_in_order(tmp_path):
    statuses = all_statuses(tmp_path)
    assert [s.name for s in statuses] == dataset_names()
    assert {s.name for s in statuses if s.present} == {s for s in BUNDLED_SETS if dataset_status(s, tmp_path).present}
