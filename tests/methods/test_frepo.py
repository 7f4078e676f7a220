"""FRePo's loss, pool and whole runs on a tiny real problem (scikit-learn's digits, 16 px)."""

from __future__ import annotations

import copy
import dataclasses

import pytest
import torch

from kdss_bench.data.registry import load_dataset
from kdss_bench.errors import ConfigError
from kdss_bench.methods import frepo
from kdss_bench.methods.context import DistillContext
from kdss_bench.methods.frepo import FrepoRun, cosine_decay_factor, frepo_loss, label_margin_loss
from kdss_bench.methods.frepo_settings import FrepoSettings
from kdss_bench.methods.soft_labels import centred_one_hot
from kdss_bench.train.augment import normalize, to_float

TINY = FrepoSettings(outer_steps=4, real_batch=64, pool_size=2, max_online_updates=4, checkpoint_every=0)


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits", resolution=16)


def make_ctx(digits, settings=TINY, budget=20, work_dir=None, events=None):
    def emit(kind, **values):
        if events is not None:
            events.append((kind, values))

    return DistillContext(source=digits, teacher=None, budget=budget, settings=settings, model="convnet_8_16_bn",
                          seed=0, device=torch.device("cpu"), work_dir=work_dir, emit=emit)


def fixed_real_batch(digits, n=200):
    rows = torch.randperm(digits.x_train.shape[0], generator=torch.Generator().manual_seed(1))[:n]
    images = normalize(to_float(digits.x_train[rows]), digits.mean, digits.std)
    return images, centred_one_hot(digits.y_train[rows], digits.num_classes)


def test_regression_loss_falls_for_a_fixed_network_and_batch(digits):
    settings = dataclasses.replace(TINY, outer_steps=10, lr=1e-2)
    run = FrepoRun(make_ctx(digits, settings), settings)
    probe = copy.deepcopy(run.pool.models[0]).eval()
    x_real, y_real = fixed_real_batch(digits)

    def kernel_loss():
        with torch.no_grad():
            return float(frepo_loss(probe, run.x_syn, run.y_syn, x_real, y_real, ridge=settings.ridge)[1])

    before = kernel_loss()
    for _ in range(10):
        run.outer_step()
    assert kernel_loss() < 0.9 * before


def test_initial_set_is_class_balanced_real_images_with_centred_one_hot_labels(digits):
    run = FrepoRun(make_ctx(digits), TINY)
    classes = digits.y_train[run.init_indices]
    assert torch.bincount(classes, minlength=10).tolist() == [2] * 10
    expected = normalize(to_float(digits.x_train[run.init_indices]), digits.mean, digits.std)
    torch.testing.assert_close(run.x_syn.detach(), expected)
    # 10 classes: the official sqrt(C / 10) label scale is 1
    torch.testing.assert_close(run.y_syn.detach(), centred_one_hot(classes, 10))


def test_distill_returns_a_complete_soft_label_set(digits):
    result = frepo.distill(make_ctx(digits))
    assert result.target_kind == "soft"
    assert result.images.shape == (20, 3, 16, 16) and result.images.dtype == torch.float32
    assert result.targets.shape == (20, 10) and result.targets.dtype == torch.float32
    assert torch.isfinite(result.images).all() and torch.isfinite(result.targets).all()
    manifest = result.manifest
    assert manifest["method"] == "frepo" and manifest["budget"] == 20 and manifest["seed"] == 0
    assert manifest["source"] == "digits" and manifest["model"] == "convnet_8_16_bn"
    assert manifest["input_space"] == "normalized" and manifest["settings"]["pool_size"] == 2
    assert manifest["normalization"]["mean"] == list(digits.mean)
    assert manifest["cost"]["steps"] == 4 and manifest["loss"]["first"] is not None
    assert manifest["kernel_loss"]["last20_mean"] > 0


def test_pool_network_is_reinitialised_after_max_online_updates(digits):
    settings = dataclasses.replace(TINY, pool_size=1, max_online_updates=2)
    run = FrepoRun(make_ctx(digits, settings), settings)
    first = run.pool.models[0]
    for _ in range(3):  # trained to 3 steps, which exceeds 2
        run.outer_step()
    assert run.pool.models[0] is first and run.pool.reinitialisations == 0
    run.outer_step()
    assert run.pool.models[0] is not first and run.pool.reinitialisations == 1
    assert run.pool.iterations == [0]


def test_pool_networks_start_untrained_with_staggered_counters(digits):
    settings = dataclasses.replace(TINY, pool_size=4, max_online_updates=100)
    run = FrepoRun(make_ctx(digits, settings), settings)
    assert run.pool.iterations == [0, 25, 50, 75]
    bn = next(m for m in run.pool.models[0].modules() if isinstance(m, torch.nn.BatchNorm2d))
    assert bn.momentum == 0.9 and torch.all(bn.running_mean == 0)


def test_label_margin_loss_rewards_a_clear_top_class_up_to_one_over_c():
    labels = torch.tensor([[1.0, 0.0, 0.0], [0.5, 0.45, 0.0]])
    torch.testing.assert_close(label_margin_loss(labels), torch.tensor(-(1 / 3 + 0.05) / 2))


def test_cosine_decay_ends_at_the_final_fraction():
    assert cosine_decay_factor(0, 100, 0.1) == pytest.approx(1.0)
    assert cosine_decay_factor(50, 100, 0.1) == pytest.approx(0.55)
    assert cosine_decay_factor(100, 100, 0.1) == pytest.approx(0.1)
    assert cosine_decay_factor(500, 100, 0.1) == pytest.approx(0.1)


def test_budget_below_the_number_of_classes_is_a_config_error(digits):
    with pytest.raises(ConfigError, match="budget"):
        FrepoRun(make_ctx(digits, budget=5), TINY)


def test_interrupted_run_resumes_to_the_same_result(digits, tmp_path):
    settings = dataclasses.replace(TINY, outer_steps=4, checkpoint_every=2, max_online_updates=1)
    straight = frepo.distill(make_ctx(digits, settings, work_dir=tmp_path / "a"))

    work = tmp_path / "b"
    first = FrepoRun(make_ctx(digits, settings, work_dir=work), settings)
    for _ in range(2):
        first.advance()
    first.save_checkpoint(elapsed=1.0)
    first.advance()  # lost with the "crash"

    events = []
    resumed = frepo.distill(make_ctx(digits, settings, work_dir=work, events=events))
    assert ("metric", {"step": 2, "total": 4, "resumed_from": 2}) in events
    torch.testing.assert_close(resumed.images, straight.images)
    torch.testing.assert_close(resumed.targets, straight.targets)
    assert not (work / "frepo_checkpoint.pt").exists()
