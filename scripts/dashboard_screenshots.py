"""Saves an SVG screenshot of each dashboard view: runs, detail, results and the launch dialog.

    python scripts/dashboard_screenshots.py                      # runs a tiny offline suite in a temp folder
    python scripts/dashboard_screenshots.py --results results    # or shows an existing results folder

The app runs headless (``App.run_test``) and ``save_screenshot`` writes ``runs.svg``,
``detail.svg`` (the first cell with preview images: its curves), ``detail-images.svg`` (its
synthetic images), ``results.svg`` and ``launch.svg`` into ``--out`` (default docs/screenshots).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TINY_SUITE = REPO / "suites" / "ci" / "gate.yaml"
"""The shipped tiny offline suite (the CI gate's): three methods, two seeds, about ten seconds."""


def run_tiny_suite(folder: Path) -> Path:
    from kdss_bench.config import load_suite
    from kdss_bench.runner.suite_runner import run_suite

    results = folder / "results"
    outcome = run_suite(load_suite(TINY_SUITE), results_root=results, device="cpu")
    if outcome.failed:
        raise SystemExit(f"the tiny suite failed: {outcome.failed}")
    return results


async def wait_for(pilot, condition, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit("the dashboard did not show the results in time")
        await pilot.pause(0.05)
    await pilot.pause(0.2)


async def take_screenshots(results: Path, out: Path, size: tuple[int, int], suites_dir: Path) -> list[str]:
    from textual.widgets import TabbedContent

    from kdss_bench.tui.app import DashboardApp
    from kdss_bench.tui.launch_screen import LaunchScreen
    from kdss_bench.tui.run_detail import RunDetailScreen

    app = DashboardApp(results, suites_dir=suites_dir)
    saved = []
    async with app.run_test(size=size) as pilot:
        await wait_for(pilot, lambda: app.polls_applied > 0 and app.order)
        saved.append(app.save_screenshot("runs.svg", path=str(out)))

        with_preview = [key for key in app.order if (results / key[0] / key[1] / "preview.npz").is_file()]
        app.open_detail((with_preview or list(app.order))[0])
        await wait_for(pilot, lambda: isinstance(app.screen, RunDetailScreen))
        await wait_for(pilot, lambda: bool(app.screen.query(".curve")) or not with_preview)
        saved.append(app.save_screenshot("detail.svg", path=str(out)))
        if with_preview:
            app.screen.query_one(TabbedContent).active = "tab-images"
            await wait_for(pilot, lambda: app.preview_for(app.screen.key) is not None)
            saved.append(app.save_screenshot("detail-images.svg", path=str(out)))
        await pilot.press("escape")

        await pilot.press("t")
        await wait_for(pilot, lambda: bool(app.screen.query(".results-table")))
        saved.append(app.save_screenshot("results.svg", path=str(out)))

        await pilot.press("l")
        await wait_for(pilot, lambda: isinstance(app.screen, LaunchScreen))
        saved.append(app.save_screenshot("launch.svg", path=str(out)))
    return saved


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, help="results folder to show (default: run a tiny suite)")
    parser.add_argument("--out", type=Path, default=Path("docs/screenshots"), help="folder for the SVG files")
    parser.add_argument("--size", default="100x30", help="terminal size, COLUMNSxROWS (default 100x30)")
    parser.add_argument("--suites", type=Path, default=Path("suites"), help="suite folder the launch dialog lists")
    args = parser.parse_args(argv)
    columns, rows = (int(part) for part in args.size.lower().split("x"))
    out, suites = args.out.resolve(), args.suites.resolve()
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="kdss-dash-") as temp:
        if args.results is not None:
            results = args.results
        else:
            run_tiny_suite(Path(temp))
            os.chdir(temp)  # so the header shows "results", not a temporary path
            results = Path("results")
        saved = asyncio.run(take_screenshots(results, out, (columns, rows), suites))
    for path in saved:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
