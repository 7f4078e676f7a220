"""kdss_bench.bench.krr_step: the KRR-ST outer step timed on random data at a given configuration."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from kdss_bench.bench.krr_step import (
    CIFAR_MEAN,
    CIFAR_STD,
    KrrStepConfig,
    bench_krr_step,
    build_krr_run,
    describe_device,
    random_source,
    random_teacher,
)

TINY = KrrStepConfig(m=4, n=8, model="convnet_4_8_bn", teacher="convnet_4_8_bn", resolution=8, pool_size=2,
                     online_iterations=5, source_images=12, teacher_views=2)


def test_the_defaults_are_the_official_cifar100_run():
    config = KrrStepConfig()
    assert (config.m, config.n, config.model, config.teacher, config.resolution) == (
        1000, 1024, "convnet_128_256_512_bn", "resnet18", 32)
    settings = config.settings()
    assert (settings.outer_steps, settings.real_batch, settings.pool_size, settings.online_iterations) == (
        160_000, 1024, 10, 1000)
    assert settings.checkpoint_every == 0 and settings.mode == "exact" and settings.solver == "cholesky"
    changed = dataclasses.replace(config, mode="fast", precision="bf16", solver="lu", teacher_views=3).settings()
    assert (changed.mode, changed.precision, changed.solver, changed.teacher_views) == ("fast", "bf16", "lu", 3)


def test_random_source_is_seeded_uint8_with_cycling_labels_and_cifar_statistics():
    source = random_source(10, 6, seed=1, num_classes=3)
    assert source.x_train.shape == (10, 3, 6, 6) and source.x_train.dtype == torch.uint8
    assert source.y_train.tolist() == [0, 1, 2, 0, 1, 2, 0, 1, 2, 0]
    assert source.x_test.shape == (3, 3, 6, 6) and source.y_test.tolist() == [0, 1, 2]
    assert (source.mean, source.std) == (CIFAR_MEAN, CIFAR_STD)
    assert torch.equal(random_source(10, 6, seed=1, num_classes=3).x_train, source.x_train)
    assert not torch.equal(random_source(10, 6, seed=2, num_classes=3).x_train, source.x_train)


def test_random_teacher_is_frozen_and_leaves_the_global_generator_alone():
    state = torch.random.get_rng_state()
    teacher = random_teacher("convnet_4_bn", 8, torch.device("cpu"))
    assert torch.equal(torch.random.get_rng_state(), state)
    assert not teacher.training and not any(p.requires_grad for p in teacher.parameters())
    again = random_teacher("convnet_4_bn", 8, torch.device("cpu"))
    assert all(torch.equal(a, b) for a, b in zip(teacher.state_dict().values(), again.state_dict().values(),
                                                 strict=True))


def test_the_run_is_ready_to_step_with_warm_counters_and_refuses_too_few_images():
    run = build_krr_run(TINY, torch.device("cpu"))
    assert run.x_syn.shape == (4, 3, 8, 8) and len(run.pool.iterations) == 2
    assert all(1 <= count < TINY.online_iterations for count in run.pool.iterations)
    with pytest.raises(ValueError, match="m = 13 needs at least as many source images"):
        build_krr_run(dataclasses.replace(TINY, m=13), torch.device("cpu"))


def test_the_report_times_the_steps_and_says_what_and_where():
    report = bench_krr_step(TINY, steps=3, warmup=1)
    assert report["steps"] == 3 and 0 < report["min_s"] <= report["median_s"] <= report["max_s"]
    assert report["config"] == dataclasses.asdict(TINY) and "cache_build_s" not in report
    assert report["device"] == describe_device(torch.device("cpu")) == f"cpu ({torch.get_num_threads()} threads)"
    assert report["threads"] == torch.get_num_threads()
    fast = bench_krr_step(dataclasses.replace(TINY, mode="fast"), steps=1, warmup=0)
    assert fast["cache_build_s"] > 0 and fast["config"]["mode"] == "fast"
