"""``kdss-bench bench krr-step``: the KRR-ST outer step, pool update included, timed in isolation.

Builds the state of a distillation at the official CIFAR-100 configuration (pool of 10
``convnet_128_256_512_bn``, ResNet18 teacher, 32 px, real batch with crop, flip and
normalisation) from random data and a randomly initialised teacher: the work of a step does not
depend on the weights. The pool's warm start is replaced by random step counters for the same
reason, so a benchmark does not spend minutes training models it only needs to time.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import torch

from kdss_bench.bench.timing import summary, time_calls
from kdss_bench.data.image_set import ImageSet
from kdss_bench.methods.context import DistillContext
from kdss_bench.methods.krr_st import KrrStRun
from kdss_bench.methods.settings import KrrStSettings
from kdss_bench.teacher.backbone import build_teacher_backbone

CIFAR_MEAN, CIFAR_STD = (0.5071, 0.4866, 0.4409), (0.2673, 0.2564, 0.2762)


@dataclass(frozen=True)
class KrrStepConfig:
    """What one timing measures. Defaults: the official CIFAR-100 run (m = 1000, n = 1024)."""

    m: int = 1000
    n: int = 1024
    mode: str = "exact"
    precision: str = "fp32"
    model: str = "convnet_128_256_512_bn"
    teacher: str = "resnet18"
    resolution: int = 32
    pool_size: int = 10
    online_iterations: int = 1000
    teacher_views: int = 10
    source_images: int = 5000
    channels_last: bool = True
    solver: str = "cholesky"
    compile: bool = False
    seed: int = 0

    def settings(self) -> KrrStSettings:
        return KrrStSettings(outer_steps=160_000, real_batch=self.n, pool_size=self.pool_size,
                             online_iterations=self.online_iterations, checkpoint_every=0, mode=self.mode,
                             teacher_views=self.teacher_views, precision=self.precision,
                             channels_last=self.channels_last, solver=self.solver, compile=self.compile)


def random_source(images: int, resolution: int, seed: int = 0, num_classes: int = 1) -> ImageSet:
    """Uniform random uint8 images, labels cycling over the classes; one test image per class.

    Costs of distillation and training do not depend on what the images show.
    """
    generator = torch.Generator().manual_seed(seed)
    x = torch.randint(0, 256, (images, 3, resolution, resolution), dtype=torch.uint8, generator=generator)
    y = torch.arange(images) % num_classes
    x_test = torch.randint(0, 256, (num_classes, 3, resolution, resolution), dtype=torch.uint8, generator=generator)
    classes = tuple(f"class{i}" for i in range(num_classes))
    return ImageSet("random", x, y, x_test, torch.arange(num_classes), classes, CIFAR_MEAN, CIFAR_STD)


def random_teacher(arch: str, resolution: int, device: torch.device) -> torch.nn.Module:
    """A frozen teacher with weights drawn from seed 0, leaving the global generator as it was."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        teacher = build_teacher_backbone(arch, (3, resolution, resolution))
    return teacher.to(device).eval().requires_grad_(False)


def build_krr_run(config: KrrStepConfig, device: torch.device) -> KrrStRun:
    """A ready-to-step run: random data and teacher, pool counters drawn from U{1..T-1}."""
    if config.m > config.source_images:
        raise ValueError(f"m = {config.m} needs at least as many source images (source_images = "
                         f"{config.source_images})")
    source = random_source(config.source_images, config.resolution, config.seed)
    ctx = DistillContext(source=source, teacher=random_teacher(config.teacher, config.resolution, device),
                         budget=config.m, settings=config.settings(), model=config.model, seed=config.seed,
                         device=device)
    run = KrrStRun(ctx, config.settings())
    rng = np.random.default_rng(config.seed)
    run.pool.iterations = [int(rng.integers(1, config.online_iterations)) for _ in range(config.pool_size)]
    return run


def bench_krr_step(config: KrrStepConfig, *, steps: int, warmup: int = 2,
                   device: torch.device | str = "cpu") -> dict:
    """Times ``steps`` outer steps after ``warmup``; fast mode's one-off cache build is timed apart."""
    device = torch.device(device)
    run = build_krr_run(config, device)
    extra: dict[str, float] = {}
    if config.mode == "fast":
        build = time_calls(run.build_target_cache, repeats=1, warmup=0, device=device)
        extra["cache_build_s"] = build[0]
    times = time_calls(run.outer_step, repeats=steps, warmup=warmup, device=device)
    return {**summary(times), "steps": steps, **extra, "config": dataclasses.asdict(config),
            "device": describe_device(device), "threads": torch.get_num_threads()}


def describe_device(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"cpu ({torch.get_num_threads()} threads)"
