"""kdss_bench.runner.threads: a stage's CPU threads, split between slots, with one warning when oversubscribed."""

from __future__ import annotations

import os

import torch

from kdss_bench.runner.threads import apply_threads, available_cores, oversubscription_warning, threads_per_slot


def test_available_cores_is_the_affinity_mask():
    assert available_cores() == len(os.sched_getaffinity(0)) >= 1


def test_apply_threads_sets_torch_and_none_leaves_it():
    before = torch.get_num_threads()
    try:
        assert apply_threads(None) == before
        assert apply_threads(1) == 1 == torch.get_num_threads()
        assert apply_threads(2) == 2 == torch.get_num_threads()
    finally:
        torch.set_num_threads(before)


def test_threads_per_slot_splits_the_cores():
    assert threads_per_slot(2, None, cores=8) == 4
    assert threads_per_slot(3, None, cores=8) == 2
    assert threads_per_slot(16, None, cores=8) == 1, "at least one"
    assert threads_per_slot(0, None, cores=8) == 8
    assert threads_per_slot(4, 3, cores=8) == 3, "a requested count wins"


def test_oversubscription_is_one_warning_line_with_the_fix():
    assert oversubscription_warning(2, 1, cores=2) is None
    assert oversubscription_warning(1, 2, cores=2) is None
    text = oversubscription_warning(2, 2, cores=2)
    assert text == ("warning: 2 concurrent stage(s) x 2 thread(s) = 4 threads on 2 core(s); each stage will run "
                    "slower than it could (use --threads 1)")
    assert oversubscription_warning(4, 3, cores=2).endswith("(use --threads 1)")
