from __future__ import annotations

import torch

from kdss_bench.train.seeding import build_seeded_model, derive_seed, device_generator


def test_derived_seeds_are_stable_and_separate_purposes():
    assert derive_seed(0, "batches") == derive_seed(0, "batches")
    assert len({derive_seed(0, "batches"), derive_seed(0, "augment"), derive_seed(1, "batches")}) == 3
    assert 0 <= derive_seed(123, "x") < 2**63


def test_device_generator_draws_reproducibly():
    a = torch.rand(4, generator=device_generator(3, "augment", "cpu"))
    b = torch.rand(4, generator=device_generator(3, "augment", "cpu"))
    assert torch.equal(a, b)


def test_seeded_model_is_reproducible_and_leaves_global_rng_alone():
    torch.manual_seed(0)
    expected_next = torch.rand(1)
    torch.manual_seed(0)
    a = build_seeded_model("convnet_8_bn", in_shape=(3, 8, 8), num_outputs=2, seed=1)
    assert torch.equal(torch.rand(1), expected_next)
    b = build_seeded_model("convnet_8_bn", in_shape=(3, 8, 8), num_outputs=2, seed=1)
    c = build_seeded_model("convnet_8_bn", in_shape=(3, 8, 8), num_outputs=2, seed=2)
    assert torch.equal(a.fc.weight, b.fc.weight) and not torch.equal(a.fc.weight, c.fc.weight)
