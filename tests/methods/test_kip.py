"""KIP's loss, target batches and whole runs on a tiny real problem (scikit-learn's digits, 16 px)."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from kdss_bench.data.registry import load_dataset
from kdss_bench.errors import ConfigError
from kdss_bench.methods import kip
from kdss_bench.methods.context import DistillContext
from kdss_bench.methods.kip import KipRun, kip_loss
from kdss_bench.methods.kip_settings import KipSettings
from kdss_bench.methods.nngp_random_features import ConvNetNngpKernel
from kdss_bench.methods.soft_labels import centred_one_hot
from kdss_bench.train.augment import normalize, to_float

TINY = KipSettings(outer_steps=3, target_batch=100, kernel_models=2, checkpoint_every=0)


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits", resolution=16)


def make_ctx(digits, settings=TINY, budget=20, work_dir=None, events=None):
    def emit(kind, **values):
        if events is not None:
            events.append((kind, values))

    return DistillContext(source=digits, teacher=None, budget=budget, settings=settings, model="convnet_8_16_bn",
                          seed=0, device=torch.device("cpu"), work_dir=work_dir, emit=emit)


def test_regression_loss_falls_for_a_fixed_kernel_and_batch(digits):
    settings = dataclasses.replace(TINY, outer_steps=10)
    run = KipRun(make_ctx(digits, settings), settings)
    probe = ConvNetNngpKernel("convnet_8_16_bn", (3, 16, 16), 2, torch.device("cpu"))
    probe.resample(12345)  # a draw the run never uses
    rows = torch.randperm(digits.x_train.shape[0], generator=torch.Generator().manual_seed(1))[:200]
    x_real = normalize(to_float(digits.x_train[rows]), digits.mean, digits.std)
    y_real = centred_one_hot(digits.y_train[rows], 10)

    def loss():
        with torch.no_grad():
            return float(kip_loss(probe, run.x_syn, run.y_syn, x_real, y_real, ridge=settings.ridge))

    before = loss()
    for _ in range(10):
        run.advance()
    assert loss() < 0.85 * before


def test_each_step_draws_a_class_balanced_target_batch_and_a_fresh_kernel(digits):
    run = KipRun(make_ctx(digits), TINY)
    x0, y0 = run.target_batch(0)
    assert x0.shape == (100, 3, 16, 16)
    assert torch.bincount(y0.argmax(1), minlength=10).tolist() == [10] * 10
    torch.testing.assert_close(y0.sum(1), torch.zeros(100))  # centred one-hot
    x1, _ = run.target_batch(1)
    assert not torch.equal(x0, x1)
    run.use_kernel_of_step(0)
    weights0 = run.kernel.networks[0].layers[0].block[0].weight.clone()
    run.use_kernel_of_step(1)
    assert not torch.equal(weights0, run.kernel.networks[0].layers[0].block[0].weight)


def test_initial_set_is_class_balanced_real_images_with_centred_one_hot_labels(digits):
    run = KipRun(make_ctx(digits), TINY)
    classes = digits.y_train[run.init_indices]
    assert torch.bincount(classes, minlength=10).tolist() == [2] * 10
    expected = normalize(to_float(digits.x_train[run.init_indices]), digits.mean, digits.std)
    torch.testing.assert_close(run.x_syn.detach(), expected)
    torch.testing.assert_close(run.y_syn.detach(), centred_one_hot(classes, 10))


def test_distill_returns_a_complete_soft_label_set(digits):
    result = kip.distill(make_ctx(digits))
    assert result.target_kind == "soft"
    assert result.images.shape == (20, 3, 16, 16) and result.images.dtype == torch.float32
    assert result.targets.shape == (20, 10) and result.targets.dtype == torch.float32
    assert torch.isfinite(result.images).all() and torch.isfinite(result.targets).all()
    manifest = result.manifest
    assert manifest["method"] == "kip" and manifest["budget"] == 20 and manifest["source"] == "digits"
    assert manifest["input_space"] == "normalized" and manifest["settings"]["kernel_models"] == 2
    assert manifest["cost"]["steps"] == 3 and manifest["loss"]["first"] > 0
    assert manifest["kernel"]["kind"] == "convnet_nngp_random_features"


def test_target_batch_larger_than_a_class_is_a_config_error(digits):
    settings = dataclasses.replace(TINY, target_batch=5000)
    with pytest.raises(ConfigError, match="target_batch 5000 needs 500 images"):
        KipRun(make_ctx(digits, settings), settings)


def test_interrupted_run_resumes_to_the_same_result(digits, tmp_path):
    settings = dataclasses.replace(TINY, outer_steps=4, checkpoint_every=2)
    straight = kip.distill(make_ctx(digits, settings, work_dir=tmp_path / "a"))
    work = tmp_path / "b"
    first = KipRun(make_ctx(digits, settings, work_dir=work), settings)
    for _ in range(2):
        first.advance()
    first.save_checkpoint(elapsed=1.0)
    first.advance()  # lost with the "crash"
    events = []
    resumed = kip.distill(make_ctx(digits, settings, work_dir=work, events=events))
    assert ("metric", {"step": 2, "total": 4, "resumed_from": 2}) in events
    torch.testing.assert_close(resumed.images, straight.images)
    torch.testing.assert_close(resumed.targets, straight.targets)
