"""MTT on a tiny real problem (scikit-learn's digits, 16 px): the matching loss, whole runs, resume."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from kdss_bench.data.registry import load_dataset
from kdss_bench.errors import ConfigError
from kdss_bench.methods import mtt
from kdss_bench.methods.context import DistillContext, local_artifact
from kdss_bench.methods.mtt import CHECKPOINT_FILE, MttRun, expert_recipe
from kdss_bench.methods.mtt_experts import expert_trajectories
from kdss_bench.methods.mtt_settings import MttSettings
from kdss_bench.train.augment import normalize, to_float

TINY = MttSettings(iterations=4, syn_steps=3, expert_epochs=1, max_start_epoch=2, lr_img=100.0,
                   num_experts=1, train_epochs=2, expert_lr=0.05, checkpoint_every=0)
MODEL = "convnet_8_16_bn"


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits", resolution=16)


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    """One expert cache for the module: experts do not depend on the distillation settings tested here."""
    return local_artifact(tmp_path_factory.mktemp("artifacts"))


def make_ctx(digits, cache, settings=TINY, budget=20, work_dir=None, seed=0):
    return DistillContext(source=digits, teacher=None, budget=budget, settings=settings, model=MODEL, seed=seed,
                          device=torch.device("cpu"), work_dir=work_dir, artifact=cache)


def make_run(digits, cache, settings, **kwargs):
    ctx = make_ctx(digits, cache, settings, **kwargs)
    experts = expert_trajectories(digits, expert_recipe(settings, MODEL), num_experts=settings.num_experts,
                                  seed=settings.expert_seed, device=ctx.device, artifact=cache)
    return MttRun(ctx, settings, experts)


def test_distill_returns_a_complete_hard_label_set(digits, cache):
    result = mtt.distill(make_ctx(digits, cache, budget=25))
    assert result.target_kind == "hard"
    assert result.images.shape == (25, 3, 16, 16) and result.images.dtype == torch.float32
    assert result.targets.dtype == torch.int64 and result.targets.shape == (25,)
    assert torch.bincount(result.targets, minlength=10).tolist() == [3] * 5 + [2] * 5
    assert torch.isfinite(result.images).all()
    manifest = result.manifest
    for key in ("method", "source", "budget", "seed", "model", "settings", "input_space", "normalization",
                "cost", "loss", "syn_lr", "experts"):
        assert key in manifest, key
    assert manifest["method"] == "mtt" and manifest["budget"] == 25 and manifest["input_space"] == "normalized"
    assert manifest["cost"]["steps"] == TINY.iterations and manifest["experts"]["count"] == 1
    assert manifest["settings"] == TINY.as_dict()


def test_images_start_as_normalised_real_images_of_their_class(digits, cache):
    result = mtt.distill(make_ctx(digits, cache, dataclasses.replace(TINY, iterations=0)))
    indices = torch.tensor(result.manifest["source_indices"])
    torch.testing.assert_close(result.images, normalize(to_float(digits.x_train[indices]), digits.mean, digits.std))
    assert torch.equal(result.targets, digits.y_train[indices])


def test_no_student_steps_means_a_loss_of_exactly_one(digits, cache):
    run = make_run(digits, cache, TINY)
    with torch.no_grad():
        run.syn_lr.zero_()
    loss = run.matching_loss(run.experts[0], start_epoch=0)
    assert loss.detach().item() == pytest.approx(1.0)


def test_updates_lower_the_normalised_parameter_distance(digits, cache):
    # Full-batch steps without augmentation make the loss a deterministic function of the images, and
    # max_start_epoch=1 fixes the start: the loss of the same segment can be compared before and after.
    settings = dataclasses.replace(TINY, dsa=False, max_start_epoch=1, expert_epochs=2, syn_steps=4, lr_img=300.0)
    run = make_run(digits, cache, settings)
    expert = run.experts[0]
    images = run.images.detach().clone()
    before = run.matching_loss(expert, 0).detach().item()
    losses = [run.distill_step() for _ in range(6)]
    after = run.matching_loss(expert, 0).detach().item()
    assert losses[0] == pytest.approx(before, rel=1e-5)
    assert after < 0.9 * before
    assert not torch.equal(run.images.detach(), images)
    assert run.syn_lr.item() != settings.lr_teacher, "the student step size is learned too"


def test_gradients_flow_through_augmented_minibatches(digits, cache):
    settings = dataclasses.replace(TINY, batch_syn=7, syn_steps=4)
    run = make_run(digits, cache, settings)
    run.distill_step()
    assert run.images.grad is not None and torch.isfinite(run.images.grad).all()
    assert (run.images.grad.flatten(1).abs().sum(1) > 0).all(), "every image is in some minibatch"
    assert run.syn_lr.grad is not None and torch.isfinite(run.syn_lr.grad)


def test_a_second_run_reuses_the_experts(digits, tmp_path):
    built = []
    cache = local_artifact(tmp_path)

    def counting(name, parts, build):
        def counted(folder):
            built.append(parts["index"])
            build(folder)

        return cache(name, parts, counted)

    mtt.distill(make_ctx(digits, counting, seed=0))
    mtt.distill(make_ctx(digits, counting, seed=1))
    assert built == [0]


def test_runs_without_an_artifact_cache(digits):
    result = mtt.distill(make_ctx(digits, None, dataclasses.replace(TINY, iterations=1)))
    assert result.size == 20


def test_start_epochs_beyond_the_trajectory_are_a_clear_error(digits, cache):
    settings = dataclasses.replace(TINY, max_start_epoch=3, expert_epochs=1, train_epochs=2)
    with pytest.raises(ConfigError, match="train_epochs"):
        mtt.distill(make_ctx(digits, cache, settings))


def test_interrupted_run_resumes_to_the_same_result(digits, cache, tmp_path):
    settings = dataclasses.replace(TINY, iterations=4, checkpoint_every=2)
    straight = mtt.distill(make_ctx(digits, cache, settings, work_dir=tmp_path / "a"))

    work = tmp_path / "b"
    first = make_run(digits, cache, settings, work_dir=work)
    first.distill_step()
    first.distill_step()
    first.save_checkpoint(elapsed=1.0)
    first.distill_step()  # lost in the "crash"
    assert (work / CHECKPOINT_FILE).is_file()

    resumed = mtt.distill(make_ctx(digits, cache, settings, work_dir=work))
    torch.testing.assert_close(resumed.images, straight.images)
    assert resumed.manifest["syn_lr"] == pytest.approx(straight.manifest["syn_lr"])
    assert not (work / CHECKPOINT_FILE).exists()
