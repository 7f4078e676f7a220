from __future__ import annotations

import math

import pytest
import torch

from kdss_bench.train.augment import TestTransform
from kdss_bench.train.evaluate import EvalResult, accuracy_and_loss
from kdss_bench.train.finetune import FinetuneRecipe, finetune, finetune_model
from kdss_bench.train.seeding import build_seeded_model
from kdss_bench.train.transfer import build_transfer_model

TINY_MODEL = "convnet_8_16_bn"


def _pretrained(num_outputs: int = 5):
    init = build_seeded_model(TINY_MODEL, in_shape=(3, 16, 16), num_outputs=num_outputs, seed=9)
    with torch.no_grad():
        init.train()(torch.rand(8, 3, 16, 16))  # non-default BN running stats
    return init


def test_reaches_high_accuracy_on_a_separable_toy_set(toy_set):
    events = []
    result = finetune(
        TINY_MODEL, None, toy_set, FinetuneRecipe(iterations=20, batch_size=16), seed=0, device="cpu",
        emit=lambda kind, **kw: events.append((kind, kw)),
    )
    assert isinstance(result, EvalResult)
    assert result.accuracy >= 95.0
    assert result.iterations == 20 and result.images_per_s > 0 and math.isfinite(result.train_loss)
    progress = [kw for kind, kw in events if kind == "progress"]
    assert [p["step"] for p in progress] == [10, 20]
    # cosine to zero, stepped per iteration: step k uses 0.01 * (1 + cos(pi * (k - 1) / 20)) / 2
    assert progress[0]["lr"] == pytest.approx(0.005 * (1 + math.cos(math.pi * 9 / 20)))
    assert progress[-1]["lr"] == pytest.approx(0.005 * (1 + math.cos(math.pi * 19 / 20)))
    kind, metric = events[-1]
    assert kind == "metric" and metric["accuracy"] == result.accuracy and metric["test_loss"] == result.loss


def test_zero_iterations_evaluates_the_transferred_model(toy_set):
    init = _pretrained()
    result = finetune(TINY_MODEL, init, toy_set, FinetuneRecipe(iterations=0), seed=1, device="cpu")
    model = build_transfer_model(TINY_MODEL, init, num_classes=2, in_shape=(3, 16, 16), seed=1)
    expected = accuracy_and_loss(model, toy_set.x_test, toy_set.y_test, toy_set.mean, toy_set.std)
    assert (result.accuracy, result.loss) == expected
    assert 0.0 <= result.accuracy <= 100.0
    assert math.isnan(result.train_loss) and result.images_per_s == 0.0


def test_random_init_zero_iterations_is_a_valid_percentage(toy_set):
    result = finetune(TINY_MODEL, None, toy_set, FinetuneRecipe(iterations=0), seed=3, device="cpu")
    assert 0.0 <= result.accuracy <= 100.0 and math.isfinite(result.loss)


def test_trains_every_parameter_and_evaluates_once_on_the_normalised_test_split(toy_set):
    model = build_transfer_model(TINY_MODEL, _pretrained(), num_classes=2, in_shape=(3, 16, 16), seed=0)
    before = {k: v.clone() for k, v in model.named_parameters()}
    calls = []
    model.register_forward_hook(lambda m, inputs, out: calls.append((m.training, inputs[0].detach().clone())))
    finetune_model(model, toy_set, FinetuneRecipe(iterations=3, batch_size=16), seed=0, device="cpu")
    for name, value in model.named_parameters():
        assert not torch.equal(value, before[name]), f"{name} was not fine-tuned"
    assert [training for training, _ in calls] == [True, True, True, False]
    assert [x.shape[0] for _, x in calls[:3]] == [16, 16, 8]  # last batch of the pass is kept
    expected_test_input = TestTransform(toy_set.mean, toy_set.std)(toy_set.x_test)
    assert torch.allclose(calls[-1][1], expected_test_input, atol=1e-6)


def test_same_seed_same_result_other_seed_differs(toy_set):
    recipe = FinetuneRecipe(iterations=4, batch_size=16)
    a = finetune(TINY_MODEL, None, toy_set, recipe, seed=5, device="cpu")
    b = finetune(TINY_MODEL, None, toy_set, recipe, seed=5, device="cpu")
    c = finetune(TINY_MODEL, None, toy_set, recipe, seed=6, device="cpu")
    assert (a.accuracy, a.loss, a.train_loss) == (b.accuracy, b.loss, b.train_loss)
    assert (a.loss, a.train_loss) != (c.loss, c.train_loss)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_runs_on_cuda_with_data_and_augmentation_on_the_device(toy_set):
    recipe = FinetuneRecipe(iterations=10, batch_size=16)
    result = finetune(TINY_MODEL, _pretrained(), toy_set, recipe, seed=0, device="cuda")
    assert result.accuracy >= 95.0 and result.images_per_s > 0
