"""MKDT on a tiny real problem (scikit-learn's digits, 16 px, a small ConvNet teacher): the matching
loss falls, the high-loss initialisation, whole runs, resume, and every named deviation."""

from __future__ import annotations

import dataclasses

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from kdss_bench.data.registry import load_dataset
from kdss_bench.errors import ConfigError
from kdss_bench.methods import mkdt
from kdss_bench.methods.context import DistillContext, local_artifact
from kdss_bench.methods.mkdt import (
    CHECKPOINT_FILE,
    OFFICIAL_NORMALIZATION,
    MkdtRun,
    expert_recipe,
    normalization_stats,
)
from kdss_bench.methods.mkdt_experts import expert_trajectories, teacher_targets
from kdss_bench.methods.mkdt_settings import MkdtSettings
from kdss_bench.methods.registry import method_info, needs_teacher
from kdss_bench.models.registry import build_model
from kdss_bench.teacher.backbone import build_teacher_backbone
from kdss_bench.train.augment import normalize, to_float

MODEL = "convnet_8_16_in"  # the official student's kind: ConvNet with instance norm
TINY = MkdtSettings(iterations=4, syn_steps=3, expert_epochs=1, max_start_epoch=2, num_experts=2, train_epochs=2,
                    batch_syn=0, checkpoint_every=0)
CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits", resolution=16)


@pytest.fixture(scope="module")
def teacher():
    torch.manual_seed(0)
    return build_teacher_backbone("convnet_8_16_bn", (3, 16, 16)).eval().requires_grad_(False)


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    """One artifact cache for the module: targets and experts do not depend on the distillation settings."""
    return local_artifact(tmp_path_factory.mktemp("artifacts"))


def make_ctx(source, teacher, cache, settings=TINY, budget=20, work_dir=None, seed=0):
    return DistillContext(source=source, teacher=teacher, budget=budget, settings=settings, model=MODEL, seed=seed,
                          device=CPU, work_dir=work_dir, artifact=cache, teacher_id="tiny-teacher")


def make_run(source, teacher, cache, settings, **kwargs):
    ctx = make_ctx(source, teacher, cache, settings, **kwargs)
    mean, std = normalization_stats(source, settings.normalization)
    targets, parts = teacher_targets(teacher, source, teacher_key=ctx.teacher_id, mean=mean, std=std, device=CPU,
                                     artifact=cache)
    experts = expert_trajectories(source, targets, expert_recipe(settings, settings.model or MODEL),
                                  targets_parts=parts, mean=mean, std=std, num_experts=settings.num_experts,
                                  seed=settings.expert_seed, device=CPU, artifact=cache)
    return MkdtRun(ctx, settings, experts, targets, mean=mean, std=std)


def teacher_of(teacher, images):
    with torch.no_grad():
        return teacher(images)


def test_registered_after_krr_st_with_the_teacher_and_feature_targets():
    from kdss_bench.methods.registry import method_names

    names = method_names()
    assert names.index("mkdt") == names.index("krr_st") + 1 and names.index("import") == names.index("mkdt") + 1
    info = method_info("mkdt")
    assert info.target_kind == "features" and needs_teacher("mkdt", MkdtSettings())
    assert MkdtSettings().identity().keys() == MkdtSettings().as_dict().keys() - {"checkpoint_every"}


def test_defaults_are_the_official_cifar100_2_percent_configuration():
    s = MkdtSettings()
    assert (s.iterations, s.syn_steps, s.expert_epochs, s.max_start_epoch) == (5000, 40, 2, 2)
    assert (s.lr_img, s.lr_labels, s.lr_lr, s.lr_teacher, s.batch_syn) == (1000.0, 1.0, 1e-4, 0.1, 256)
    assert (s.num_experts, s.train_epochs, s.expert_lr, s.expert_momentum, s.expert_weight_decay,
            s.expert_batch) == (100, 20, 0.1, 0.9, 1e-4, 256)
    assert (s.init, s.expert_order, s.normalization, s.model) == ("high_loss", "cycle", "source", "")


def test_settings_are_read_from_a_suite_and_bad_choices_name_the_key():
    from pathlib import Path

    from kdss_bench.config_reader import ConfigReader
    from kdss_bench.methods.settings import read_settings

    def read(given):
        return read_settings(MkdtSettings, given, ConfigReader(Path("suite.yaml")), ("methods", "mkdt"))

    assert read({"lr_img": "1e4", "init": "random"}) == MkdtSettings(lr_img=1e4, init="random")
    for key, value in (("init", "kmeans"), ("expert_order", "uniform"), ("normalization", "zca")):
        with pytest.raises(ConfigError, match=f"methods.mkdt.{key}"):
            read({key: value})


def test_distill_returns_a_complete_feature_set(digits, teacher, cache):
    result = mkdt.distill(make_ctx(digits, teacher, cache, budget=25))
    width = teacher_of(teacher, torch.zeros(1, 3, 16, 16)).shape[1]
    assert result.target_kind == "features"
    assert result.images.shape == (25, 3, 16, 16) and result.images.dtype == torch.float32
    assert result.targets.shape == (25, width) and result.targets.dtype == torch.float32
    manifest = result.manifest
    for key in ("method", "source", "budget", "seed", "model", "settings", "input_space", "normalization",
                "cost", "loss", "learned_lr", "init", "source_indices", "experts", "teacher"):
        assert key in manifest, key
    assert manifest["method"] == "mkdt" and manifest["input_space"] == "normalized"
    assert manifest["cost"]["steps"] == TINY.iterations and manifest["experts"]["count"] == 2
    assert manifest["learned_lr"] != TINY.lr_teacher, "the student step size is learned"
    assert manifest["settings"] == TINY.as_dict() and manifest["init"]["kind"] == "high_loss"


def test_the_set_starts_as_source_images_and_their_teacher_features(digits, teacher, cache):
    result = mkdt.distill(make_ctx(digits, teacher, cache, dataclasses.replace(TINY, iterations=0)))
    indices = torch.tensor(result.manifest["source_indices"])
    expected = normalize(to_float(digits.x_train[indices]), digits.mean, digits.std)
    torch.testing.assert_close(result.images, expected)
    torch.testing.assert_close(result.targets, teacher_of(teacher, expected))


def test_high_loss_initialisation_picks_the_images_with_the_largest_kd_loss(digits, teacher, cache):
    result = mkdt.distill(make_ctx(digits, teacher, cache, dataclasses.replace(TINY, iterations=0)))
    # independently: every image alone through each expert's epoch-1 parameters, MSE to the teacher's features
    images = normalize(to_float(digits.x_train), digits.mean, digits.std)
    targets = teacher_of(teacher, images)
    run = make_run(digits, teacher, cache, dataclasses.replace(TINY, iterations=0))
    per_expert = []
    for expert in run.experts:
        model = build_model(MODEL, in_shape=(3, 16, 16), num_outputs=targets.shape[1])
        nn.utils.vector_to_parameters(expert.snapshot(1), model.parameters())
        with torch.no_grad():
            outputs = torch.cat([model(images[i : i + 1]) for i in range(images.shape[0])])
        per_expert.append((outputs - targets).pow(2).mean(1))
    losses = torch.stack(per_expert).mean(0)
    chosen = torch.tensor(result.manifest["source_indices"])
    expected = torch.topk(losses, 20).indices
    assert sorted(chosen.tolist()) == sorted(expected.tolist())
    rest = torch.ones(losses.shape[0], dtype=torch.bool)
    rest[chosen] = False
    assert losses[chosen].min() > losses[rest].max()
    assert result.manifest["init"]["kd_loss_chosen_mean"] == pytest.approx(float(losses[chosen].mean()), rel=1e-4)


def test_random_initialisation_draws_a_seeded_random_subset(digits, teacher, cache):
    settings = dataclasses.replace(TINY, iterations=0, init="random")
    first = mkdt.distill(make_ctx(digits, teacher, cache, settings))
    again = mkdt.distill(make_ctx(digits, teacher, cache, settings))
    other_seed = mkdt.distill(make_ctx(digits, teacher, cache, settings, seed=1))
    high_loss = mkdt.distill(make_ctx(digits, teacher, cache, dataclasses.replace(TINY, iterations=0)))
    assert first.manifest["init"] == {"kind": "random"}
    assert first.manifest["source_indices"] == again.manifest["source_indices"]
    assert first.manifest["source_indices"] != other_seed.manifest["source_indices"]
    assert set(first.manifest["source_indices"]) != set(high_loss.manifest["source_indices"])


def test_no_student_steps_means_a_loss_of_exactly_one(digits, teacher, cache):
    run = make_run(digits, teacher, cache, TINY)
    with torch.no_grad():
        run.syn_lr.zero_()
    assert run.matching_loss(run.experts[0], start_epoch=0).item() == pytest.approx(1.0)


def test_updates_lower_the_normalised_parameter_distance(digits, teacher, cache):
    # Full-batch steps make the loss a deterministic function of (images, targets, step size), and
    # max_start_epoch=1 with one expert fixes the segment: the same loss is compared before and after.
    # The image learning rate is the official CIFAR-100 2% one (1000).
    settings = dataclasses.replace(TINY, num_experts=1, max_start_epoch=1, expert_epochs=2, syn_steps=4)
    run = make_run(digits, teacher, cache, settings)
    expert = run.experts[0]
    images, targets = run.images.detach().clone(), run.targets.detach().clone()
    before = run.matching_loss(expert, 0).item()
    losses = [run.distill_step() for _ in range(6)]
    after = run.matching_loss(expert, 0).item()
    assert losses[0] == pytest.approx(before, rel=1e-5)
    assert after < 0.8 * before, (before, after)
    assert not torch.equal(run.images.detach(), images) and not torch.equal(run.targets.detach(), targets)
    assert run.syn_lr.item() != settings.lr_teacher


def test_gradients_reach_images_targets_and_step_size_through_minibatches(digits, teacher, cache):
    run = make_run(digits, teacher, cache, dataclasses.replace(TINY, batch_syn=7, syn_steps=3))
    run.distill_step()
    for tensor in (run.images, run.targets, run.syn_lr):
        assert tensor.grad is not None and torch.isfinite(tensor.grad).all()
    assert (run.images.grad.flatten(1).abs().sum(1) > 0).all(), "every image is in some minibatch"
    assert (run.targets.grad.abs().sum(1) > 0).all()


def test_the_inner_loss_is_mse_to_the_learnable_targets(digits, teacher, cache):
    run = make_run(digits, teacher, cache, dataclasses.replace(TINY, syn_steps=1))
    start = run.experts[0].snapshot(0)
    params = start.clone().requires_grad_(True)
    mse = F.mse_loss(run.student(params, run.images.detach()), run.targets.detach())
    (grad,) = torch.autograd.grad(mse, params)
    target = run.experts[0].snapshot(1)
    expected = ((start - run.syn_lr.detach() * grad - target).pow(2).sum() / (start - target).pow(2).sum())
    loss = run.matching_loss(run.experts[0], 0)
    torch.testing.assert_close(loss.detach(), expected, rtol=1e-5, atol=1e-6)


def test_experts_and_targets_are_shared_by_every_seed_and_budget(digits, teacher, tmp_path):
    built = []
    cache = local_artifact(tmp_path)

    def counting(name, parts, build):
        def counted(folder):
            built.append((name, parts.get("index")))
            build(folder)

        return cache(name, parts, counted)

    mkdt.distill(make_ctx(digits, teacher, counting, dataclasses.replace(TINY, iterations=1), seed=0))
    mkdt.distill(make_ctx(digits, teacher, counting, dataclasses.replace(TINY, iterations=1), seed=1, budget=30))
    assert built == [("mkdt_teacher_targets", None), ("mkdt_experts", 0), ("mkdt_experts", 1)]


def test_runs_without_an_artifact_cache_or_a_teacher_id(digits, teacher):
    ctx = dataclasses.replace(make_ctx(digits, teacher, None, dataclasses.replace(TINY, iterations=1)),
                              teacher_id="")
    assert mkdt.distill(ctx).size == 20


def test_interrupted_run_resumes_to_the_same_result(digits, teacher, cache, tmp_path):
    settings = dataclasses.replace(TINY, iterations=5, checkpoint_every=2, batch_syn=7)
    straight = mkdt.distill(make_ctx(digits, teacher, cache, settings, work_dir=tmp_path / "a"))

    work = tmp_path / "b"
    first = make_run(digits, teacher, cache, settings, work_dir=work)
    first.distill_step()
    first.distill_step()
    first.save_checkpoint(elapsed=1.0)
    first.distill_step()  # lost in the "crash"
    assert (work / CHECKPOINT_FILE).is_file()

    events = []
    ctx = dataclasses.replace(make_ctx(digits, teacher, cache, settings, work_dir=work),
                              emit=lambda kind, **values: events.append((kind, values)))
    resumed = mkdt.distill(ctx)
    assert ("metric", {"step": 2, "total": 5, "resumed_from": 2}) in events
    assert torch.equal(resumed.images, straight.images)
    assert torch.equal(resumed.targets, straight.targets)
    assert resumed.manifest["learned_lr"] == straight.manifest["learned_lr"]
    assert resumed.manifest["source_indices"] == straight.manifest["source_indices"]
    assert resumed.manifest["experts"] == straight.manifest["experts"]
    assert not (work / CHECKPOINT_FILE).exists()


def test_settings_that_cannot_run_are_clear_errors(digits, teacher, cache):
    with pytest.raises(ConfigError, match="train_epochs"):
        mkdt.distill(make_ctx(digits, teacher, cache, dataclasses.replace(TINY, max_start_epoch=3)))
    with pytest.raises(ConfigError, match="needs a teacher"):
        mkdt.distill(make_ctx(digits, None, cache))
    with pytest.raises(ConfigError, match="budget"):
        mkdt.distill(make_ctx(digits, teacher, cache, budget=10_000))


# --- named deviations ---------------------------------------------------------------------------
def test_expert_order_cycle_visits_every_expert_once_per_pass(digits, teacher, cache):
    run = make_run(digits, teacher, cache, dataclasses.replace(TINY, num_experts=3, syn_steps=1))
    passes = [[run.next_expert() for _ in range(3)] for _ in range(3)]
    assert all(sorted(p) == [0, 1, 2] for p in passes)
    assert len({tuple(p) for p in passes}) > 1, "each pass draws a fresh order"


def test_expert_order_single_matches_one_expert_for_the_whole_run(digits, teacher, cache):
    settings = dataclasses.replace(TINY, num_experts=3, iterations=6, syn_steps=1)
    single = mkdt.distill(make_ctx(digits, teacher, cache, dataclasses.replace(settings, expert_order="single")))
    cycle = mkdt.distill(make_ctx(digits, teacher, cache, settings))
    assert single.manifest["experts"]["matched"] == 1 and single.manifest["experts"]["single"] in (0, 1, 2)
    assert cycle.manifest["experts"]["matched"] == 3 and cycle.manifest["experts"]["single"] is None
    assert not torch.equal(single.images, cycle.images)


def test_official_normalization_uses_mkdt_constants(digits, teacher, cache):
    cifar100 = dataclasses.replace(digits, name="cifar100")  # same images, the name MKDT has constants for
    settings = dataclasses.replace(TINY, iterations=0, normalization="official")
    official = mkdt.distill(make_ctx(cifar100, teacher, cache, settings))
    mean, std = OFFICIAL_NORMALIZATION["CIFAR100"]
    indices = torch.tensor(official.manifest["source_indices"])
    expected = normalize(to_float(digits.x_train[indices]), mean, std)
    torch.testing.assert_close(official.images, expected)
    torch.testing.assert_close(official.targets, teacher_of(teacher, expected))
    assert official.manifest["normalization"] == {"mean": list(mean), "std": list(std), "kind": "official"}
    suite = mkdt.distill(make_ctx(cifar100, teacher, cache, dataclasses.replace(settings, normalization="source")))
    assert suite.manifest["normalization"]["mean"] == list(digits.mean)
    suite_indices = torch.tensor(suite.manifest["source_indices"])
    torch.testing.assert_close(suite.images, normalize(to_float(digits.x_train[suite_indices]), digits.mean,
                                                       digits.std))
    with pytest.raises(ConfigError, match="normalization"):
        mkdt.distill(make_ctx(digits, teacher, cache, settings))  # no official constants for 'digits'


def test_model_setting_selects_the_student_and_experts(digits, teacher, cache):
    default = mkdt.distill(make_ctx(digits, teacher, cache, dataclasses.replace(TINY, iterations=1)))
    other = mkdt.distill(make_ctx(digits, teacher, cache, dataclasses.replace(TINY, iterations=1,
                                                                                model="convnet_8_8_in")))
    assert default.manifest["model"] == MODEL and other.manifest["model"] == "convnet_8_8_in"
    width = default.targets.shape[1]
    expected = sum(p.numel() for p in build_model("convnet_8_8_in", in_shape=(3, 16, 16),
                                                  num_outputs=width).parameters())
    assert other.manifest["experts"]["parameters"] == expected != default.manifest["experts"]["parameters"]


def test_instance_norm_convnet_is_the_official_groupnorm_convnet():
    # official networks.py: instancenorm = nn.GroupNorm(C, C, affine=True); ours: InstanceNorm2d(C, affine=True)
    torch.manual_seed(0)
    model = build_model("convnet_128_128_128_in", in_shape=(3, 32, 32), num_outputs=512)
    assert model.num_features == 2048 and model.fc.out_features == 512  # Linear(128 * 4 * 4, 512)
    norm = model.layers[0].block[1]
    group = nn.GroupNorm(128, 128, affine=True)
    with torch.no_grad():
        norm.weight.uniform_(0.5, 1.5)
        norm.bias.uniform_(-0.5, 0.5)
        group.weight.copy_(norm.weight)
        group.bias.copy_(norm.bias)
    x = torch.randn(4, 128, 8, 8) * 3 + 1
    torch.testing.assert_close(norm(x), group(x), rtol=1e-5, atol=1e-5)
    assert isinstance(model.layers[0].block[3], nn.AvgPool2d) and model.layers[0].block[3].kernel_size == 2
