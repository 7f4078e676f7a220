from __future__ import annotations

import copy
import math

import pytest
import torch

from kdss_bench.train.evaluate import accuracy_and_loss
from kdss_bench.train.finetune import FinetuneRecipe, finetune, finetune_model
from kdss_bench.train.finetune_batched import finetune_models_batched, finetune_seeds
from kdss_bench.train.seeding import build_seeded_model
from kdss_bench.train.transfer import build_transfer_model

TINY_MODEL = "convnet_8_16_bn"
ATOL, RTOL = 1e-5, 1e-4


def _pretrained(num_outputs: int = 5):
    init = build_seeded_model(TINY_MODEL, in_shape=(3, 16, 16), num_outputs=num_outputs, seed=9)
    with torch.no_grad():
        init.train()(torch.rand(8, 3, 16, 16))  # non-default BN running stats
    return init


def _models(seeds, init=None, model_name=TINY_MODEL, num_classes=2):
    return [
        build_transfer_model(model_name, init, num_classes=num_classes, in_shape=(3, 16, 16), seed=s) for s in seeds
    ]


def _assert_same_state(a: torch.nn.Module, b: torch.nn.Module) -> None:
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys()
    for key in sa:
        torch.testing.assert_close(sa[key], sb[key], atol=ATOL, rtol=RTOL, msg=lambda m, k=key: f"{k}: {m}")


def test_batched_training_equals_the_sequential_loop_per_seed(toy_set):
    seeds = [0, 1, 2]
    recipe = FinetuneRecipe(iterations=4, batch_size=16)  # 16, 16, 8, then a new pass: partial batch included
    batched = _models(seeds, init=_pretrained())
    sequential = [copy.deepcopy(m) for m in batched]
    initial_bn = batched[0].state_dict()["layers.0.block.1.running_mean"].clone()
    initial_count = int(batched[0].state_dict()["layers.0.block.1.num_batches_tracked"])  # 1: _pretrained's pass

    results = finetune_models_batched(batched, toy_set, recipe, seeds=seeds, device="cpu")
    expected = [
        finetune_model(m, toy_set, recipe, seed=s, device="cpu") for m, s in zip(sequential, seeds, strict=True)
    ]

    for model, reference in zip(batched, sequential, strict=True):
        _assert_same_state(model, reference)  # parameters and BN running stats / batch counts
        assert int(model.state_dict()["layers.0.block.1.num_batches_tracked"]) == initial_count + recipe.iterations
    assert not torch.allclose(batched[0].state_dict()["layers.0.block.1.running_mean"], initial_bn)
    # the seeds really trained differently: the equality above is not a trivial one
    assert not torch.allclose(batched[0].fc.weight, batched[1].fc.weight)
    for got, want in zip(results, expected, strict=True):
        assert got.accuracy == want.accuracy
        assert got.loss == pytest.approx(want.loss, rel=RTOL, abs=ATOL)
        assert got.train_loss == pytest.approx(want.train_loss, rel=RTOL, abs=ATOL)
        assert got.iterations == want.iterations == recipe.iterations


def test_mismatched_architectures_are_rejected(toy_set):
    recipe = FinetuneRecipe(iterations=1, batch_size=8)
    deeper_and_shallower = _models([0]) + _models([1], model_name="convnet_8_bn")
    with pytest.raises(ValueError, match="one architecture.*model 1"):
        finetune_models_batched(deeper_and_shallower, toy_set, recipe, seeds=[0, 1], device="cpu")
    other_head = _models([0]) + _models([1], num_classes=3)
    with pytest.raises(ValueError, match=r"one architecture.*'fc\.weight' of shape \(3, 256\)"):
        finetune_models_batched(other_head, toy_set, recipe, seeds=[0, 1], device="cpu")
    with pytest.raises(ValueError, match="one seed each"):
        finetune_models_batched(_models([0, 1]), toy_set, recipe, seeds=[0], device="cpu")


def test_reports_throughput_progress_and_one_metric_per_seed(toy_set):
    events = []
    recipe = FinetuneRecipe(iterations=3, batch_size=8)
    results = finetune_models_batched(
        _models([0, 1]), toy_set, recipe, seeds=[0, 1], device="cpu", emit=lambda kind, **kw: events.append((kind, kw))
    )
    assert len(results) == 2
    for r in results:
        assert r.iterations == 3 and r.images_per_s > 0 and math.isfinite(r.train_loss)
    assert [kw["step"] for kind, kw in events if kind == "progress"] == [3]
    metrics = [kw for kind, kw in events if kind == "metric"]
    assert [m["accuracy"] for m in metrics] == [r.accuracy for r in results]
    assert [kind for kind, _ in events[-2:]] == ["metric", "metric"]


def test_zero_iterations_evaluates_the_untrained_models(toy_set):
    models = _models([3, 4], init=_pretrained())
    expected = [accuracy_and_loss(m, toy_set.x_test, toy_set.y_test, toy_set.mean, toy_set.std) for m in models]
    results = finetune_models_batched(models, toy_set, FinetuneRecipe(iterations=0), seeds=[3, 4], device="cpu")
    assert [(r.accuracy, r.loss) for r in results] == expected
    for r in results:
        assert r.iterations == 0 and r.images_per_s == 0.0 and math.isnan(r.train_loss)


def test_finetune_seeds_matches_finetune_per_seed(toy_set):
    recipe = FinetuneRecipe(iterations=3, batch_size=16)
    results = finetune_seeds(TINY_MODEL, [None, None], toy_set, recipe, seeds=[0, 1], device="cpu")
    for seed, got in zip([0, 1], results, strict=True):
        want = finetune(TINY_MODEL, None, toy_set, recipe, seed=seed, device="cpu")
        assert got.accuracy == want.accuracy
        assert got.loss == pytest.approx(want.loss, rel=RTOL, abs=ATOL)
        assert got.train_loss == pytest.approx(want.train_loss, rel=RTOL, abs=ATOL)
    with pytest.raises(ValueError, match="one init per seed"):
        finetune_seeds(TINY_MODEL, [None], toy_set, recipe, seeds=[0, 1], device="cpu")


def test_finetune_seeds_leaves_the_init_untouched(toy_set):
    init = _pretrained()
    before = copy.deepcopy(init.state_dict())
    finetune_seeds(TINY_MODEL, [init, init], toy_set, FinetuneRecipe(iterations=1, batch_size=8), seeds=[0, 1],
                   device="cpu")
    for key, value in init.state_dict().items():
        assert torch.equal(value, before[key]), key


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_batched_equals_sequential_on_cuda(toy_set):
    seeds = [0, 1]
    recipe = FinetuneRecipe(iterations=3, batch_size=16)
    batched = _models(seeds, init=_pretrained())
    sequential = [copy.deepcopy(m) for m in batched]
    finetune_models_batched(batched, toy_set, recipe, seeds=seeds, device="cuda")
    for m, s in zip(sequential, seeds, strict=True):
        finetune_model(m, toy_set, recipe, seed=s, device="cuda")
    for model, reference in zip(batched, sequential, strict=True):
        sa, sb = model.state_dict(), reference.state_dict()
        for key in sa:  # TF32 / cuDNN algorithm choices: looser than on the CPU
            torch.testing.assert_close(sa[key], sb[key], atol=1e-3, rtol=1e-2)
