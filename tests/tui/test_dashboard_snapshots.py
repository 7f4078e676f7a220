"""Snapshots of the main views on fixed data (fixed event times, an injected clock, UTC).

Update after an intended change with ``pytest tests/tui --snapshot-update`` and review the SVGs
in ``tests/tui/__snapshots__/``.
"""

from __future__ import annotations

import pytest

from kdss_bench.tui.run_detail import RunDetailScreen

from .conftest import demo_app, wait_for
from .fixed_results import RUNNING, SUITE

pytest.importorskip("pytest_textual_snapshot", reason="snapshot tests need the dev extra")
pytestmark = pytest.mark.snapshot

SIZE = (80, 24)


async def first_poll_shown(pilot) -> None:
    app = pilot.app
    await wait_for(pilot, lambda: app.polls_applied > 0 and len(app.order) == 6)
    await app.workers.wait_for_complete()


def test_runs_view(snap_compare, demo_results):
    assert snap_compare(demo_app(demo_results), terminal_size=SIZE, run_before=first_poll_shown)


def test_results_view(snap_compare, demo_results):
    async def results(pilot) -> None:
        await first_poll_shown(pilot)
        await pilot.press("t")
        await wait_for(pilot, lambda: bool(pilot.app.screen.query(".results-table")))

    assert snap_compare(demo_app(demo_results), terminal_size=SIZE, run_before=results)


def test_detail_screen(snap_compare, demo_results):
    async def detail(pilot) -> None:
        await first_poll_shown(pilot)
        pilot.app.open_detail((SUITE, RUNNING))
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, RunDetailScreen))
        await wait_for(pilot, lambda: bool(pilot.app.screen.query("#curve-distill-loss")))
        await pilot.app.workers.wait_for_complete()

    assert snap_compare(demo_app(demo_results), terminal_size=SIZE, run_before=detail)
