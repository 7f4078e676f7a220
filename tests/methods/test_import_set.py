"""The ``import`` method: released x_syn.pt / y_syn.pt read safely and validated against the suite."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from kdss_bench.data.registry import load_dataset
from kdss_bench.errors import CheckpointError, ConfigError
from kdss_bench.methods import import_set
from kdss_bench.methods.context import DistillContext
from kdss_bench.methods.import_set_settings import ImportSetSettings

BUDGET = 6


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits", resolution=16)


def write_set(folder, x, y):
    folder.mkdir(parents=True, exist_ok=True)
    torch.save(x, folder / "x_syn.pt")
    torch.save(y, folder / "y_syn.pt")
    return folder


def images(m=BUDGET, resolution=16):
    return torch.randn(m, 3, resolution, resolution, generator=torch.Generator().manual_seed(0))


def load(digits, folder, **settings):
    ctx = DistillContext(source=digits, teacher=None, budget=BUDGET, settings=ImportSetSettings(path=str(folder),
                         **settings), model="convnet_8_16_bn", seed=0, device=torch.device("cpu"))
    return import_set.distill(ctx)


def test_a_valid_hard_label_set_is_returned_as_stored(digits, tmp_path):
    x, y = images(), torch.tensor([0, 1, 2, 3, 4, 9])
    result = load(digits, write_set(tmp_path, x, y))
    assert result.target_kind == "hard" and result.size == BUDGET
    assert torch.equal(result.images, x) and torch.equal(result.targets, y)
    manifest = result.manifest
    assert manifest["method"] == "import" and manifest["budget"] == BUDGET and manifest["input_space"] == "normalized"
    assert manifest["imported_from"] == str(tmp_path.resolve()) and len(manifest["files_sha256"]) == 64


@pytest.mark.parametrize("y,kind,setting", [
    (torch.rand(BUDGET, 10), "soft", "auto"),  # one column per digits class
    (torch.rand(BUDGET, 7), "features", "auto"),
    (torch.rand(BUDGET, 10), "features", "features"),
    (torch.tensor([0.0, 1.0, 2.0, 3.0, 4.0, 5.0]), "hard", "auto"),  # whole-number floats, as the official .long()
])
def test_the_target_kind_follows_the_documented_rule(digits, tmp_path, y, kind, setting):
    result = load(digits, write_set(tmp_path, images(), y), target_kind=setting)
    assert result.target_kind == kind
    assert result.targets.dtype == (torch.int64 if kind == "hard" else torch.float32)


def test_raw_input_space_is_recorded(digits, tmp_path):
    result = load(digits, write_set(tmp_path, images().sigmoid(), torch.rand(BUDGET, 7)), input_space="raw")
    assert result.manifest["input_space"] == "raw"


@pytest.mark.parametrize("x,y,fragment", [
    (images(resolution=32), torch.zeros(BUDGET, dtype=torch.int64), r"\(m, 3, 16, 16\) at the suite's resolution"),
    (images()[:, :1], torch.zeros(BUDGET, dtype=torch.int64), "images must be float"),
    (images(), torch.zeros(BUDGET - 1, dtype=torch.int64), "targets for 6 images"),
    (images(), torch.zeros(BUDGET, 2, dtype=torch.int64), "match no kind"),
    (images(), torch.tensor([0.0, 0.5, 1.0, 2.0, 3.0, 4.0]), "fractional"),
    (images(), torch.tensor([0, 1, 2, 3, 4, 10]), r"\[0, 10\)"),
    (images().index_fill(0, torch.tensor([2]), float("nan")), torch.zeros(BUDGET, dtype=torch.int64), "NaN"),
    (images(), torch.full((BUDGET, 7), float("nan")), "NaN"),
])
def test_malformed_sets_are_rejected(digits, tmp_path, x, y, fragment):
    with pytest.raises(CheckpointError, match=fragment):
        load(digits, write_set(tmp_path, x, y))


def test_soft_targets_must_have_one_column_per_class(digits, tmp_path):
    with pytest.raises(CheckpointError, match="one column per source class"):
        load(digits, write_set(tmp_path, images(), torch.rand(BUDGET, 7)), target_kind="soft")


def test_a_set_of_another_size_than_the_budget_is_a_config_error(digits, tmp_path):
    with pytest.raises(ConfigError, match="holds 8 images but the suite's budget is 6"):
        load(digits, write_set(tmp_path, images(m=8), torch.zeros(8, dtype=torch.int64)))


@pytest.mark.parametrize("payload,fragment", [
    (nn.Linear(2, 2), "cannot be read as a plain tensor"),  # a pickled module: refused by weights_only
    ({"x_syn": torch.zeros(BUDGET, 3, 16, 16)}, "holds a dict, not a plain tensor"),
])
def test_a_pickle_that_is_not_a_plain_tensor_is_refused(digits, tmp_path, payload, fragment):
    folder = write_set(tmp_path, images(), torch.zeros(BUDGET, dtype=torch.int64))
    torch.save(payload, folder / "x_syn.pt")
    with pytest.raises(CheckpointError, match=fragment) as caught:
        load(digits, folder)
    message = str(caught.value)
    assert "\n" not in message and str(folder / "x_syn.pt") in message


def test_a_missing_folder_or_file_is_named(digits, tmp_path):
    with pytest.raises(ConfigError, match="needs settings path"):
        load(digits, "")
    with pytest.raises(ConfigError, match="is not a folder"):
        load(digits, tmp_path / "absent")
    torch.save(images(), tmp_path / "x_syn.pt")
    with pytest.raises(CheckpointError, match="y_syn.pt: not found"):
        load(digits, tmp_path)
