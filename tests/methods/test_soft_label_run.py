"""kdss_bench.methods.soft_label_run: KIP's and FRePo's shared state, loop, checkpoints and result."""

from __future__ import annotations

import torch

from kdss_bench.methods.context import DistillContext
from kdss_bench.methods.kip_settings import KipSettings
from kdss_bench.methods.real_images import normalized_train_images
from kdss_bench.methods.soft_label_run import SoftLabelRun
from kdss_bench.methods.soft_labels import centred_one_hot

from .tiny_sources import tiny_source


class Interrupted(Exception):
    pass


class PullToTargets(SoftLabelRun):
    """A stand-in method: plain SGD pulling the images to 0 and the labels to 1 (the loop is what is tested)."""

    method = "pull"
    CHECKPOINTED = (*SoftLabelRun.CHECKPOINTED, "seen_steps")
    stop_at: int | None = None

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.seen_steps: list[int] = []

    def make_optimizer(self, params):
        optimizer = torch.optim.SGD(params, lr=0.1, momentum=0.9)
        return optimizer, torch.optim.lr_scheduler.StepLR(optimizer, step_size=3, gamma=0.5)

    def outer_step(self) -> float:
        if self.stop_at is not None and self.step == self.stop_at:
            raise Interrupted
        self.seen_steps.append(self.step)
        self.optimizer.zero_grad()
        loss = self.x_syn.square().mean() + (self.y_syn - 1).square().mean()
        loss.backward()
        self.optimizer.step()
        self.scheduler.step()
        return float(loss.detach())

    def extra_manifest(self):
        return {"pull": True}


def make_ctx(work_dir=None, seed=0, events=None) -> DistillContext:
    emit = (lambda kind, **values: events.append((kind, values))) if events is not None else None
    extra = {"emit": emit} if emit else {}
    return DistillContext(source=tiny_source(), teacher=None, budget=7, settings=KipSettings(), model="convnet_4_bn",
                          seed=seed, device=torch.device("cpu"), work_dir=work_dir, **extra)


def test_the_run_starts_from_class_balanced_real_images_and_centred_one_hot_labels():
    ctx = make_ctx()
    run = PullToTargets(ctx, ctx.settings, steps=5, checkpoint_every=0)
    assert run.per_class == [3, 2, 2] and run.in_shape == (3, 4, 4)
    labels = ctx.source.y_train[run.init_indices]
    assert labels.tolist() == [0, 0, 0, 1, 1, 2, 2] and len(set(run.init_indices.tolist())) == 7
    torch.testing.assert_close(run.x_syn.detach(), normalized_train_images(ctx.source, run.init_indices))
    torch.testing.assert_close(run.y_syn.detach(), centred_one_hot(labels, 3))
    assert run.x_syn.requires_grad and run.y_syn.requires_grad
    again = PullToTargets(make_ctx(), ctx.settings, steps=5, checkpoint_every=0)
    other = PullToTargets(make_ctx(seed=1), ctx.settings, steps=5, checkpoint_every=0)
    assert torch.equal(again.init_indices, run.init_indices) and not torch.equal(other.init_indices, run.init_indices)


def test_execute_runs_every_step_and_returns_a_soft_set_with_its_manifest():
    events = []
    ctx = make_ctx(events=events)
    run = PullToTargets(ctx, ctx.settings, steps=6, checkpoint_every=0)
    result = run.execute()
    assert result.target_kind == "soft" and result.targets.shape == (7, 3) and result.images.shape == (7, 3, 4, 4)
    assert not result.images.requires_grad and run.step == 6 and len(run.losses) == 6
    assert run.losses[-1] < run.losses[0]
    manifest = result.manifest
    assert manifest["method"] == "pull" and manifest["input_space"] == "normalized" and manifest["pull"] is True
    assert manifest["images_per_class"] == [3, 2, 2] and manifest["init_source_indices"] == run.init_indices.tolist()
    assert manifest["cost"]["steps"] == 6
    assert manifest["loss"]["first"] == run.losses[0]
    assert abs(manifest["loss"]["last20_mean"] - sum(run.losses) / 6) < 1e-9
    progress = [values for kind, values in events if kind == "progress"]
    assert [p["step"] for p in progress] == list(range(1, 7)) and progress[-1]["lr"] == run.last_lr()
    assert run.last_lr() == 0.1 * 0.5 ** 2, "the scheduler stepped once per step"


def test_an_interrupted_run_resumes_from_its_checkpoint_to_the_same_result(tmp_path):
    ctx = make_ctx()
    whole = PullToTargets(ctx, ctx.settings, steps=7, checkpoint_every=2).execute()

    work = tmp_path / "work"
    first = PullToTargets(make_ctx(work), ctx.settings, steps=7, checkpoint_every=2)
    first.stop_at = 5
    try:
        first.execute()
    except Interrupted:
        pass
    checkpoint = work / "pull_checkpoint.pt"
    assert checkpoint.is_file() and torch.load(checkpoint, weights_only=True)["step"] == 4

    events = []
    second = PullToTargets(make_ctx(work, events=events), ctx.settings, steps=7, checkpoint_every=2)
    result = second.execute()
    assert second.seen_steps == list(range(7)), "a subclass's own CHECKPOINTED part came back with the checkpoint"
    assert ("metric", {"step": 4, "total": 7, "resumed_from": 4}) in events
    torch.testing.assert_close(result.images, whole.images, rtol=0, atol=0)
    torch.testing.assert_close(result.targets, whole.targets, rtol=0, atol=0)
    assert second.losses[:4] == first.losses[:4] and len(second.losses) == 7, "the losses before the cut are kept"
    assert second.last_lr() == 0.1 * 0.5 ** 2, "the scheduler's state was restored"
    assert not checkpoint.exists(), "a finished run removes its checkpoint"
