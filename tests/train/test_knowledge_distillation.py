"""Target data-free knowledge distillation (Table 4): loss, training on distilled images only, quirks."""

from __future__ import annotations

import copy
import math

import pytest
import torch
from torch import nn

from kdss_bench.data.image_set import ImageSet
from kdss_bench.data.registry import load_dataset
from kdss_bench.errors import DataError, ModelError
from kdss_bench.train.augment import TestTransform
from kdss_bench.train.evaluate import EvalResult, accuracy_and_loss, batch_statistics_accuracy_and_loss
from kdss_bench.train.knowledge_distillation import (
    knowledge_distill,
    knowledge_distill_model,
    soft_cross_entropy,
)
from kdss_bench.train.recipes import KdRecipe, TargetTeacherRecipe
from kdss_bench.train.seeding import build_seeded_model
from kdss_bench.train.target_teacher import train_target_teacher
from kdss_bench.train.transfer import build_transfer_model

STUDENT = "convnet_8_16_bn"
SHAPE = (3, 16, 16)


@pytest.fixture(scope="module")
def digits() -> ImageSet:
    return load_dataset("digits", resolution=16)


@pytest.fixture(scope="module")
def teacher(digits) -> nn.Module:
    """A small classifier teacher of digits (about 60% test accuracy), frozen, in eval mode."""
    model, _ = train_target_teacher(
        digits, TargetTeacherRecipe(epochs=4, batch_size=32, lr=0.05), arch="convnet_16_32_bn", seed=0, device="cpu"
    )
    return model


@pytest.fixture(scope="module")
def images(digits) -> torch.Tensor:
    """64 'distilled' images in network-input space: normalised digits training images."""
    return TestTransform(digits.mean, digits.std)(digits.x_train[:64])


def _student(seed: int = 0) -> nn.Module:
    return build_transfer_model(STUDENT, None, num_classes=10, in_shape=SHAPE, seed=seed)


def _first_bn(model: nn.Module) -> nn.BatchNorm2d:
    return next(m for m in model.modules() if isinstance(m, nn.BatchNorm2d))


def _training_inputs(model: nn.Module) -> list[torch.Tensor]:
    """Records the inputs of ``model``'s forwards that build a graph (training steps, not the test)."""
    seen: list[torch.Tensor] = []
    model.register_forward_hook(
        lambda m, inputs, out: seen.append(inputs[0].detach().clone()) if torch.is_grad_enabled() else None
    )
    return seen


def _is_a_row_of(rows: torch.Tensor, images: torch.Tensor) -> torch.Tensor:
    """For each row of ``rows``, whether it equals one of ``images`` exactly."""
    return (rows[:, None] == images[None]).flatten(2).all(dim=2).any(dim=1)


# --- the loss --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("temperature", [1.0, 2.5])
def test_soft_cross_entropy_is_the_formula(temperature):
    g = torch.Generator().manual_seed(0)
    s, t = torch.randn(6, 5, generator=g), torch.randn(6, 5, generator=g)
    p = torch.exp(t / temperature) / torch.exp(t / temperature).sum(dim=1, keepdim=True)
    log_q = s / temperature - torch.logsumexp(s / temperature, dim=1, keepdim=True)
    expected = sum(-(p[i] * log_q[i]).sum() for i in range(6)) / 6  # mean over the batch, no T^2
    assert torch.allclose(soft_cross_entropy(s, t, temperature), expected, atol=1e-6)


def test_soft_cross_entropy_is_smallest_at_the_teachers_logits():
    g = torch.Generator().manual_seed(1)
    t = torch.randn(4, 7, generator=g)
    p = torch.softmax(t, dim=1)
    entropy = -(p * p.log()).sum(dim=1).mean()
    s = t.clone().requires_grad_(True)
    at_teacher = soft_cross_entropy(s, t)
    at_teacher.backward()
    assert torch.allclose(at_teacher, entropy, atol=1e-6)
    assert s.grad.abs().max() < 1e-6  # a stationary point
    for _ in range(5):
        assert soft_cross_entropy(t + 0.5 * torch.randn(4, 7, generator=g), t) > at_teacher


def test_soft_cross_entropy_refuses_mismatched_logits():
    with pytest.raises(ValueError, match="one shape"):
        soft_cross_entropy(torch.zeros(2, 3), torch.zeros(2, 4))


# --- training --------------------------------------------------------------------------------------------------


def test_distillation_moves_the_student_toward_the_teacher(digits, teacher, images):
    student = _student()
    with torch.no_grad():
        t = teacher(images)
    p = t.softmax(dim=1)
    entropy = -(p * p.log()).sum(dim=1).mean().item()  # the loss's floor: KD loss minus it is the KL divergence

    def agreement_and_kl() -> tuple[float, float]:
        probe = copy.deepcopy(student).train()  # BN statistics of the 64 images, before and after alike
        with torch.no_grad():
            s = probe(images)
        return (s.argmax(1) == t.argmax(1)).float().mean().item(), soft_cross_entropy(s, t).item() - entropy

    agree_before, kl_before = agreement_and_kl()
    events = []
    recipe = KdRecipe(epochs=15, batch_size=32, lr=3e-3, teacher_mode="eval")
    result = knowledge_distill_model(student, teacher, images, digits, recipe, augment=False, gaussian=False, seed=0,
                                     device="cpu", emit=lambda kind, **kw: events.append((kind, kw)))
    agree_after, kl_after = agreement_and_kl()
    assert kl_after < 0.5 * kl_before
    assert agree_after >= agree_before + 0.3 and agree_after >= 0.6
    progress = [kw["loss"] for kind, kw in events if kind == "progress"]
    assert progress[-1] < progress[0]
    assert result.accuracy > 30.0  # well above chance (10%) on the test split, from 64 images and no labels


def test_batches_schedule_and_events(digits, teacher, images):
    student = _student()
    seen = _training_inputs(student)
    events = []
    recipe = KdRecipe(epochs=10, batch_size=24, lr=1e-3)
    result = knowledge_distill_model(student, teacher, images[:40], digits, recipe, augment=False, gaussian=False,
                                     seed=0, device="cpu", emit=lambda kind, **kw: events.append((kind, kw)))
    assert isinstance(result, EvalResult)
    # 40 images in batches of 24: each shuffled pass keeps its last, smaller batch
    assert result.iterations == 20 and [x.shape[0] for x in seen] == [24, 16] * 10
    progress = [kw for kind, kw in events if kind == "progress"]
    assert [p["step"] for p in progress] == [10, 20]
    # cosine over the epochs, stepped per epoch: step 10 is in epoch 5, step 20 in epoch 10
    assert progress[0]["lr"] == pytest.approx(5e-4 * (1 + math.cos(math.pi * 4 / 10)))
    assert progress[1]["lr"] == pytest.approx(5e-4 * (1 + math.cos(math.pi * 9 / 10)))
    kind, metric = events[-1]
    assert kind == "metric" and metric["accuracy"] == result.accuracy and metric["test_loss"] == result.loss
    assert result.images_per_s > 0 and math.isfinite(result.train_loss)


def test_the_student_inherits_the_pretrained_backbone_with_a_new_head(digits, teacher, images):
    init = build_seeded_model(STUDENT, in_shape=SHAPE, num_outputs=512, seed=3)
    with torch.no_grad():
        init.train()(torch.rand(8, *SHAPE))  # non-default BN running statistics
    before = copy.deepcopy(init.state_dict())
    recipe = KdRecipe(epochs=0, student_eval_mode="eval")
    result = knowledge_distill(STUDENT, init, teacher, images, digits, recipe, augment=True, gaussian=False, seed=4,
                               device="cpu")
    expected = build_transfer_model(STUDENT, init, num_classes=10, in_shape=SHAPE, seed=4)
    assert (result.accuracy, result.loss) == accuracy_and_loss(expected, digits.x_test, digits.y_test, digits.mean,
                                                               digits.std, batch_size=recipe.test_batch_size)
    assert result.iterations == 0 and math.isnan(result.train_loss) and result.images_per_s == 0.0
    assert all(torch.equal(v, before[k]) for k, v in init.state_dict().items())  # init untouched


def test_dsa_gives_the_teacher_and_the_student_the_same_augmented_batch(digits, teacher, images):
    def run(augment: bool, dsa: bool) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        student, probe = _student(), copy.deepcopy(teacher)
        student_inputs, teacher_inputs = _training_inputs(student), []
        probe.register_forward_hook(lambda m, inputs, out: teacher_inputs.append(inputs[0].clone()))
        knowledge_distill_model(student, probe, images, digits, KdRecipe(epochs=3, batch_size=32, dsa=dsa),
                                augment=augment, gaussian=False, seed=0, device="cpu")
        return student_inputs, teacher_inputs

    student_inputs, teacher_inputs = run(augment=True, dsa=True)
    assert len(student_inputs) == len(teacher_inputs) == 6
    assert all(torch.equal(s, t) for s, t in zip(student_inputs, teacher_inputs, strict=True))
    augmented = torch.cat(student_inputs)
    assert _is_a_row_of(augmented, images).float().mean() < 0.5  # most rows were transformed
    for augment, dsa in ((False, True), (True, False)):  # the method's flag and the suite's switch
        plain, _ = run(augment=augment, dsa=dsa)
        assert _is_a_row_of(torch.cat(plain), images).all()  # raw distilled images, no normalisation


def test_gaussian_feeds_noise_never_the_distilled_images(digits, teacher):
    zeros = torch.zeros(320, *SHAPE)
    student = _student()
    seen = _training_inputs(student)
    events = []
    recipe = KdRecipe(epochs=1, batch_size=32, lr=1e-4, gaussian_lr=1e-3)
    noise = knowledge_distill_model(student, teacher, zeros, digits, recipe, augment=True, gaussian=True, seed=0,
                                    device="cpu", emit=lambda kind, **kw: events.append((kind, kw)))
    assert len(seen) == 10
    batches = torch.stack(seen)
    assert batches.abs().amin(dim=(2, 3, 4)).gt(0).all()  # no zero pixel: the images were never used
    assert abs(batches.mean().item()) < 0.02 and abs(batches.std().item() - 1.0) < 0.02  # standard normal
    assert not torch.equal(seen[0], seen[1])  # fresh noise for every batch
    assert [kw["lr"] for kind, kw in events if kind == "progress"] == [1e-3]  # gaussian_lr
    plain = knowledge_distill(STUDENT, None, teacher, zeros, digits, recipe, augment=False, gaussian=False, seed=0,
                              device="cpu")
    assert math.isfinite(noise.loss) and (noise.loss, noise.train_loss) != (plain.loss, plain.train_loss)


def test_same_seed_same_result_bit_for_bit_another_seed_differs(digits, teacher, images):
    recipe = KdRecipe(epochs=3, batch_size=24, lr=1e-3)

    def run(seed: int, gaussian: bool = False) -> EvalResult:
        return knowledge_distill(STUDENT, None, teacher, images, digits, recipe, augment=True, gaussian=gaussian,
                                 seed=seed, device="cpu")

    a, b, c = run(5), run(5), run(6)
    assert (a.accuracy, a.loss, a.train_loss, a.iterations) == (b.accuracy, b.loss, b.train_loss, b.iterations)
    assert (a.loss, a.train_loss) != (c.loss, c.train_loss)
    g1, g2 = run(5, gaussian=True), run(5, gaussian=True)
    assert (g1.accuracy, g1.loss, g1.train_loss) == (g2.accuracy, g2.loss, g2.train_loss)
    weights = []
    for _ in range(2):
        student = _student()
        knowledge_distill_model(student, teacher, images, digits, recipe, augment=True, gaussian=False, seed=5,
                                device="cpu")
        weights.append(student.state_dict())
    assert all(torch.equal(v, weights[1][k]) for k, v in weights[0].items())


# --- the two official quirks -----------------------------------------------------------------------------------


def _teacher_calls(teacher: nn.Module, digits, images, mode: str) -> list[tuple[bool, torch.Tensor, torch.Tensor,
                                                                              torch.Tensor]]:
    """(training, input, output, first BN's running mean after the call) for each teacher forward of a KD run."""
    probe = copy.deepcopy(teacher)
    calls = []
    probe.register_forward_hook(lambda m, inputs, out: calls.append(
        (m.training, inputs[0].clone(), out.clone(), _first_bn(m).running_mean.clone())))
    before = copy.deepcopy(probe.state_dict())
    knowledge_distill_model(_student(), probe, images, digits, KdRecipe(epochs=2, batch_size=32, teacher_mode=mode),
                            augment=True, gaussian=False, seed=0, device="cpu")
    assert all(torch.equal(v, before[k]) for k, v in probe.state_dict().items())  # the caller's teacher is untouched
    assert not probe.training
    return calls


def test_teacher_mode_eval_uses_running_statistics_and_leaves_them_alone(digits, teacher, images):
    calls = _teacher_calls(teacher, digits, images, "eval")
    assert len(calls) == 4 and not any(training for training, *_ in calls)
    for _, x, out, running_mean in calls:
        with torch.no_grad():
            assert torch.allclose(out, teacher.eval()(x), atol=1e-6)
        assert torch.equal(running_mean, _first_bn(teacher).running_mean)  # never moved


def test_teacher_mode_train_uses_batch_statistics_the_official_quirk(digits, teacher, images):
    assert KdRecipe().teacher_mode == "train"
    calls = _teacher_calls(teacher, digits, images, "train")
    assert len(calls) == 4 and all(training for training, *_ in calls)
    for _, x, out, running_mean in calls:
        with torch.no_grad():
            assert torch.allclose(out, copy.deepcopy(teacher).train()(x), atol=1e-5)  # batch statistics
            assert not torch.allclose(out, teacher.eval()(x), atol=1e-3)
        assert not torch.equal(running_mean, _first_bn(teacher).running_mean)  # a train-mode forward moves them


def test_student_eval_mode_changes_only_how_the_student_is_tested(digits, teacher, images):
    assert KdRecipe().student_eval_mode == "train" and KdRecipe().test_batch_size == 512
    students, results = {}, {}
    for mode in ("train", "eval"):
        students[mode] = _student()
        recipe = KdRecipe(epochs=3, batch_size=32, lr=1e-3, student_eval_mode=mode, test_batch_size=100)
        results[mode] = knowledge_distill_model(students[mode], teacher, images, digits, recipe, augment=True,
                                                gaussian=False, seed=0, device="cpu")
    trained = students["eval"].state_dict()
    assert all(torch.equal(v, trained[k]) for k, v in students["train"].state_dict().items())  # same training
    test = (digits.x_test, digits.y_test, digits.mean, digits.std)
    assert (results["eval"].accuracy, results["eval"].loss) == accuracy_and_loss(students["train"], *test,
                                                                                    batch_size=100)
    assert (results["train"].accuracy, results["train"].loss) == batch_statistics_accuracy_and_loss(
        students["eval"], *test, batch_size=100)
    assert results["train"].loss != results["eval"].loss


def test_a_train_mode_test_uses_each_batchs_statistics_and_restores_the_model(digits):
    model = _student()
    with torch.no_grad():
        model.train()(torch.randn(16, *SHAPE))
    model.eval()
    before = copy.deepcopy(model.state_dict())
    test = (digits.x_test, digits.y_test, digits.mean, digits.std)
    by_100 = batch_statistics_accuracy_and_loss(model, *test, batch_size=100)
    by_all = batch_statistics_accuracy_and_loss(model, *test, batch_size=len(digits.y_test))
    assert by_100 != by_all  # the statistics of each test batch matter
    manual = copy.deepcopy(model).train()
    with torch.no_grad():
        logits = manual(TestTransform(digits.mean, digits.std)(digits.x_test))
    loss = torch.nn.functional.cross_entropy(logits, digits.y_test).item()
    accuracy = 100.0 * (logits.argmax(1) == digits.y_test).sum().item() / len(digits.y_test)
    assert by_all[0] == pytest.approx(accuracy) and by_all[1] == pytest.approx(loss, rel=1e-5)
    assert not model.training and all(torch.equal(v, before[k]) for k, v in model.state_dict().items())


# --- refusals --------------------------------------------------------------------------------------------------


def test_images_at_another_resolution_or_as_pixels_are_refused(digits, teacher, images):
    for bad in (torch.zeros(8, 3, 32, 32), images[:8].to(torch.uint8), torch.zeros(0, *SHAPE)):
        with pytest.raises(DataError, match="distilled images"):
            knowledge_distill(STUDENT, None, teacher, bad, digits, KdRecipe(epochs=1), augment=False, gaussian=False,
                              seed=0, device="cpu")


def test_a_teacher_of_other_classes_is_refused(digits, images):
    wrong = build_seeded_model(STUDENT, in_shape=SHAPE, num_outputs=7, seed=0)
    with pytest.raises(ModelError, match="10 classes"):
        knowledge_distill(STUDENT, None, wrong, images, digits, KdRecipe(epochs=1), augment=False, gaussian=False,
                          seed=0, device="cpu")


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_runs_on_cuda_with_every_input_mode(digits, teacher, images):
    recipe = KdRecipe(epochs=5, batch_size=32, lr=1e-3)
    for augment, gaussian in ((True, False), (False, False), (False, True)):
        result = knowledge_distill(STUDENT, None, teacher, images, digits, recipe, augment=augment, gaussian=gaussian,
                                   seed=0, device="cuda")
        assert result.images_per_s > 0 and 0.0 <= result.accuracy <= 100.0 and math.isfinite(result.loss)
