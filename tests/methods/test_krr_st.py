"""KRR-ST's outer step and whole runs, on a tiny real problem (scikit-learn's digits, 16 px)."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from kdss_bench.data.registry import load_dataset
from kdss_bench.methods import krr_st
from kdss_bench.methods.context import DistillContext
from kdss_bench.methods.krr_st import CHECKPOINT_FILE, KrrStRun
from kdss_bench.methods.settings import KrrStSettings
from kdss_bench.teacher.backbone import build_teacher_backbone
from kdss_bench.train.augment import normalize, to_float

TINY = KrrStSettings(outer_steps=6, lr=1e-2, real_batch=32, pool_size=2, online_iterations=3,
                     checkpoint_every=0)


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits", resolution=16)


@pytest.fixture(scope="module")
def teacher():
    torch.manual_seed(0)
    model = build_teacher_backbone("convnet_8_16_bn", (3, 16, 16)).eval()
    return model.requires_grad_(False)


def make_ctx(digits, teacher, settings=TINY, budget=10, work_dir=None, seed=0):
    return DistillContext(source=digits, teacher=teacher, budget=budget, settings=settings,
                          model="convnet_8_16_bn", seed=seed, device=torch.device("cpu"), work_dir=work_dir,
                          teacher_id="test-teacher")


def test_gradients_reach_images_and_targets(digits, teacher):
    run = KrrStRun(make_ctx(digits, teacher), TINY)
    x0, y0 = run.x_syn.detach().clone(), run.y_syn.detach().clone()
    run.outer_step()
    for grad in (run.x_syn.grad, run.y_syn.grad):
        assert grad is not None and torch.isfinite(grad).all() and grad.abs().sum() > 0
    assert not torch.equal(run.x_syn.detach(), x0) and not torch.equal(run.y_syn.detach(), y0)


def test_outer_loss_falls_on_a_tiny_problem(digits, teacher):
    settings = dataclasses.replace(TINY, outer_steps=40, lr=3e-2, online_iterations=1000, real_batch=64)
    run = KrrStRun(make_ctx(digits, teacher, settings), settings)
    run.pool.warm_start(run.x_syn, run.y_syn)
    losses = [run.outer_step() for _ in range(40)]
    assert sum(losses[-8:]) / 8 < 0.8 * sum(losses[:8]) / 8


def test_initial_set_is_real_images_and_teacher_features(digits, teacher):
    raw = KrrStRun(make_ctx(digits, teacher), TINY)
    assert raw.x_syn.min() >= 0 and raw.x_syn.max() <= 1, "official xs_init=raw keeps [0, 1] pixels"
    pixels = to_float(digits.x_train)
    # every synthetic image is one of the training images
    matches = (pixels[None] - raw.x_syn.detach()[:, None]).abs().flatten(2).amax(-1).min(1).values
    assert torch.all(matches < 1e-6)
    expected = teacher(normalize(raw.x_syn.detach(), digits.mean, digits.std))
    torch.testing.assert_close(raw.y_syn.detach(), expected, rtol=1e-4, atol=1e-5)
    normed = KrrStRun(make_ctx(digits, teacher), dataclasses.replace(TINY, xs_init="normalized"))
    torch.testing.assert_close(normed.x_syn.detach(), normalize(raw.x_syn.detach(), digits.mean, digits.std))


def test_distill_returns_a_complete_feature_set(digits, teacher):
    result = krr_st.distill(make_ctx(digits, teacher))
    assert result.target_kind == "features"
    assert result.images.shape == (10, 3, 16, 16) and result.targets.shape == (10, 16)
    assert torch.isfinite(result.images).all() and torch.isfinite(result.targets).all()
    manifest = result.manifest
    assert manifest["budget"] == 10 and manifest["method"] == "krr_st"
    assert manifest["cost"]["steps"] == 6 and manifest["teacher"] == "test-teacher"
    assert manifest["input_space"] == "raw"


def test_budget_larger_than_source_is_a_clear_error(digits, teacher):
    from kdss_bench.errors import ConfigError

    with pytest.raises(ConfigError, match="budget"):
        krr_st.distill(make_ctx(digits, teacher, budget=10**6))


def test_official_pool_reset_mode_runs_and_counts_reinitialisations(digits, teacher):
    settings = dataclasses.replace(TINY, pool_reset="official", outer_steps=12, online_iterations=2)
    run = KrrStRun(make_ctx(digits, teacher, settings), settings)
    run.pool.warm_start(run.x_syn, run.y_syn)
    for _ in range(12):
        run.outer_step()
    assert run.pool.reinitialisations >= 6, "with T=2 the stuck counter re-initialises on most draws"


@pytest.mark.parametrize("mode", ["exact", "fast"])
def test_interrupted_run_resumes_to_the_same_result(digits, teacher, tmp_path, mode):
    settings = dataclasses.replace(TINY, outer_steps=6, checkpoint_every=3, mode=mode, teacher_views=2)
    straight = krr_st.distill(make_ctx(digits, teacher, settings, work_dir=tmp_path / "a"))

    work = tmp_path / "b"
    first = KrrStRun(make_ctx(digits, teacher, settings, work_dir=work), settings)
    first.pool.warm_start(first.x_syn, first.y_syn)
    for _ in range(3):
        first.outer_step()
    first.save_checkpoint(elapsed=1.0)
    first.outer_step()  # work after the checkpoint is lost by the "crash"
    assert (work / CHECKPOINT_FILE).is_file()

    resumed = krr_st.distill(make_ctx(digits, teacher, settings, work_dir=work))
    torch.testing.assert_close(resumed.images, straight.images)
    torch.testing.assert_close(resumed.targets, straight.targets)
    assert not (work / CHECKPOINT_FILE).exists(), "the checkpoint is removed once the set is complete"


def test_fast_mode_reads_targets_from_the_cache_and_still_learns(digits, teacher):
    settings = dataclasses.replace(TINY, outer_steps=40, lr=3e-2, online_iterations=1000, real_batch=64,
                                   mode="fast", teacher_views=3)
    run = KrrStRun(make_ctx(digits, teacher, settings), settings)
    run.pool.warm_start(run.x_syn, run.y_syn)
    x_real, y_real = run.real_batch_and_targets()
    torch.testing.assert_close(y_real, teacher(x_real), rtol=2e-3, atol=2e-3)
    assert run.target_cache.targets.shape == (digits.x_train.shape[0], 3, 16)
    losses = [run.outer_step() for _ in range(40)]
    assert sum(losses[-8:]) / 8 < 0.8 * sum(losses[:8]) / 8


def test_fast_mode_manifest_names_the_mode_and_cache_size(digits, teacher):
    settings = dataclasses.replace(TINY, mode="fast", teacher_views=2)
    manifest = krr_st.distill(make_ctx(digits, teacher, settings)).manifest
    assert manifest["mode"] == "fast" and manifest["teacher_target_cache_mb"] >= 0


def test_bf16_precision_keeps_the_loss_close_to_fp32(digits, teacher):
    losses = {}
    for precision in ("fp32", "bf16"):
        settings = dataclasses.replace(TINY, precision=precision)
        run = KrrStRun(make_ctx(digits, teacher, settings), settings)
        losses[precision] = run.outer_step()
        assert torch.isfinite(run.x_syn.grad).all() and run.x_syn.dtype == torch.float32
    assert losses["bf16"] == pytest.approx(losses["fp32"], rel=0.1)


@pytest.mark.parametrize(("change", "fragment"), [
    ({"teacher_views": 0}, "teacher_views"),
    ({"mode": "fast", "real_augment": "normalize_only"}, "normalize_only"),
])
def test_inconsistent_speed_settings_are_clear_errors(digits, teacher, change, fragment):
    from kdss_bench.errors import ConfigError

    settings = dataclasses.replace(TINY, **change)
    with pytest.raises(ConfigError, match=fragment) as caught:
        KrrStRun(make_ctx(digits, teacher, settings), settings)
    with pytest.raises(ConfigError) as at_validation:
        settings.check(make_ctx(digits, teacher, settings).facts(), ("methods", "krr_st"))
    assert str(caught.value) == str(at_validation.value), "one check: the one validate runs"


@pytest.mark.slow
def test_compiled_teacher_gives_the_same_step(digits, teacher):
    """compile: true runs the frozen teacher through inductor (with freezing); same targets, same loss."""
    losses = {}
    for compiled in (False, True):
        settings = dataclasses.replace(TINY, compile=compiled)
        run = KrrStRun(make_ctx(digits, teacher, settings), settings)
        losses[compiled] = run.outer_step()
    assert losses[True] == pytest.approx(losses[False], rel=1e-3)
