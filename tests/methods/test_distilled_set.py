"""kdss_bench.methods.distilled_set: what a distilled set may hold, its save/load round trip and bad files."""

from __future__ import annotations

import pytest
import torch
import yaml
from safetensors.torch import save_file

from kdss_bench.errors import CheckpointError
from kdss_bench.methods.distilled_set import MANIFEST_FILE, TENSORS_FILE, DistilledSet


def images(m: int = 4, r: int = 5) -> torch.Tensor:
    return torch.linspace(-1, 1, m * 3 * r * r).reshape(m, 3, r, r)


@pytest.mark.parametrize(("kind", "targets"), [
    ("features", torch.randn(4, 7)), ("soft", torch.randn(4, 3)), ("hard", torch.tensor([0, 2, 1, 0])),
])
def test_save_then_load_gives_the_same_set_and_manifest(tmp_path, kind, targets):
    original = DistilledSet(images(), targets, kind, {"method": "krr_st", "cost": {"steps": 3}})
    original.save(tmp_path / "set")
    assert sorted(p.name for p in (tmp_path / "set").iterdir()) == sorted([TENSORS_FILE, MANIFEST_FILE])
    loaded = DistilledSet.load(tmp_path / "set")
    assert torch.equal(loaded.images, original.images) and torch.equal(loaded.targets, original.targets)
    assert loaded.targets.dtype == targets.dtype and loaded.target_kind == kind and loaded.size == 4
    assert loaded.manifest == {"method": "krr_st", "cost": {"steps": 3}, "target_kind": kind, "size": 4,
                               "image_shape": [3, 5, 5]}


def test_save_writes_detached_cpu_tensors_from_a_view(tmp_path):
    x = images(8).requires_grad_(True)
    DistilledSet(x[::2], torch.randn(8, 2)[::2], "soft").save(tmp_path / "s")  # non-contiguous, with grad
    loaded = DistilledSet.load(tmp_path / "s")
    assert torch.equal(loaded.images, x.detach()[::2]) and not loaded.images.requires_grad


@pytest.mark.parametrize(("x", "y", "kind", "fragment"), [
    (images(), torch.randn(4, 2), "labels", "target kind 'labels' is not one of"),
    (images().mean(1), torch.randn(4, 2), "soft", "images must be float (m, 3, H, W), got (4, 5, 5)"),
    (torch.zeros(4, 1, 5, 5), torch.randn(4, 2), "soft", "got (4, 1, 5, 5)"),
    (torch.zeros(4, 3, 5, 5, dtype=torch.uint8), torch.randn(4, 2), "soft", "torch.uint8"),
    (images(), torch.randn(3, 2), "features", "4 images but 3 targets"),
    (images(), torch.tensor([0.0, 1.0, 2.0, 0.0]), "hard", "hard targets must be int (m,)"),
    (images(), torch.zeros(4, 2, dtype=torch.int64), "hard", "hard targets must be int (m,)"),
    (images(), torch.tensor([0, 1, 2, 0]), "soft", "soft targets must be float (m, d)"),
    (images(), torch.randn(4), "features", "features targets must be float (m, d)"),
    (images().index_fill(0, torch.tensor([1]), float("nan")), torch.randn(4, 2), "soft", "NaN or infinite"),
    (images(), torch.tensor([[1.0, float("inf")]] * 4), "features", "NaN or infinite"),
])
def test_invalid_sets_are_refused_with_what_is_wrong(x, y, kind, fragment):
    with pytest.raises(CheckpointError) as caught:
        DistilledSet(x, y, kind)
    assert fragment in str(caught.value) and str(caught.value).startswith("distilled set: ")


@pytest.mark.parametrize("missing", [TENSORS_FILE, MANIFEST_FILE])
def test_a_missing_file_says_the_set_is_incomplete(tmp_path, missing):
    DistilledSet(images(), torch.randn(4, 2), "soft").save(tmp_path / "set")
    (tmp_path / "set" / missing).unlink()
    with pytest.raises(CheckpointError) as caught:
        DistilledSet.load(tmp_path / "set")
    assert str(caught.value).startswith(str(tmp_path / "set" / missing)) and "delete it to recompute" in str(
        caught.value)


def test_a_manifest_whose_size_differs_from_the_images_is_refused(tmp_path):
    folder = tmp_path / "set"
    DistilledSet(images(), torch.randn(4, 2), "soft").save(folder)
    manifest = yaml.safe_load((folder / MANIFEST_FILE).read_text())
    (folder / MANIFEST_FILE).write_text(yaml.safe_dump({**manifest, "size": 5}))
    with pytest.raises(CheckpointError, match="size 5 does not match 4 images"):
        DistilledSet.load(folder)


def test_tensor_files_with_other_tensors_or_a_manifest_without_a_kind_are_refused(tmp_path):
    folder = tmp_path / "set"
    DistilledSet(images(), torch.randn(4, 2), "soft").save(folder)
    save_file({"images": images(), "targets": torch.randn(4, 2), "extra": torch.zeros(1)}, str(folder / TENSORS_FILE))
    with pytest.raises(CheckpointError, match=r"expected tensors 'images' and 'targets', got \['extra', 'images'"):
        DistilledSet.load(folder)
    DistilledSet(images(), torch.randn(4, 2), "soft").save(folder)
    (folder / MANIFEST_FILE).write_text("")  # an empty manifest: no target kind
    with pytest.raises(CheckpointError, match="target kind 'None'"):
        DistilledSet.load(folder)
    (folder / TENSORS_FILE).write_bytes(b"not safetensors")
    with pytest.raises(Exception):  # noqa: B017 - safetensors' own error: the cache quarantines such a file
        DistilledSet.load(folder)
