"""The ``kdss-bench`` command line: thin wrappers that parse, call the library and print.

Heavy imports (torch, the runner) happen inside commands so that ``--help`` and ``ls`` are instant.
Errors caused by input print one line on stderr and exit with status 2; never a traceback.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from kdss_bench.cli_errors import fail as _fail
from kdss_bench.cli_errors import user_errors
from kdss_bench.errors import KdssError

if TYPE_CHECKING:
    from kdss_bench.config import Suite

app = typer.Typer(
    name="kdss-bench",
    help="Benchmark self-supervised dataset distillation for transfer learning (KRR-ST and baselines).",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
)


def _show_version(value: bool) -> None:
    if value:
        from kdss_bench import __version__

        typer.echo(f"kdss-bench {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[bool, typer.Option("--version", callback=_show_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
) -> None:
    """Benchmark self-supervised dataset distillation for transfer learning (KRR-ST and baselines)."""

ResultsOption = Annotated[Path, typer.Option("--results", help="Results folder (one subfolder per suite).")]
DataRootOption = Annotated[Path | None, typer.Option(
    "--data-root", help="Folder with the datasets; overrides the suite's data_root.")]


class TableFormat(str, Enum):
    md = "md"
    csv = "csv"
    json = "json"
    latex = "latex"
    rich = "rich"


class CompareFormat(str, Enum):
    md = "md"
    json = "json"


class Device(str, Enum):
    auto = "auto"
    cpu = "cpu"
    cuda = "cuda"


class Listing(str, Enum):
    methods = "methods"
    datasets = "datasets"
    models = "models"


class Executor(str, Enum):
    inline = "inline"
    local = "local"
    ray = "ray"
    slurm = "slurm"


class SlurmCluster(str, Enum):
    slurm = "slurm"
    local = "local"
    debug = "debug"


MethodsOption = Annotated[str | None, typer.Option(
    "--methods", help="Only these methods of the suite (comma-separated), e.g. krr_st,no_pretrain.")]
CellsOption = Annotated[str | None, typer.Option(
    "--cells", help="Only these cells (comma-separated ids), e.g. krr_st__gtsrb43__seed0 to re-run one.")]


@app.command()
@user_errors
def run(
    suite: Annotated[Path, typer.Argument(help="Suite YAML file, e.g. suites/quickstart.yaml.")],
    results: ResultsOption = Path("results"),
    data_root: DataRootOption = None,
    device: Annotated[Device, typer.Option("--device", help="cpu, cuda, or auto (cuda when available).")]
    = Device.auto,
    methods: MethodsOption = None,
    cells: CellsOption = None,
    executor: Annotated[Executor, typer.Option(
        "--executor", help="inline (this process), local (worker processes on GPU or CPU slots), ray, slurm.")]
    = Executor.inline,
    workers: Annotated[int | None, typer.Option(
        "--workers", min=1, help="local: worker processes (default: one per visible GPU, else CPU slots); "
                                 "ray/slurm: at most this many stages in flight.")] = None,
    workers_per_gpu: Annotated[int, typer.Option(
        "--workers-per-gpu", min=1, help="local/ray: stages sharing one GPU (each asks for 1/K of it).")] = 1,
    threads: Annotated[int | None, typer.Option(
        "--threads", min=1, help="CPU threads per stage (recorded in each result); default: the cores split "
                                 "between the concurrent stages.")] = None,
    retries: Annotated[int, typer.Option(
        "--retries", min=0, help="Times a stage whose worker died (killed, node lost, out of memory) is retried.")]
    = 1,
    ray_address: Annotated[str | None, typer.Option(
        "--ray-address", help="ray: join this cluster (auto or HOST:PORT); default: start a local Ray.")] = None,
    slurm_partition: Annotated[str | None, typer.Option("--slurm-partition", help="slurm: the partition.")] = None,
    slurm_time_min: Annotated[int | None, typer.Option(
        "--slurm-time-min", min=1, help="slurm: time limit per stage job in minutes.")] = None,
    slurm_cluster: Annotated[SlurmCluster, typer.Option(
        "--slurm-cluster", help="slurm: sbatch jobs, or submitit's local/debug executors on this machine.")]
    = SlurmCluster.slurm,
    track: Annotated[list[str] | None, typer.Option(
        "--track", help="Also stream the run to a tracker: tensorboard (event files under "
                        "RESULTS/SUITE/_tensorboard, a run per cell) or wandb (a W&B run per cell); repeat for "
                        "both.")] = None,
    wandb_project: Annotated[str | None, typer.Option(
        "--wandb-project", help="wandb: the project (default: $WANDB_PROJECT, else kdss-bench).")] = None,
    wandb_entity: Annotated[str | None, typer.Option(
        "--wandb-entity", help="wandb: the user or team (default: $WANDB_ENTITY, else your default).")] = None,
    wandb_mode: Annotated[str | None, typer.Option(
        "--wandb-mode", help="wandb: online, offline (upload later with `wandb sync`) or disabled "
                             "(default: $WANDB_MODE, else online).")] = None,
) -> None:
    """Run every cell of SUITE (distil, pre-train, evaluate), skipping what is already finished.

    SIGINT or SIGTERM cancels: every cell in progress records an error event "cancelled", finished
    cells and artifacts are kept, and the command exits with status 130.
    """
    from kdss_bench.runner.console_progress import ConsoleProgress
    from kdss_bench.runner.executors.backend import ExecutorOptions
    from kdss_bench.runner.suite_runner import run_suite, select_cells

    tracked, wandb_options = _check_tracking(track, wandb_project, wandb_entity, wandb_mode)
    loaded, cell_ids = _load_for_run(suite, data_root, methods, cells)
    selected = select_cells(loaded, cell_ids)
    shape = _grid_shape(loaded) if cell_ids is None else "chosen with --cells"
    typer.echo(f"suite {loaded.name}: {len(selected)} cells ({shape}) -> {results / loaded.name}", err=True)
    if loaded.description:
        typer.echo(f"  {loaded.description}", err=True)
    slurm = {key: value for key, value in (("partition", slurm_partition), ("time_min", slurm_time_min))
             if value is not None}
    options = ExecutorOptions(executor=executor.value, workers=workers, workers_per_gpu=workers_per_gpu,
                              threads=threads, retries=retries, ray_address=ray_address, slurm=slurm,
                              slurm_cluster=slurm_cluster.value)
    trackers = _make_trackers(tracked, results, loaded.name, wandb_options)
    try:
        with _cancel_on_signals(), ConsoleProgress() as progress, _tracking(progress, trackers, results) as listener:
            outcome = run_suite(loaded, results_root=results, device=device.value, listener=listener,
                                only_cells=cell_ids, executor=options)
    except KeyboardInterrupt:
        raise _fail("cancelled; finished cells and artifacts are kept, run the same command to resume",
                    130) from None
    typer.echo(f"finished {len(outcome.finished)}, already done {len(outcome.skipped)}, "
               f"failed {len(outcome.failed)} in {outcome.wall_time_s:.0f} s", err=True)
    if outcome.finished or outcome.skipped:
        _print_tables(results, suite_name=loaded.name, fmt=TableFormat.md, stream_err=False)
    if outcome.failed:
        for cell, message in outcome.failed.items():
            typer.echo(f"failed {cell}: {message}", err=True)
        raise typer.Exit(1)


def _check_tracking(track: list[str] | None, project: str | None, entity: str | None, mode: str | None):
    """The ``--track`` names and the W&B options, checked before anything runs (a missing package: exit 2)."""
    tracked: list[str] = []
    if track:
        from kdss_bench.trackers.registry import check_trackers

        tracked = check_trackers(track)
    if "wandb" not in tracked:
        if any(value is not None for value in (project, entity, mode)):
            raise KdssError("--wandb-project, --wandb-entity and --wandb-mode set up W&B tracking; add --track wandb")
        return tracked, None
    from kdss_bench.trackers.wandb_tracker import WandbOptions

    return tracked, WandbOptions(project=project, entity=entity, mode=mode).check()


def _make_trackers(tracked: list[str], results: Path, suite: str, wandb_options) -> list:
    if not tracked:
        return []
    from kdss_bench.trackers.registry import make_trackers

    trackers = make_trackers(tracked, results_root=results, suite=suite, wandb=wandb_options)
    typer.echo("tracking: " + "; ".join(tracker.describe() for tracker in trackers), err=True)
    return trackers


def _tracking(console, trackers: list, results: Path):
    """The listener ``run_suite`` gets: the console alone, or the console and the trackers (closed after)."""
    if not trackers:
        return contextlib.nullcontext(console)
    from kdss_bench.trackers.tracking_listener import TrackingListener

    return TrackingListener(console, trackers, results_root=results)


def _grid_shape(suite: Suite) -> str:
    """``2 methods x 4 budgets x 4 targets x 2 seeds``: the axes that make the cells."""
    axes = [(len(suite.methods), "methods")]
    if suite.budgets:
        axes.append((len(suite.budgets), "budgets"))
    if suite.eval_models:
        axes.append((len(suite.eval_models), "eval models"))
    if suite.protocols:
        axes.append((len(suite.protocols), "protocols"))
    if suite.label_fractions:
        axes.append((len(suite.label_fractions), "label fractions"))
    axes += [(len(suite.targets), "targets"), (len(suite.seeds), "seeds")]
    return " x ".join(f"{count} {name}" for count, name in axes)


def _load_for_run(suite: Path, data_root: Path | None, methods: str | None, cells: str | None):
    """The suite (restricted to --methods) and the --cells ids (None = every cell)."""
    from kdss_bench.config import load_suite, only_methods

    loaded = load_suite(suite, data_root=data_root)
    _print_warnings(loaded)
    if methods:
        loaded = only_methods(loaded, [m.strip() for m in methods.split(",") if m.strip()])
    return loaded, (cells.split(",") if cells is not None else None)


def _print_warnings(suite: Suite) -> None:
    """Things the suite allows but probably does not mean (a shadowed built-in dataset), one line each."""
    for line in suite.warnings:
        typer.echo(f"warning: {line}", err=True)


@app.command()
@user_errors
def plan(
    suite: Annotated[Path, typer.Argument(help="Suite YAML file.")],
    results: ResultsOption = Path("results"),
    data_root: DataRootOption = None,
    methods: MethodsOption = None,
    cells: CellsOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the plan as JSON on stdout.")] = False,
) -> None:
    """Show what `run` would execute: every stage, its key, status, dependants and estimated cost."""
    from kdss_bench.runner.plan import build_plan
    from kdss_bench.runner.plan_report import plan_json, plan_tree
    from kdss_bench.runner.suite_runner import select_cells

    loaded, cell_ids = _load_for_run(suite, data_root, methods, cells)
    built = build_plan(loaded, select_cells(loaded, cell_ids))
    if as_json:
        import json

        typer.echo(json.dumps(plan_json(built, results), indent=2))
        return
    from rich.console import Console

    Console().print(plan_tree(built, results))


@contextlib.contextmanager
def _cancel_on_signals():
    """SIGTERM (and SIGINT, even where the launcher made it ignored) raise KeyboardInterrupt once.

    A dashboard or a scheduler stops a run with SIGTERM; turning it into KeyboardInterrupt lets the
    runner record the cell as cancelled and clean up. Later signals are ignored while that happens and
    until the process has exited (a launcher that follows SIGINT with SIGTERM must not interrupt the
    clean-up or turn exit status 130 into death by signal; SIGKILL still works).
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    fired = False

    def cancel(signum: int, frame: object) -> None:
        nonlocal fired
        if not fired:
            fired = True
            raise KeyboardInterrupt(signal.Signals(signum).name)

    previous = {sig: signal.signal(sig, cancel) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            if fired:  # on the way out after a cancel: a second signal must not kill the exit with -15
                signal.signal(sig, signal.SIG_IGN)
            else:
                signal.signal(sig, handler if handler is not None else signal.SIG_DFL)


@app.command()
@user_errors
def table(
    results: ResultsOption = Path("results"),
    suite: Annotated[str | None, typer.Option("--suite", help="Only this suite.")] = None,
    fmt: Annotated[TableFormat, typer.Option("--format", help="md, csv, json, latex or rich.")] = TableFormat.md,
    against: Annotated[str, typer.Option(
        "--against", help="Reference method of the gain table (difference and a test over seeds).")]
    = "no_pretrain",
    rows: Annotated[str | None, typer.Option(
        "--rows", help="Row axes, comma-separated (default: method and every setting that varies), e.g. "
                       "method,model.")] = None,
    columns: Annotated[str | None, typer.Option(
        "--columns", help="Column axes (default: target), e.g. target,budget.")] = None,
) -> None:
    """Print the results table: methods x downstream datasets, mean ± std over seeds, and each method's
    gain over a reference method (no pre-training by default) with a test over seeds. Axes: method,
    target, model (the evaluation model), budget, protocol, label_fraction, and the suite's settings."""
    _print_tables(results, suite_name=suite, fmt=fmt, stream_err=False, against=against,
                  row_axes=_axes(rows), column_axes=_axes(columns))


def _axes(text: str | None) -> list[str] | None:
    return [part.strip() for part in text.split(",") if part.strip()] if text else None


def _print_tables(results: Path, *, suite_name: str | None, fmt: TableFormat, stream_err: bool,
                  against: str = "no_pretrain", row_axes: list[str] | None = None,
                  column_axes: list[str] | None = None) -> None:
    import json

    from kdss_bench.methods.registry import method_names
    from kdss_bench.results import load

    if not results.is_dir():
        raise KdssError(f"--results {results}: folder not found; run a suite first or pass the right folder")
    loaded = load(results, suite=suite_name)
    if not loaded.records:
        where = f"suite '{suite_name}' in {results}" if suite_name else str(results)
        raise KdssError(f"no finished results for {where}; run a suite first (kdss-bench run SUITE)")
    tables = loaded.tables(method_order=method_names(), row_axes=row_axes, column_axes=column_axes)
    from kdss_bench.report.reference_gain import gains_markdown, gains_over

    if fmt == TableFormat.json:
        merged = []
        for t in tables.values():
            gains = {(gain.row.method, gain.target): gain for gain in gains_over(t, against)}
            for item in json.loads(t.to_json()):
                gain = gains.get((item["method"], item["target"]))
                if gain is not None:
                    item.update(gain_over=against, gain=round(gain.diff, 4), p=gain.p, test=gain.test)
                merged.append(item)
        typer.echo(json.dumps(merged, indent=2))
        return
    if fmt == TableFormat.rich:
        from rich.console import Console
        from rich.markdown import Markdown

        console = Console()
        for t in tables.values():
            console.print(t.to_rich())
            gain_table = gains_markdown(t, against)
            if gain_table:
                console.print(Markdown(gain_table))
        return
    render = {TableFormat.md: "to_markdown", TableFormat.csv: "to_csv", TableFormat.latex: "to_latex"}[fmt]
    chunks = []
    for name, t in tables.items():
        text = getattr(t, render)()
        if fmt == TableFormat.md:
            gain_table = gains_markdown(t, against)
            text = text + ("\n" + gain_table if gain_table else "")
        if fmt == TableFormat.md and len(tables) > 1:
            text = f"### {name}\n\n{text}"
        chunks.append(text.rstrip("\n"))
    typer.echo("\n\n".join(chunks), err=stream_err)


@app.command()
@user_errors
def compare(
    base: Annotated[Path, typer.Argument(
        help="Baseline: a results folder (results or results/<suite>) or a `table --format json` file.")],
    new: Annotated[Path, typer.Argument(help="The results to check, in the same forms as BASE.")],
    fail_on_regression: Annotated[bool, typer.Option(
        "--fail-on-regression", help="Exit 1 when a cell regresses or is missing in NEW.")] = False,
    min_effect: Annotated[float, typer.Option(
        "--min-effect", help="Smallest change in accuracy points that can count as a regression or improvement.")]
    = 1.0,
    alpha: Annotated[float, typer.Option("--alpha", help="Significance level of the two-sided Welch t-test.")]
    = 0.05,
    fmt: Annotated[CompareFormat, typer.Option("--format", help="md or json.")] = CompareFormat.md,
    methods: Annotated[str | None, typer.Option(
        "--methods", help="Compare only these methods' cells (comma-separated), e.g. krr_st.")] = None,
) -> None:
    """Compare NEW with BASE cell by cell: mean difference, Welch t-test over seeds, verdict per cell.

    A regression is a mean drop larger than --min-effect points with p < --alpha (with fewer than
    2 seeds on a side, the drop alone); a cell of BASE missing in NEW counts as one.
    """
    from kdss_bench.report.compare import compare_paths

    chosen = [m.strip() for m in methods.split(",") if m.strip()] if methods else None
    comparison = compare_paths(base, new, min_effect=min_effect, alpha=alpha, methods=chosen)
    typer.echo(comparison.to_json() if fmt == CompareFormat.json else comparison.to_markdown(), nl=False)
    if fail_on_regression and comparison.failed:
        raise typer.Exit(1)


@app.command()
@user_errors
def validate(
    suites: Annotated[list[Path], typer.Argument(help="Suite YAML files to check.")],
    data_root: DataRootOption = None,
    check_files: Annotated[bool, typer.Option(
        "--check-files/--no-check-files",
        help="Also check that data files and checkpoints exist (off for suites meant for another machine).")]
    = True,
) -> None:
    """Check suite files without running them: schema, names, and (optionally) files."""
    from kdss_bench.config import load_suite
    from kdss_bench.runner.grid import expand_grid

    for path in suites:
        loaded = load_suite(path, data_root=data_root, check_files=check_files)
        _print_warnings(loaded)
        axes = "".join(f"; {name} {list(values)}" for name, values in (
            ("budgets", loaded.budgets), ("eval models", loaded.eval_models), ("protocols", loaded.protocols),
            ("label fractions", loaded.label_fractions)) if values)
        typer.echo(f"ok {path}: suite {loaded.name}, {len(expand_grid(loaded))} cells "
                   f"({', '.join(loaded.methods)} on {', '.join(loaded.targets)}; seeds {loaded.seeds}{axes})")


@app.command("ls")
@user_errors
def list_registered(
    what: Annotated[Listing, typer.Argument(help="methods, datasets or models.")] = Listing.methods,
    name: Annotated[str | None, typer.Argument(
        help="With methods: one method's settings (type, default, meaning); with datasets: one dataset.")] = None,
) -> None:
    """List registered methods, datasets or models; `ls methods NAME` prints every setting of a method."""
    if what == Listing.methods:
        from kdss_bench.methods.registry import method_info, method_names

        if name is not None:
            _print_method_settings(method_info(name))
            return
        for method in method_names():
            typer.echo(f"{method:14s} {method_info(method).summary}")
        typer.echo("\n`kdss-bench ls methods NAME` lists a method's settings (type, default, meaning).")
    elif what == Listing.datasets:
        from kdss_bench.data.registry import dataset_names, describe_dataset

        for dataset in ([name] if name else dataset_names()):
            if dataset not in dataset_names():
                from kdss_bench.lazy_registry import did_you_mean

                raise KdssError(f"unknown dataset {dataset!r}; `kdss-bench ls datasets` lists them"
                                f"{did_you_mean(dataset, dataset_names())}")
            typer.echo(f"{dataset:16s} {describe_dataset(dataset)}")
    else:
        from kdss_bench.models.registry import CONVNET_EXAMPLES, CONVNET_PATTERN, FIXED_MODELS, model_entry

        for model in FIXED_MODELS:
            typer.echo(f"{model:16s} {model_entry(model)[0].summary}")
        typer.echo(f"{CONVNET_PATTERN}   one 3x3 conv block per width, then the norm (bn, in or none); e.g.")
        for example in (*CONVNET_EXAMPLES, "convnet_32_64_128_bn", "convnet_8_16_bn"):
            note = {"convnet_128_256_512_bn": "ConvNet-3, the paper's CIFAR-100 model",
                    "convnet_64_128_256_512_bn": "ConvNet-4, Tiny-ImageNet and ImageNet-64",
                    "convnet_32_64_128_256_512_bn": "ConvNet-5, ImageNette",
                    "convnet_32_64_128_bn": "the CPU suites' model (cifar10-transfer, quickstart)",
                    "convnet_8_16_bn": "the tests' and the CI gate's model"}[example]
            typer.echo(f"  {example:30s} {note}")


def _print_method_settings(info) -> None:
    """A method's settings as a table: name, type, default, meaning (and choices)."""
    from kdss_bench.methods.settings_help import describe_settings

    typer.echo(f"{info.name}: {info.summary}")
    doc = (info.settings.__doc__ or "").strip().splitlines()
    if doc:
        typer.echo(doc[0])
    rows = describe_settings(info.settings)
    if not rows:
        typer.echo("(no settings)")
        return
    width = max(len(row.name) for row in rows)
    kinds = max(len(row.type) for row in rows)
    defaults = [repr(row.default) if isinstance(row.default, str) else str(row.default) for row in rows]
    dwidth = min(24, max(len(text) for text in defaults))
    typer.echo(f"\n{'setting':{width}s}  {'type':{kinds}s}  {'default':{dwidth}s}  meaning")
    for row, default in zip(rows, defaults, strict=True):
        meaning = row.meaning + (f" [choices: {', '.join(row.choices)}]" if row.choices else "")
        typer.echo(f"{row.name:{width}s}  {row.type:{kinds}s}  {default:{dwidth}s}  {meaning}")
    typer.echo(f"\nSet them in a suite: methods: {{{info.name}: {{{rows[0].name}: ...}}}}")


@app.command()
@user_errors
def dash(
    suite: Annotated[Path | None, typer.Argument(help="Suite YAML to launch as the dashboard opens (optional).")]
    = None,
    results: ResultsOption = Path("results"),
) -> None:
    """Open the dashboard: watch runs live (also ones started elsewhere), launch, cancel, read the tables."""
    if suite is not None and not suite.is_file():
        raise KdssError(f"suite {suite}: file not found; pass the path of a suite YAML, e.g. suites/quickstart.yaml")
    if results.exists() and not results.is_dir():
        raise KdssError(f"--results {results}: not a folder; pass the folder that holds the suites' results")
    from kdss_bench.tui.app import DashboardApp  # textual is imported only here: the other commands stay instant

    DashboardApp(results, suite_path=suite).run()


def _add_bench() -> None:
    from kdss_bench.bench_cli import bench_app
    from kdss_bench.data_cli import data_app

    app.add_typer(bench_app, name="bench")
    app.add_typer(data_app, name="data")


_add_bench()


def main() -> None:  # pragma: no cover - for `python -m kdss_bench`
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
