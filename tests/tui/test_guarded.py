"""kdss_bench.tui.guarded: an exception in a wrapped handler becomes the app's error report, and the app runs on."""

from __future__ import annotations

import asyncio

import pytest
from textual.app import App
from textual.widgets import Static

from kdss_bench.tui.guarded import guarded


class Reporting(App):
    """An app with the dashboard's ``report_error``."""

    def __init__(self) -> None:
        super().__init__()
        self.reports: list[tuple[str, str]] = []

    def report_error(self, message: str, details: str = "") -> None:
        self.reports.append((message, details))

    def compose(self):
        yield Breaking(id="breaking")


class Breaking(Static):
    mounted = False

    @guarded
    def on_mount(self) -> None:
        raise ValueError("bad file")

    @guarded
    def works(self, value: int) -> int:
        return value + 1

    @guarded
    def on_click(self) -> None:
        raise KeyError("clicked")


def test_a_raising_handler_is_reported_with_its_traceback_and_the_app_keeps_running():
    seen = {}

    async def main():
        app = Reporting()
        async with app.run_test() as pilot:
            await pilot.pause()
            widget = app.query_one(Breaking)
            assert widget.works(1) == 2, "a handler that does not raise returns its value"
            await pilot.click("#breaking")
            await pilot.pause()
            seen["running"] = app.is_running
            seen["reports"] = list(app.reports)

    asyncio.run(main())
    assert seen["running"]
    (first, trace), (second, _) = seen["reports"]
    assert first == "Breaking.on_mount: ValueError: bad file" and "Traceback" in trace and "bad file" in trace
    assert second == "Breaking.on_click: KeyError: 'clicked'"


def test_without_report_error_the_exception_goes_on():
    class Plain:
        app = object()

        @guarded
        def handler(self):
            raise RuntimeError("nobody to tell")

    with pytest.raises(RuntimeError, match="nobody to tell"):
        Plain().handler()
    assert Plain.handler.__name__ == "handler", "the wrapper keeps the handler's name (Textual dispatches by it)"
