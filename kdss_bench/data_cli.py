"""``kdss-bench data``: prepare the paper's datasets under a data root, list where they come from, show their state.

* ``data prepare NAME... --root DIR [--resolution R]... [--download] [--no-verify]`` checks each
  dataset's files (unpacking archives placed under the root, fetching the torchvision sets with
  ``--download``), converts it once per resolution into ``<root>/.kdss-cache/<name>/<R>/``, and
  prints what is still missing: the exact paths, the archives, their URLs and where they go.
  ``paper`` names the nine datasets of ``suites/paper/*.yaml``. Exit status 0 when every dataset
  is prepared, 1 when some are still missing, 2 for bad input or bad files (one ``error:`` line
  each; the other datasets are still prepared).
* ``data list``: every built-in dataset and where its files come from (no root needed).
* ``data status --root DIR``: for every built-in dataset, whether its files are there and at which
  resolutions it is prepared.

Kept out of ``cli.py`` (which adds this app with one line); torch is imported only by the
commands that read images.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from kdss_bench.cli_errors import user_errors
from kdss_bench.errors import DataError, DiskFullError, KdssError

data_app = typer.Typer(help="Prepare the datasets under a data root (check, unpack, cache), list them, show "
                            "their state.", no_args_is_help=True)

RootOption = Annotated[Path, typer.Option("--root", help="The data root: datasets live in <root>/<name>/.")]
MIN_RESOLUTION, MAX_RESOLUTION = 8, 1024


@data_app.command("prepare")
@user_errors
def prepare(
    names: Annotated[list[str], typer.Argument(
        help="Datasets to prepare, e.g. cifar100 cub2011; 'paper' for the nine of the paper suites.")],
    root: RootOption,
    resolutions: Annotated[list[int] | None, typer.Option(
        "--resolution", help="Resolution in pixels to cache (repeatable); default: 32 and 64, those of the suites.")]
    = None,
    download: Annotated[bool, typer.Option(
        "--download", help="Fetch missing torchvision sets (CIFAR, Aircraft, Flowers, ...) through torchvision.")]
    = False,
    verify: Annotated[bool, typer.Option(
        "--verify/--no-verify", help="Check archives and files against their published sizes and checksums.")]
    = True,
) -> None:
    """Check, unpack and cache datasets under ROOT; list what is still missing and where it comes from."""
    from kdss_bench.data.dataset_sources import PAPER_DATASETS, PAPER_RESOLUTIONS, prepare_command

    chosen = _chosen_names(names)
    folder = _root_folder(root)
    chosen_resolutions = list(dict.fromkeys(resolutions or PAPER_RESOLUTIONS))
    for resolution in chosen_resolutions:
        if not MIN_RESOLUTION <= resolution <= MAX_RESOLUTION:
            raise KdssError(f"--resolution {resolution}: expected {MIN_RESOLUTION} to {MAX_RESOLUTION} pixels "
                            f"(the paper suites use {' and '.join(map(str, PAPER_RESOLUTIONS))})")
    from kdss_bench.data.prepare import prepare_dataset

    prepared, missing, failed = [], [], []
    for name in chosen:
        try:
            outcome = prepare_dataset(name, folder, chosen_resolutions, download=download, verify=verify,
                                      echo=typer.echo)
        except DiskFullError:
            raise
        except DataError as error:
            typer.echo(f"error: {' '.join(str(error).split())}", err=True)
            failed.append(name)
            continue
        (prepared if outcome.status == "prepared" else missing).append(name)
    parts = [f"prepared {len(prepared)} of {len(chosen)} dataset(s)"]
    if missing:
        parts.append(f"missing: {', '.join(missing)} (what to fetch is listed above)")
    if failed:
        parts.append(f"failed: {', '.join(failed)} (see the error lines)")
    typer.echo("; ".join(parts))
    if failed:
        raise typer.Exit(2)
    if missing:
        typer.echo(f"then run again: {prepare_command(missing, folder, download=download)}")
        raise typer.Exit(1)
    if set(chosen) == set(PAPER_DATASETS) or len(chosen) > 1:
        typer.echo(f"the suites read them from the cache: kdss-bench validate SUITE --data-root {folder}")


@data_app.command("list")
@user_errors
def list_datasets() -> None:
    """Every built-in dataset and where its files come from (torchvision, official archives, npz, offline)."""
    from kdss_bench.data.dataset_sources import PAPER_DATASETS, SOURCES
    from kdss_bench.data.dataset_status import kind_of
    from kdss_bench.data.registry import dataset_names

    typer.echo(f"{'dataset':16s} {'kind':12s} {'paper':6s} where its files come from")
    for name in dataset_names():
        kind = kind_of(name)
        paper = "yes" if name in PAPER_DATASETS else ""
        if name in SOURCES:
            spec = SOURCES[name]
            files = ", ".join(archive.file for archive in spec.archives)
            how = f"--download (torchvision) or {files}" if spec.downloadable else files
            how = f"{how}; {spec.page}"
        elif kind == "npz":
            how = f"<root>/{name}.npz (the shared data; read directly, nothing to prepare)"
        else:
            how = "shipped in a pip package (offline; nothing to prepare)"
        typer.echo(f"{name:16s} {kind:12s} {paper:6s} {how}")
    typer.echo("\n`kdss-bench data prepare NAME --root DIR` lists the exact files a dataset needs and where they go.")


@data_app.command("status")
@user_errors
def status(root: RootOption) -> None:
    """For every built-in dataset under ROOT: whether its files are there, and at which resolutions it is prepared."""
    from kdss_bench.data.dataset_sources import SOURCES, prepare_command
    from kdss_bench.data.dataset_status import all_statuses

    folder = _root_folder(root)
    rows = all_statuses(folder)
    typer.echo(f"{'dataset':16s} {'kind':12s} {'prepared (px)':24s} files")
    for row in rows:
        if row.name not in SOURCES:
            prepared = "not needed"
        else:
            prepared = ", ".join(str(r) if state == "valid" else f"{r} {state}" for r, state, _ in row.prepared) or "-"
        typer.echo(f"{row.name:16s} {row.kind:12s} {prepared:24s} {row.files}")
        for resolution, state, reason in row.prepared:
            if state != "valid":
                typer.echo(f"{'':16s}   {resolution} px {state if state != 'absent' else 'unusable'}: {reason}")
    to_prepare = [row.name for row in rows if row.needs_preparing]
    absent = [row.name for row in rows if row.name in SOURCES and not row.present]
    if to_prepare:
        typer.echo(f"\npresent but not prepared: {prepare_command(to_prepare, folder, download=False)}")
    if absent:
        typer.echo(f"not (fully) under {folder}: {', '.join(absent)}; "
                   f"`{prepare_command(['NAME'], folder, download=False)}` lists what to fetch")


def _chosen_names(names: list[str]) -> list[str]:
    from kdss_bench.data.dataset_sources import PAPER_DATASETS, SOURCES
    from kdss_bench.data.registry import dataset_names

    chosen: list[str] = []
    for name in names:
        if name == "paper":
            chosen.extend(PAPER_DATASETS)
        elif name in SOURCES:
            chosen.append(name)
        elif name in dataset_names():
            raise KdssError(f"dataset '{name}' is read directly (a shared .npz file or a bundled set): nothing to "
                            f"prepare; prepare one of {', '.join(SOURCES)} or 'paper'")
        else:
            raise KdssError(f"unknown dataset '{name}'; prepare one of {', '.join(SOURCES)}, or 'paper' for the "
                            "nine datasets of the paper suites (`kdss-bench data list` says where each comes from)")
    return list(dict.fromkeys(chosen))


def _root_folder(root: Path) -> Path:
    folder = root.expanduser()
    if not folder.is_dir():
        raise KdssError(f"--root {root}: folder not found; create it (mkdir -p {root}), put the datasets' archives "
                        "in it and run again")
    return folder.resolve()
