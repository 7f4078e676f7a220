"""Writes the results tables next to the results, from the dashboard's export key.

Each suite's table goes to ``results/<suite>/_suite/table.{md,csv,json}`` (atomically, so a
reader never sees half a table), the same texts that ``kdss-bench table --format`` prints: both
read the results through :func:`kdss_bench.results.load`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from kdss_bench.results import load
from kdss_bench.store.atomic_write import write_text_atomic
from kdss_bench.store.suite_folder import SuiteFolder

EXPORTS = {"md": "to_markdown", "csv": "to_csv", "json": "to_json"}


def export_tables(results_root: Path, *, suite: str | None = None,
                  method_order: Sequence[str] | None = None) -> list[Path]:
    """Writes every suite's table (or ``suite``'s) in each format of :data:`EXPORTS`; returns the files written."""
    written = []
    for name, table in load(results_root, suite=suite).tables(method_order=method_order).items():
        folder = SuiteFolder(results_root, name).path
        folder.mkdir(parents=True, exist_ok=True)
        for suffix, render in EXPORTS.items():
            path = folder / f"table.{suffix}"
            write_text_atomic(path, getattr(table, render)())
            written.append(path)
    return written
