"""DM on a tiny real problem (scikit-learn's digits at 16 px)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
import torch

from kdss_bench.config_reader import ConfigReader
from kdss_bench.data.registry import load_dataset
from kdss_bench.errors import ConfigError
from kdss_bench.methods import dm
from kdss_bench.methods.context import DistillContext
from kdss_bench.methods.dm import DmRun, distribution_matching_loss
from kdss_bench.methods.dm_settings import DmSettings
from kdss_bench.methods.settings import read_settings
from kdss_bench.models.registry import build_model

TINY = DmSettings(iterations=3, batch_real=16, checkpoint_every=0)


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits", resolution=16)


def make_ctx(digits, settings=TINY, budget=20, model="convnet_8_16_bn"):
    return DistillContext(source=digits, teacher=None, budget=budget, settings=settings, model=model, seed=0,
                          device=torch.device("cpu"))


def test_defaults_are_the_official_dm_configuration():
    s = DmSettings()
    assert (s.iterations, s.lr_img, s.batch_real, s.init) == (20_000, 1.0, 256, "real")
    assert s.dsa_strategy == "color_crop_cutout_flip_scale_rotate"


def test_matched_embedding_means_get_closer_on_a_fixed_network(digits):
    run = DmRun(make_ctx(digits), TINY)
    net = run.fresh_network(0).requires_grad_(False)
    sample = torch.Generator().manual_seed(0)
    reals = [run.augment(run.real_images(c, 32, sample), siamese_seed=c) for c in range(10)]

    def loss() -> torch.Tensor:
        syns = [run.augment(run.synthetic_images(c), siamese_seed=c) for c in range(10)]
        return distribution_matching_loss(net, reals, syns, joint=True)

    before = loss().item()
    for _ in range(5):
        run.optimizer.zero_grad()
        loss().backward()
        run.optimizer.step()
    assert loss().item() < 0.5 * before


def test_joint_and_per_class_embedding_agree_without_batch_statistics():
    torch.manual_seed(0)
    net = build_model("convnet_4_8_none", in_shape=(3, 8, 8), num_outputs=3).requires_grad_(False)
    reals = [torch.randn(n, 3, 8, 8) for n in (5, 4, 6)]
    syns = [torch.randn(n, 3, 8, 8, requires_grad=True) for n in (2, 1, 2)]
    joint = distribution_matching_loss(net, reals, syns, joint=True)
    per_class = distribution_matching_loss(net, reals, syns, joint=False)
    torch.testing.assert_close(joint, per_class)
    expected = sum(((net.embed(r).mean(0) - net.embed(s).mean(0)) ** 2).sum() for r, s in zip(reals, syns, strict=True))
    torch.testing.assert_close(joint, expected)


def test_distill_returns_a_hard_labelled_class_balanced_set(digits):
    result = dm.distill(make_ctx(digits, budget=13))
    assert result.target_kind == "hard"
    assert result.images.shape == (13, 3, 16, 16) and result.images.dtype == torch.float32
    assert result.targets.dtype == torch.int64
    assert result.targets.tolist() == [0, 0, 1, 1, 2, 2, 3, 4, 5, 6, 7, 8, 9]
    assert torch.isfinite(result.images).all()
    manifest = result.manifest
    assert manifest["method"] == "dm" and manifest["budget"] == 13 and manifest["input_space"] == "normalized"
    assert manifest["normalization"] == {"mean": list(digits.mean), "std": list(digits.std)}
    assert manifest["cost"]["steps"] == 3 and manifest["settings"] == TINY.as_dict()
    assert manifest["loss"]["first"] > 0


def test_embedding_batches_matter_only_with_batch_statistics(digits):
    def images(model, embed_batches):
        settings = replace(TINY, embed_batches=embed_batches)
        return dm.distill(make_ctx(digits, settings, model=model)).images

    torch.testing.assert_close(images("convnet_8_16_none", "joint"), images("convnet_8_16_none", "per_class"))
    with_bn = images("convnet_8_16_bn", "auto")
    torch.testing.assert_close(with_bn, images("convnet_8_16_bn", "joint"))
    assert not torch.allclose(with_bn, images("convnet_8_16_bn", "per_class"))


def test_settings_from_a_suite_are_validated():
    reader = ConfigReader(Path("suite.yaml"))
    settings = read_settings(DmSettings, {"iterations": 10, "lr_img": "1e-1"}, reader, ("methods", "dm"))
    assert (settings.iterations, settings.lr_img) == (10, 0.1)
    with pytest.raises(ConfigError, match="methods.dm.embed_batches"):
        read_settings(DmSettings, {"embed_batches": "all"}, reader, ("methods", "dm"))
