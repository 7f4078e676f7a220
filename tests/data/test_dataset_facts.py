"""Class and image counts known before loading: the table agrees with the descriptions and the real sets."""

from __future__ import annotations

import re

import numpy as np
import pytest

from kdss_bench.data.dataset_facts import BUILTIN_SIZES, DatasetFacts, dataset_facts
from kdss_bench.data.registry import BUNDLED_SETS, NPZ_SETS, dataset_names, describe_dataset, load_dataset


def test_every_built_in_set_has_counts_that_its_description_states():
    assert set(BUILTIN_SIZES) == set(dataset_names())
    for name, (classes, train) in BUILTIN_SIZES.items():
        text = describe_dataset(name).replace(",", "")
        assert re.search(rf"\b{classes} (random |of [0-9]+ )?classes\b", text), (name, text)
        assert re.search(rf"\b{train}\b", text), (name, text)


@pytest.mark.parametrize("name", sorted(BUNDLED_SETS))
def test_bundled_counts_are_the_loaded_sets(name):
    loaded = load_dataset(name, resolution=8)
    facts = dataset_facts(name, data_root=None, declared=None, read_files=True)
    assert facts == DatasetFacts(num_classes=loaded.num_classes, train_images=int(loaded.x_train.shape[0]))


@pytest.mark.data
@pytest.mark.parametrize("name", sorted(NPZ_SETS))
def test_shared_npz_counts_read_from_headers_match_the_table(name, data_root):
    assert dataset_facts(name, data_root=data_root, declared=None, read_files=True) == DatasetFacts(
        *BUILTIN_SIZES[name])


def test_a_declared_npz_is_counted_from_its_headers_only_when_files_may_be_read(tmp_path):
    np.savez(tmp_path / "mine.npz", x_train=np.zeros((7, 8, 8, 3), np.uint8), y_train=np.arange(7) % 2,
             x_test=np.zeros((2, 8, 8, 3), np.uint8), y_test=np.arange(2), classes=np.array(["a", "b"]))
    declared = {"mine": {"format": "npz", "path": str(tmp_path / "mine.npz")}}
    assert dataset_facts("mine", data_root=None, declared=declared, read_files=True) == DatasetFacts(2, 7)
    assert dataset_facts("mine", data_root=None, declared=declared, read_files=False) == DatasetFacts()


def test_a_train_subset_bounds_the_training_images_and_keeps_the_classes():
    declared = {"d5": {"format": "bundled", "name": "digits", "train_per_class": 5},
                "shadow": {"format": "bundled", "name": "lfw_faces"}}
    assert dataset_facts("d5", data_root=None, declared=declared, read_files=False) == DatasetFacts(10, 50)
    assert dataset_facts("shadow", data_root=None, declared=declared, read_files=False) == DatasetFacts(2, 100)


def test_an_image_folder_is_left_to_run_time(tmp_path):
    declared = {"folder": {"format": "imagefolder", "path": str(tmp_path)}}
    assert dataset_facts("folder", data_root=None, declared=declared, read_files=True) == DatasetFacts()
