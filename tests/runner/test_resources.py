"""kdss_bench.runner.resources: what a stage asks for, defaults per device, overrides per stage kind."""

from __future__ import annotations

import pytest

from kdss_bench.runner.resources import Resources


def test_defaults_one_gpu_share_on_cuda_none_on_the_cpu():
    default = Resources()
    assert default.gpu_share(cuda=True, workers_per_gpu=1) == 1.0
    assert default.gpu_share(cuda=True, workers_per_gpu=4) == 0.25
    assert default.gpu_share(cuda=False, workers_per_gpu=2) == 0.0
    assert Resources(gpus=0.5).gpu_share(cuda=False, workers_per_gpu=2) == 0.5, "a given share wins"
    assert Resources(gpus=0).gpu_share(cuda=True, workers_per_gpu=1) == 0.0


def test_an_override_replaces_only_what_it_sets():
    base = Resources(gpus=1, cpus=2, memory_gb=8.0)
    assert base.merged(None) is base
    assert base.merged(Resources(cpus=4)) == Resources(gpus=1, cpus=4, memory_gb=8.0)
    assert base.merged(Resources(gpus=0.5, memory_gb=24.0)) == Resources(gpus=0.5, cpus=2, memory_gb=24.0)
    assert base.merged(Resources(gpus=0)).gpus == 0, "zero is a value, not 'unset'"


def test_from_the_suite_per_stage_kind():
    suite = {"distill": {"gpus": 1, "cpus": 4, "memory_gb": 24}, "evaluate": {"gpus": 0.5}}
    assert Resources.of_suite(suite, "distill") == Resources(gpus=1, cpus=4, memory_gb=24)
    assert Resources.of_suite(suite, "evaluate").as_dict() == {"gpus": 0.5, "cpus": None, "memory_gb": None}
    assert Resources.of_suite(suite, "teacher") == Resources()


def test_resources_are_frozen():
    with pytest.raises(AttributeError):
        Resources().gpus = 2  # type: ignore[misc]
