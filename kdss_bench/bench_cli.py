"""``kdss-bench bench``: speed benchmarks that print figures (a table, or JSON for scripts).

Kept out of ``cli.py`` so the main command file stays a list of thin commands; torch is
imported inside the commands so ``--help`` stays instant.
"""

from __future__ import annotations

import json
from enum import Enum
from typing import Annotated

import typer

from kdss_bench.cli_errors import user_errors
from kdss_bench.errors import KdssError


class Device(str, Enum):
    cpu = "cpu"
    cuda = "cuda"


class Mode(str, Enum):
    exact = "exact"
    fast = "fast"


class Precision(str, Enum):
    fp32 = "fp32"
    bf16 = "bf16"


bench_app = typer.Typer(help="Time the hot paths of distillation and evaluation; prints figures, gates nothing.",
                        invoke_without_command=True, no_args_is_help=False)

ThreadsOption = Annotated[int, typer.Option("--threads", help="CPU threads for torch (0: torch's default).")]
DeviceOption = Annotated[Device, typer.Option("--device", help="Where to run.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON document instead of a table.")]
OUTER_STEPS_CIFAR100 = 160_000


def _prepare(device: Device, threads: int):
    import torch

    if threads < 0:
        raise KdssError(f"--threads {threads}: must be >= 0 (0 keeps torch's default)")
    if threads:
        torch.set_num_threads(threads)
    if device is Device.cuda and not torch.cuda.is_available():
        raise KdssError("--device cuda: no CUDA device is visible here; use --device cpu")
    return torch.device(device.value)


@bench_app.callback()
@user_errors
def hot_paths(
    ctx: typer.Context,
    m: Annotated[int, typer.Option("--m", help="Synthetic images (official CIFAR-100: 1000).")] = 1000,
    n: Annotated[int, typer.Option("--n", help="Real batch (official: 1024).")] = 1024,
    repeats: Annotated[int, typer.Option("--repeats", help="Timed calls per case (the median is shown).")] = 5,
    threads: ThreadsOption = 0,
    device: DeviceOption = Device.cpu,
    as_json: JsonOption = False,
) -> None:
    """Without a subcommand: a table of every hot path (outer step, pool update, teacher, augmentation,
    KRR solve at m = 1000 and 2000, a fine-tuning step, a pre-training epoch)."""
    if ctx.invoked_subcommand is not None:
        return
    if m < 1 or n < 1 or repeats < 1:
        raise KdssError("--m, --n and --repeats must be positive")
    torch_device = _prepare(device, threads)
    from kdss_bench.bench.hot_paths import HotPathSizes, run_hot_paths

    sizes = HotPathSizes(m=m, n=n, source_images=max(2 * n, m))
    if as_json:
        rows = run_hot_paths(sizes, repeats=repeats, device=torch_device)
        typer.echo(json.dumps({"rows": rows, "device": _device_name(torch_device)}, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    console = Console()
    table = Table(title=f"kdss-bench hot paths on {_device_name(torch_device)} (median of {repeats})")
    for column, justify in (("path", "left"), ("size", "left"), ("median", "right"), ("min", "right"),
                            ("items/s", "right")):
        table.add_column(column, justify=justify)

    def add(row: dict) -> None:
        table.add_row(row["path"], row["size"], _seconds(row["median_s"]), _seconds(row["min_s"]),
                      f"{row['items_per_s']:,.0f}")

    with console.status("timing the hot paths (building the cases first)"):
        run_hot_paths(sizes, repeats=repeats, device=torch_device, on_row=add)
    console.print(table)


@bench_app.command("krr-step")
@user_errors
def krr_step(
    m: Annotated[int, typer.Option("--m", help="Synthetic images.")] = 1000,
    n: Annotated[int, typer.Option("--n", help="Real batch.")] = 1024,
    steps: Annotated[int, typer.Option("--steps", help="Timed outer steps.")] = 10,
    warmup: Annotated[int, typer.Option("--warmup", help="Untimed steps first.")] = 2,
    threads: ThreadsOption = 0,
    device: DeviceOption = Device.cpu,
    mode: Annotated[Mode, typer.Option("--mode", help="exact: the official math; fast: teacher-target cache.")]
    = Mode.exact,
    precision: Annotated[Precision, typer.Option("--precision", help="bf16 autocasts the networks.")] = Precision.fp32,
    model: Annotated[str, typer.Option("--model", help="Pool model.")] = "convnet_128_256_512_bn",
    teacher: Annotated[str, typer.Option("--teacher", help="Teacher arch (random weights).")] = "resnet18",
    resolution: Annotated[int, typer.Option("--resolution", help="Image size in pixels.")] = 32,
    teacher_views: Annotated[int, typer.Option("--teacher-views", help="Fast mode: views per image.")] = 10,
    source_images: Annotated[int, typer.Option("--source-images", help="Random source set size.")] = 5000,
    compile_models: Annotated[bool, typer.Option("--compile", help="torch.compile teacher and pool.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Time the KRR-ST outer step including the pool update (official configuration unless told otherwise)."""
    for name, value in (("--m", m), ("--n", n), ("--steps", steps), ("--teacher-views", teacher_views),
                        ("--resolution", resolution)):
        if value < 1:
            raise KdssError(f"{name} {value}: must be >= 1")
    if warmup < 0:
        raise KdssError(f"--warmup {warmup}: must be >= 0")
    torch_device = _prepare(device, threads)
    from kdss_bench.bench.krr_step import KrrStepConfig, bench_krr_step
    from kdss_bench.models.registry import check_model_name

    check_model_name(model)
    check_model_name(teacher)
    config = KrrStepConfig(m=m, n=n, mode=mode.value, precision=precision.value, model=model, teacher=teacher,
                           resolution=resolution, teacher_views=teacher_views,
                           source_images=max(source_images, m), compile=compile_models)
    try:
        result = bench_krr_step(config, steps=steps, warmup=warmup, device=torch_device)
    except ValueError as error:
        raise KdssError(f"bench krr-step: {error}") from error
    result["projected_cifar100_s"] = result["median_s"] * OUTER_STEPS_CIFAR100 + result.get("cache_build_s", 0.0)
    if as_json:
        typer.echo(json.dumps(result, indent=2))
        return
    typer.echo(f"KRR-ST outer step ({mode.value}, {precision.value}), m={m} n={n}, {model} pool, "
               f"{config.teacher} teacher, on {result['device']}")
    typer.echo(f"  median {_seconds(result['median_s'])}/step over {steps} steps "
               f"(min {_seconds(result['min_s'])}, max {_seconds(result['max_s'])})")
    if "cache_build_s" in result:
        typer.echo(f"  teacher-target cache ({teacher_views} views x {config.source_images} images): "
                   f"{_seconds(result['cache_build_s'])} once")
    hours = result["projected_cifar100_s"] / 3600
    typer.echo(f"  projected {OUTER_STEPS_CIFAR100:,} steps (CIFAR-100 distillation): {hours:.1f} h")


@bench_app.command("scheduler")
@user_errors
def scheduler(
    executors: Annotated[str, typer.Option("--executors", help="Comma-separated: inline, local, ray, slurm.")]
    = "inline,local,ray",
    stages: Annotated[int, typer.Option("--stages", min=1, help="One-step evaluation stages in the suite.")] = 60,
    workers: Annotated[int, typer.Option("--workers", min=1, help="Slots of the local, ray and slurm runs.")] = 2,
    ray_address: Annotated[str | None, typer.Option("--ray-address", help="Join this Ray cluster.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Overhead per stage of the scheduler with each executor, on a suite of many tiny stages."""
    from kdss_bench.bench.scheduler_overhead import scheduler_overhead
    from kdss_bench.runner.executors.backend import EXECUTORS

    names = [name.strip() for name in executors.split(",") if name.strip()]
    unknown = [name for name in names if name not in EXECUTORS]
    if unknown or not names:
        raise KdssError(f"--executors {executors}: choose from {', '.join(EXECUTORS)}")
    rows = [scheduler_overhead(name, stages=stages, workers=workers, ray_address=ray_address) for name in names]
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    typer.echo(f"{stages} one-step evaluation stages, {workers} slots (local, ray, slurm), 1 thread per stage")
    typer.echo(f"{'executor':10s} {'wall':>8s} {'startup':>8s} {'shutdown':>9s} {'work':>8s} {'overhead/stage':>15s}")
    for row in rows:
        typer.echo(f"{row['executor']:10s} {row['wall_s']:7.1f}s {row['startup_s']:7.1f}s {row['shutdown_s']:8.1f}s "
                   f"{row['work_s']:7.1f}s {row['overhead_per_stage_s'] * 1000:12.0f} ms")


def _device_name(device) -> str:
    from kdss_bench.bench.krr_step import describe_device

    return describe_device(device)


def _seconds(value: float) -> str:
    return f"{value * 1000:.1f} ms" if value < 1 else f"{value:.2f} s"
