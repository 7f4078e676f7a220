"""Weights files: read safely (weights_only), unwrapped, compared with a model; written atomically."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from kdss_bench.errors import CheckpointError
from kdss_bench.models.state_dict_file import read_state_dict, save_state_dict, state_dict_problems


def test_a_saved_state_reads_back_equal_and_on_the_cpu(tmp_path):
    state = nn.Linear(3, 2).state_dict()
    path = save_state_dict(state, tmp_path / "deep" / "w.pt")
    loaded = read_state_dict(path, "weights")
    assert set(loaded) == {"weight", "bias"}
    assert all(torch.equal(loaded[k], state[k]) and loaded[k].device.type == "cpu" for k in state)
    assert [p.name for p in path.parent.iterdir()] == ["w.pt"]  # no temporary file left


@pytest.mark.parametrize("wrapper", ["state_dict", "model"])
def test_a_state_under_a_wrapper_key_is_unwrapped(tmp_path, wrapper):
    torch.save({wrapper: {"w": torch.ones(2)}, "epoch": 3}, tmp_path / "c.pt")
    assert torch.equal(read_state_dict(tmp_path / "c.pt", "weights")["w"], torch.ones(2))


def test_a_pickled_module_is_refused_not_executed(tmp_path):
    torch.save(nn.Linear(2, 2), tmp_path / "m.pt")
    with pytest.raises(CheckpointError, match=r"^my teacher .*m\.pt cannot be read as a plain tensor state dict"):
        read_state_dict(tmp_path / "m.pt", "my teacher")


def test_an_empty_file_says_so_on_one_line(tmp_path):
    (tmp_path / "e.pt").write_bytes(b"")
    with pytest.raises(CheckpointError) as caught:
        read_state_dict(tmp_path / "e.pt", "weights")
    assert "\n" not in str(caught.value)


def test_a_mapping_of_non_tensors_is_not_a_state_dict(tmp_path):
    torch.save({"lr": 0.1}, tmp_path / "x.pt")
    with pytest.raises(CheckpointError, match="does not hold a state dict"):
        read_state_dict(tmp_path / "x.pt", "weights")


def test_problems_name_missing_unexpected_and_mismatched_keys():
    model = nn.Sequential(nn.Linear(3, 2), nn.Linear(2, 1))
    state = dict(model.state_dict())
    assert state_dict_problems(model, state) == ([], [], [])
    damaged = {k: v for k, v in state.items() if k != "1.bias"} | {"extra": torch.zeros(1)}
    missing, unexpected, problems = state_dict_problems(model, damaged)
    assert missing == ["1.bias"] and unexpected == ["extra"]
    assert problems == ["missing keys 1.bias", "unexpected keys extra"]
    wrong = {**state, "0.weight": torch.zeros(5, 5)}
    assert state_dict_problems(model, wrong)[2] == ["shape mismatches (file vs model) 0.weight (5, 5) vs (2, 3)"]
