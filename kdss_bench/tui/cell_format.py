"""Short, fixed-width texts for one cell's row: status, progress bar, durations, numbers.

The runs table has fixed column widths (re-measuring columns on every update is what makes a
busy DataTable slow), so every text here is built to fit its column.
"""

from __future__ import annotations

import math

from rich.text import Text

STATUS_STYLES = {
    "queued": "dim",
    "running": "bold yellow",
    "cached": "green",
    "done": "bold green",
    "failed": "bold red",
    "cancelled": "magenta",
    "stale": "dark_orange",
}
FINISHED = ("done", "cached")
BAR_WIDTH = 8


def status_text(status: str) -> Text:
    return Text(status, style=STATUS_STYLES.get(status, ""))


def progress_bar(step: int | None, total: int | None, status: str, width: int = BAR_WIDTH) -> Text:
    """``━━━━╸─── 45%``: a bar of ``width`` cells and the percentage (finished cells show 100%)."""
    if status in FINISHED:
        fraction = 1.0
    elif step is None or not total or total <= 0:
        return Text("─" * width, style="dim") if status == "queued" else Text("")
    else:
        fraction = min(max(step / total, 0.0), 1.0)
    halves = int(fraction * width * 2)
    full, half = divmod(halves, 2)
    bar = Text("━" * full, style=_bar_style(status))
    if half:
        bar.append("╸", style=_bar_style(status))
    bar.append("─" * (width - full - half), style="dim")
    bar.append(f" {int(fraction * 100):>3d}%")
    return bar


def _bar_style(status: str) -> str:
    return {"failed": "red", "cancelled": "magenta", "stale": "dark_orange"}.get(status, "green" if
                                                                                status in FINISHED else "yellow")


def duration(seconds: float | None) -> str:
    """``45s``, ``3m05s``, ``2h03m``: at most five characters; empty when unknown."""
    if seconds is None or not math.isfinite(seconds) or seconds < 0:
        return ""
    whole = int(round(seconds))
    if whole < 60:
        return f"{whole}s"
    if whole < 3600:
        return f"{whole // 60}m{whole % 60:02d}s"
    if whole < 100 * 3600:
        return f"{whole // 3600}h{whole % 3600 // 60:02d}m"
    return f"{whole // 86400}d"


def number(value: float | None, digits: int = 4, width: int = 8) -> str:
    """A compact number in at most ``width`` characters: ``0.1234``, ``12.35``, ``6.0e-05``, ``1.2e+03``;
    empty when unknown or not finite. Small and large values go to scientific notation rather than
    being cut (``0.00006019`` would show as ``6.019...`` in a narrow column)."""
    if value is None or isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return ""
    magnitude = abs(value)
    if magnitude == 0 or 1e-3 <= magnitude < 1e4:
        return f"{value:.{digits}g}"[:width]
    for decimals in (2, 1, 0):
        text = f"{value:.{decimals}e}"
        if len(text) <= width:
            return text
    return text


def accuracy(value: float | None) -> str:
    if value is None or not isinstance(value, (int, float)) or not math.isfinite(value):
        return ""
    return f"{value:.2f}"
