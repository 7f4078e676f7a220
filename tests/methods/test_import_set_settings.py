"""kdss_bench.methods.import_set_settings: where a released set lives, checked when files may be looked at."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from kdss_bench.errors import ConfigError, SettingError
from kdss_bench.methods.import_set_settings import IMAGES_FILE, TARGETS_FILE, ImportSetSettings, released_folder_problem
from kdss_bench.methods.suite_facts import SuiteFacts

from .settings_reading import read

FACTS = SuiteFacts(budget=10, source="cifar100", num_classes=100, train_images=50_000)


def test_defaults_read_the_kind_and_take_normalised_images():
    s = ImportSetSettings()
    assert (s.path, s.target_kind, s.input_space) == ("", "auto", "normalized")
    assert (IMAGES_FILE, TARGETS_FILE) == ("x_syn.pt", "y_syn.pt")


def test_released_folder_problem(tmp_path):
    assert "needs settings path" in released_folder_problem("")
    (tmp_path / "file.txt").write_text("x")
    assert released_folder_problem(str(tmp_path / "file.txt")).endswith(
        f"path {tmp_path / 'file.txt'} is not a folder; point it at the folder holding x_syn.pt and y_syn.pt")
    assert released_folder_problem(str(tmp_path)) is None


def test_an_unset_path_is_refused_always_a_missing_folder_only_when_files_are_checked(tmp_path):
    with pytest.raises(SettingError) as caught:
        ImportSetSettings().check(FACTS, ("methods", "import"))
    assert caught.value.key == ("methods", "import", "path")
    missing = ImportSetSettings(path=str(tmp_path / "absent"))
    missing.check(FACTS, ("methods", "import"))  # validate --no-check-files: the folder is on another machine
    with pytest.raises(SettingError, match="is not a folder"):
        missing.check(dataclasses.replace(FACTS, check_files=True), ("methods", "import"))
    ImportSetSettings(path=str(tmp_path)).check(dataclasses.replace(FACTS, check_files=True), ("methods", "import"))


def test_the_fingerprint_follows_the_files_contents_not_their_path(tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    for folder in (first, second):
        folder.mkdir()
        torch.save(torch.zeros(2, 3, 4, 4), folder / IMAGES_FILE)
        torch.save(torch.tensor([0, 1]), folder / TARGETS_FILE)
    a, b = ImportSetSettings(path=str(first)), ImportSetSettings(path=str(second))
    assert a.input_fingerprint() == b.input_fingerprint()
    torch.save(torch.tensor([1, 0]), second / TARGETS_FILE)
    changed = b.input_fingerprint()
    assert a.input_fingerprint() != changed
    (second / TARGETS_FILE).unlink()
    assert b.input_fingerprint() not in (changed, a.input_fingerprint()), "a missing file counts as well"


def test_the_identity_leaves_the_folder_out_and_keeps_how_the_set_is_read():
    here = ImportSetSettings(path="/here", target_kind="soft", input_space="raw")
    assert here.identity() == {"target_kind": "soft", "input_space": "raw"} and here.as_dict()["path"] == "/here"
    assert dataclasses.replace(here, path="/there").identity() == here.identity()
    assert dataclasses.replace(here, target_kind="features").identity() != here.identity()
    assert dataclasses.replace(here, input_space="normalized").identity() != here.identity()


def test_kind_and_space_choices_are_enforced_when_read():
    s = read(ImportSetSettings, {"path": "/x", "target_kind": "soft", "input_space": "raw"}, "import")
    assert (s.target_kind, s.input_space) == ("soft", "raw")
    with pytest.raises(ConfigError, match="choose one of: auto, features, hard, soft"):
        read(ImportSetSettings, {"target_kind": "labels"}, "import")
