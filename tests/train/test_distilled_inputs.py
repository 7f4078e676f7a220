"""kdss_bench.train.distilled_inputs: the pre-training recipes' shared input checks, model and batches."""

from __future__ import annotations

import pytest
import torch

from kdss_bench.errors import DataError
from kdss_bench.train.distilled_inputs import check_distilled_images, check_same_count, model_and_batches


def test_images_must_be_a_float_batch():
    check_distilled_images(torch.zeros(2, 3, 4, 4))
    for bad, shown in ((torch.zeros(2, 3, 4), "(2, 3, 4)"), (torch.zeros(2, 3, 4, 4, dtype=torch.uint8), "uint8")):
        with pytest.raises(DataError) as caught:
            check_distilled_images(bad)
        assert "distilled images must be a float (N, C, H, W) tensor" in str(caught.value) and shown in str(
            caught.value)


def test_one_target_per_image_and_at_least_one_image():
    check_same_count(torch.zeros(3, 3, 4, 4), torch.zeros(3), "labels")
    with pytest.raises(DataError, match="distilled set has 3 images but 2 labels"):
        check_same_count(torch.zeros(3, 3, 4, 4), torch.zeros(2), "labels")
    with pytest.raises(DataError, match="has 0 images but 0 targets"):
        check_same_count(torch.zeros(0, 3, 4, 4), torch.zeros(0, 5), "targets")


def test_the_model_is_drawn_from_the_seed_and_the_batches_cover_the_set():
    x = torch.arange(5 * 3 * 8 * 8, dtype=torch.float64).reshape(5, 3, 8, 8)
    y = torch.tensor([0, 1, 2, 3, 4])
    state = torch.random.get_rng_state()
    model, stream = model_and_batches("convnet_4_bn", x, y, num_outputs=2, target_dtype=torch.float32,
                                      batch_size=2, seed=3, device=torch.device("cpu"), in_shape=None)
    assert torch.equal(torch.random.get_rng_state(), state), "the global generator is left as it was"
    again, _ = model_and_batches("convnet_4_bn", x, y, num_outputs=2, target_dtype=torch.float32, batch_size=2,
                                 seed=3, device=torch.device("cpu"), in_shape=None)
    other, _ = model_and_batches("convnet_4_bn", x, y, num_outputs=2, target_dtype=torch.float32, batch_size=2,
                                 seed=4, device=torch.device("cpu"), in_shape=None)
    assert torch.equal(model.fc.weight, again.fc.weight) and not torch.equal(model.fc.weight, other.fc.weight)
    assert model.fc.out_features == 2 and model.num_features == 4 * 4 * 4, "in_shape defaults to the images'"
    batches = [next(stream) for _ in range(stream.batches_per_pass)]
    assert [len(b[0]) for b in batches] == [2, 2, 1]
    images, targets = torch.cat([b[0] for b in batches]), torch.cat([b[1] for b in batches])
    assert images.dtype == torch.float32 and targets.dtype == torch.float32
    assert sorted(targets.tolist()) == [0, 1, 2, 3, 4], "one pass draws every image once"
    for image, target in zip(images, targets, strict=True):
        torch.testing.assert_close(image, x[int(target)].float())  # images and targets stay aligned
    bigger, _ = model_and_batches("convnet_4_bn", x, y, num_outputs=2, target_dtype=torch.int64, batch_size=2,
                                  seed=3, device=torch.device("cpu"), in_shape=(3, 16, 16))
    assert bigger.num_features == 4 * 8 * 8
