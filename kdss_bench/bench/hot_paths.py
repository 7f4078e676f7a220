"""``kdss-bench bench``: one table of every hot path of distillation and evaluation.

Each case is built once (random data, random weights: costs do not depend on the values) and
then timed by :func:`~kdss_bench.bench.timing.time_calls`. The same cases run under
pytest-benchmark (``tests/bench``) at tiny sizes, so a broken case fails the test suite.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

import torch

from kdss_bench.bench.krr_step import KrrStepConfig, build_krr_run, random_source
from kdss_bench.bench.timing import summary, time_calls
from kdss_bench.methods.kernel_ridge_head import kernel_ridge_predict


@dataclass(frozen=True)
class HotPathSizes:
    """Sizes of the table's cases; defaults are the official CIFAR-100 configuration."""

    m: int = 1000
    n: int = 1024
    solve_m: tuple[int, ...] = (1000, 2000)
    feature_dim: int = 8192  # convnet_128_256_512_bn at 32 px: 512 x 4 x 4
    target_dim: int = 512
    finetune_batch: int = 256
    model: str = "convnet_128_256_512_bn"
    teacher: str = "resnet18"
    resolution: int = 32
    source_images: int = 5000


@dataclass(frozen=True)
class Case:
    """A named callable to time; ``items`` is what one call processes (for a per-second rate)."""

    name: str
    size: str
    call: Callable[[], object]
    items: int


def hot_path_cases(sizes: HotPathSizes, device: torch.device) -> list[Case]:
    """The table's cases, in the order a distillation and an evaluation meet them."""
    config = KrrStepConfig(m=sizes.m, n=sizes.n, model=sizes.model, teacher=sizes.teacher,
                           resolution=sizes.resolution, source_images=max(sizes.source_images, sizes.m))
    exact = build_krr_run(config, device)
    # The step's cost does not depend on K; 2 views keep the one-off cache build short.
    fast = build_krr_run(dataclasses.replace(config, mode="fast", teacher_views=2), device)
    fast.build_target_cache()
    x_syn, y_syn = exact.x_syn.detach(), exact.y_syn.detach()
    x_real = exact.real_batch().contiguous(memory_format=torch.channels_last)
    size = f"m={sizes.m} n={sizes.n}"

    def teacher_forward():
        with torch.inference_mode():
            return exact.teacher(x_real)

    cases = [
        Case("outer step, exact", size, exact.outer_step, sizes.n),
        Case("outer step, fast", size, fast.outer_step, sizes.n),
        Case("pool update (one online step)", f"m={sizes.m}", lambda: exact.pool.online_step(0, x_syn, y_syn),
             sizes.m),
        Case("teacher forward", f"n={sizes.n} {sizes.teacher}", teacher_forward, sizes.n),
        Case("augmentation batch", f"n={sizes.n}", exact.real_batch, sizes.n),
    ]
    for m in sizes.solve_m:
        for solver in ("cholesky", "lu"):
            cases.append(Case(f"KRR head + backward, {solver}", f"m={m} p={sizes.feature_dim}",
                              _krr_solve(m, sizes, solver, device), m))
    cases.append(_finetune_case(sizes, device))
    cases.append(_pretrain_case(sizes, x_syn, y_syn, device))
    return cases


def _krr_solve(m: int, sizes: HotPathSizes, solver: str, device: torch.device) -> Callable[[], object]:
    generator = torch.Generator(device=device).manual_seed(0)
    f_syn = torch.randn(m, sizes.feature_dim, device=device, generator=generator).requires_grad_(True)
    f_real = torch.randn(sizes.n, sizes.feature_dim, device=device, generator=generator)
    y_syn = torch.randn(m, sizes.target_dim, device=device, generator=generator).requires_grad_(True)

    def call():
        prediction = kernel_ridge_predict(f_real, f_syn, y_syn, solver=solver)
        return torch.autograd.grad(prediction.square().mean(), [f_syn, y_syn])

    return call


def _finetune_case(sizes: HotPathSizes, device: torch.device) -> Case:
    from kdss_bench.train.finetune import FinetuneRecipe, FinetuneSteps
    from kdss_bench.train.transfer import build_transfer_model

    target = random_source(sizes.finetune_batch * 4, sizes.resolution)
    model = build_transfer_model(sizes.model, None, num_classes=100, in_shape=(3, sizes.resolution, sizes.resolution),
                                 seed=0)
    steps = FinetuneSteps(model, target, FinetuneRecipe(batch_size=sizes.finetune_batch), seed=0, device=device)
    return Case("fine-tuning step", f"batch={sizes.finetune_batch} {sizes.model}", steps.step, sizes.finetune_batch)


def _pretrain_case(sizes: HotPathSizes, x_syn: torch.Tensor, y_syn: torch.Tensor, device: torch.device) -> Case:
    from kdss_bench.train.pretrain import PretrainRecipe, pretrain_on_targets

    recipe = PretrainRecipe(epochs=1)
    return Case("pre-training epoch", f"m={sizes.m} batch=256 {sizes.model}",
                lambda: pretrain_on_targets(sizes.model, x_syn, y_syn, recipe, seed=0, device=device), sizes.m)


def run_hot_paths(sizes: HotPathSizes, *, repeats: int = 5, warmup: int = 1,
                  device: torch.device | str = "cpu", on_row: Callable[[dict], None] | None = None) -> list[dict]:
    """Times every case; returns one row per case: name, size, median/min/max seconds, items per second."""
    device = torch.device(device)
    rows = []
    for case in hot_path_cases(sizes, device):
        timed = summary(time_calls(case.call, repeats=repeats, warmup=warmup, device=device))
        row = {"path": case.name, "size": case.size, **timed, "items_per_s": case.items / timed["median_s"]}
        rows.append(row)
        if on_row is not None:
            on_row(row)
    return rows
