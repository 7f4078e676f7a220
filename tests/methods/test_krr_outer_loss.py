"""The package's KRR-ST outer loss matches the plain reference statement: value and gradients."""

from __future__ import annotations

import pytest
import torch

from kdss_bench.methods.krr_st import krr_outer_loss
from kdss_bench.models.registry import build_model

from .reference_krr_step import reference_outer_loss


def test_loss_and_gradients_match_the_reference():
    torch.manual_seed(0)
    model = build_model("convnet_8_16_bn", in_shape=(3, 16, 16), num_outputs=6).eval()
    x_syn = torch.rand(10, 3, 16, 16, requires_grad=True)
    y_syn = torch.randn(10, 6, requires_grad=True)
    x_real, y_real = torch.randn(24, 3, 16, 16), torch.randn(24, 6)

    loss = krr_outer_loss(model, x_syn, y_syn, x_real, y_real, ridge=1e-3)
    grads = torch.autograd.grad(loss, [x_syn, y_syn])
    expected = reference_outer_loss(model, x_syn, y_syn, x_real, y_real, ridge=1e-3)
    expected_grads = torch.autograd.grad(expected, [x_syn, y_syn])

    torch.testing.assert_close(loss.double(), expected, rtol=1e-4, atol=1e-6)
    for got, want in zip(grads, expected_grads, strict=True):
        torch.testing.assert_close(got.double(), want.double(), rtol=1e-3, atol=1e-5)


def _teacher_with_statistics():
    from kdss_bench.teacher.backbone import build_teacher_backbone

    torch.manual_seed(1)
    teacher = build_teacher_backbone("convnet_8_16_bn", (3, 16, 16))
    for module in teacher.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.normal_(0, 0.1)
            module.running_var.uniform_(0.5, 2.0)
    return teacher.eval().requires_grad_(False)


@pytest.mark.parametrize("options", [{}, {"solver": "lu", "channels_last": False}])
def test_whole_outer_step_matches_the_reference_step(options):
    """Loss, gradients and the pool model's online step equal the plain official statement."""
    import copy

    from kdss_bench.data.registry import load_dataset
    from kdss_bench.methods.context import DistillContext
    from kdss_bench.methods.krr_st import KrrStRun
    from kdss_bench.methods.settings import KrrStSettings

    from .reference_krr_step import reference_pool_update, reference_step_loss_and_grads

    settings = KrrStSettings(outer_steps=4, lr=1e-2, real_batch=32, pool_size=3, online_iterations=50,
                             checkpoint_every=0, **options)
    teacher = _teacher_with_statistics()
    ctx = DistillContext(source=load_dataset("digits", resolution=16), teacher=teacher, budget=12,
                         settings=settings, model="convnet_8_16_bn", seed=0, device=torch.device("cpu"))
    run = KrrStRun(ctx, settings)
    run.pool.warm_start(run.x_syn, run.y_syn)
    for _ in range(2):  # leave the initial state behind: Adam moments, trained pool models
        run.outer_step()

    idx = int(copy.deepcopy(run.rng).integers(settings.pool_size))
    model_before = copy.deepcopy(run.pool.models[idx])
    optimizer_state = copy.deepcopy(run.pool.optimizers[idx].state_dict())
    x_syn = run.x_syn.detach().clone().requires_grad_(True)
    y_syn = run.y_syn.detach().clone().requires_grad_(True)
    seen = []
    real_batch = run.real_batch
    run.real_batch = lambda: seen.append(real_batch()) or seen[-1]

    loss = run.outer_step()
    expected_loss, expected_grads = reference_step_loss_and_grads(
        copy.deepcopy(model_before), teacher, x_syn, y_syn, seen[0].contiguous())
    assert loss == pytest.approx(float(expected_loss.detach()), rel=1e-4)
    for got, want in zip((run.x_syn.grad, run.y_syn.grad), expected_grads, strict=True):
        torch.testing.assert_close(got, want, rtol=1e-3, atol=1e-6)

    reference_model = copy.deepcopy(model_before)
    reference_optimizer = torch.optim.SGD(reference_model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-3)
    reference_optimizer.load_state_dict(optimizer_state)
    reference_pool_update(reference_model, reference_optimizer, run.x_syn.detach(), run.y_syn.detach())
    for (name, got), want in zip(run.pool.models[idx].state_dict().items(),
                                 reference_model.state_dict().values(), strict=True):
        torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-5, msg=f"pool model tensor {name}")
