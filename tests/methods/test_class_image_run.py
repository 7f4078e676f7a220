"""The state DSA and DM share: initial images, per-class sampling, checkpoints and resumption."""

from __future__ import annotations

import pytest
import torch

from kdss_bench.data.registry import load_dataset
from kdss_bench.errors import DataError
from kdss_bench.methods import dm
from kdss_bench.methods.context import DistillContext
from kdss_bench.methods.dm import DmRun
from kdss_bench.methods.dm_settings import DmSettings
from kdss_bench.train.augment import normalize, to_float

TINY = DmSettings(iterations=4, batch_real=8, checkpoint_every=2)


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits", resolution=16)


def make_ctx(digits, settings=TINY, budget=20, work_dir=None, emit=None):
    extra = {} if emit is None else {"emit": emit}
    return DistillContext(source=digits, teacher=None, budget=budget, settings=settings, model="convnet_8_16_bn",
                          seed=0, device=torch.device("cpu"), work_dir=work_dir, **extra)


def test_initial_images_are_normalised_real_images_of_their_class(digits):
    run = DmRun(make_ctx(digits), TINY)
    real = normalize(to_float(digits.x_train), digits.mean, digits.std)
    distance = (run.x_syn.detach()[:, None] - real[None]).abs().flatten(2).amax(-1)  # (m, N)
    nearest = distance.argmin(1)
    assert torch.all(distance.min(1).values < 1e-5), "every synthetic image starts as a real training image"
    assert torch.equal(digits.y_train[nearest], run.y_syn), "... of the class it is labelled with"
    assert nearest.unique().numel() == 20, "distinct images"


def test_noise_init_starts_from_gaussian_noise(digits):
    from dataclasses import replace

    run = DmRun(make_ctx(digits, replace(TINY, init="noise")), replace(TINY, init="noise"))
    noise = run.x_syn.detach()
    assert abs(noise.mean().item()) < 0.2 and 0.8 < noise.std().item() < 1.2


def test_real_batches_come_from_the_requested_class(digits):
    run = DmRun(make_ctx(digits), TINY)
    batch = run.real_images(3, 5, torch.Generator().manual_seed(0))
    real = normalize(to_float(digits.x_train), digits.mean, digits.std)
    nearest = (batch[:, None] - real[None]).abs().flatten(2).amax(-1).argmin(1)
    assert batch.shape == (5, 3, 16, 16) and torch.all(digits.y_train[nearest] == 3)


def test_a_budget_beyond_a_class_is_a_data_error(digits):
    # 100 per class; class 0 of the digits train split has 99 (a budget beyond all 1,000 training
    # images is refused earlier, by the settings check that validate runs)
    with pytest.raises(DataError, match="class 0 has 99 training images but 100 are needed; lower the suite's budget"):
        DmRun(make_ctx(digits, budget=1_000), TINY)


def test_interrupted_run_resumes_to_the_same_result(digits, tmp_path):
    straight = dm.distill(make_ctx(digits, work_dir=tmp_path / "a"))
    work = tmp_path / "b"
    first = DmRun(make_ctx(digits, work_dir=work), TINY)
    for _ in range(2):
        first.losses.append(first.iteration_loss(first.step))
        first.step += 1
    first.save_checkpoint(elapsed=1.0)
    first.iteration_loss(first.step)  # work after the checkpoint is lost by the "crash"
    events = []
    resumed = dm.distill(make_ctx(digits, work_dir=work, emit=lambda kind, **values: events.append((kind, values))))
    assert ("metric", {"step": 2, "total": 4, "resumed_from": 2}) in events
    assert [v["step"] for kind, v in events if kind == "progress"] == [3, 4], "only the lost iterations rerun"
    torch.testing.assert_close(resumed.images, straight.images)
    assert resumed.manifest["loss"] == straight.manifest["loss"]
    assert not (work / "dm_checkpoint.pt").exists(), "the checkpoint is removed once the set is complete"
