"""One reader of results for every consumer: ``table``, ``compare``, ``report``, the dashboard, notebooks.

``load(DIR)`` reads a results root (``results/``) or one suite's folder (``results/<suite>``)
into :class:`Results`: every finished ``result.json`` as written (one record per cell, which is
one method x target x seed and its other axes), each suite's planned cells (from its latest run
record, so that what is missing shows) and the results that could not be read, with why.
``Results.tables()`` gives the paper-layout tables, ``Results.to_frame()`` a tidy pandas
DataFrame. On a writable results root the reading goes through the SQLite index
(``store/result_index.py``), which re-reads only the files that changed since the last call: that
is what the index is for (many suites, many cells, read often) besides the stage-cost history
that ``plan`` estimates from. Where the root cannot take an index (a read-only copy) the files
are read directly, with the same records. Torch-free.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kdss_bench.errors import KdssError
from kdss_bench.store.result_file import read_result
from kdss_bench.store.result_index import INDEX_FILE
from kdss_bench.store.run_dir import RESULT_FILE, cell_folder_names, iter_run_dirs
from kdss_bench.store.suite_folder import SUITE_FOLDER, SuiteFolder

if TYPE_CHECKING:
    import pandas as pd

    from kdss_bench.report.results_table import ResultsTable

FRAME_AXES = ("suite", "method", "target", "model", "budget", "protocol", "label_fraction", "source", "eval",
              "recipe", "resolution")
"""The axes a frame has as columns, named as in ``table --format json``."""
FRAME_FIELDS = ("seed", "cell", "accuracy", "test_loss", "train_loss", "iterations", "wall_time_s",
                "distill_wall_time_s", "eval_wall_time_s", "peak_memory_mb", "images_per_s", "distill_model",
                "config_hash", "protocol_version", "git_commit", "device", "threads", "executor", "finished_at")
"""Per-result values after the axes: the seed, the accuracy (percent, as the table prints it), cost, identity."""


@dataclass
class Results:
    """Finished results under ``root`` (``suite`` set when one suite's folder was loaded)."""

    root: Path
    records: list[dict[str, Any]]
    """Every finished ``result.json``, by suite and then cell."""
    planned: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    """Suite -> its planned cells (``cell``, ``method``, ``target``, ``seed`` and its other axes)."""
    problems: dict[str, str] = field(default_factory=dict)
    """``suite/cell`` -> why its ``result.json`` could not be read."""
    suite: str | None = None

    def suites(self) -> list[str]:
        """Suites with a result or a plan, in order of first appearance."""
        return list(dict.fromkeys([*(str(r["suite"]) for r in self.records), *self.planned]))

    def select(self, *, suite: str | None = None, methods: Iterable[str] | None = None) -> Results:
        """Only one suite's and/or only some methods' results (plans and problems narrowed alike)."""
        chosen = set(methods) if methods is not None else None

        def keep(record: Mapping[str, Any]) -> bool:
            return ((suite is None or record.get("suite") == suite)
                    and (chosen is None or record.get("method") in chosen))

        planned = {name: [cell for cell in cells if keep({**cell, "suite": name})]
                   for name, cells in self.planned.items() if suite is None or name == suite}
        problems = {key: why for key, why in self.problems.items() if suite is None or key.split("/")[0] == suite}
        return Results(self.root, [r for r in self.records if keep(r)], planned, problems, suite or self.suite)

    def missing(self, suite: str) -> list[str]:
        """Planned cells of ``suite`` without a finished result, in plan order."""
        done = {r["cell"] for r in self.records if r.get("suite") == suite}
        return [str(cell["cell"]) for cell in self.planned.get(suite, []) if cell["cell"] not in done]

    def tables(self, *, method_order: Sequence[str] | None = None, row_axes: Sequence[str] | None = None,
               column_axes: Sequence[str] | None = None) -> dict[str, ResultsTable]:
        """One :class:`~kdss_bench.report.results_table.ResultsTable` per suite (what ``table`` prints)."""
        from kdss_bench.report.results_table import tables_by_suite

        return tables_by_suite(self.records, method_order=method_order, planned=self.planned,
                               problems=self.problems, row_axes=row_axes, column_axes=column_axes)

    def to_frame(self) -> pd.DataFrame:
        """A tidy DataFrame: one row per result (a cell and its seed), the axes, then FRAME_FIELDS, then one
        ``version_<package>`` column per recorded version. Needs pandas (``pip install pandas``)."""
        try:
            import pandas as pd
        except ImportError:
            raise KdssError("Results.to_frame needs pandas: pip install pandas") from None
        rows = []
        for record in self.records:
            row = {key: record.get(key) for key in (*FRAME_AXES, *FRAME_FIELDS)}
            for package, version in (record.get("versions") or {}).items():
                row[f"version_{package}"] = version
            rows.append(row)
        return pd.DataFrame(rows, columns=None if rows else [*FRAME_AXES, *FRAME_FIELDS])


def load(path: str | os.PathLike[str], *, suite: str | None = None, use_index: bool = True) -> Results:
    """The results under ``path``: a results root, or one suite's folder (``results/<suite>``).

    ``use_index`` reads through the root's SQLite index (created or brought up to date on the way);
    False, or a root where it cannot be written, reads the files. KdssError when ``path`` is no folder.
    """
    path = Path(path)
    if not path.is_dir():
        raise KdssError(f"{path}: folder not found; pass a results folder (e.g. results or results/<suite>)")
    root, only = path, suite
    if _is_suite_folder(path):
        root, only = path.parent, suite or path.name
        if suite is not None and suite != path.name:
            return Results(root, [], {}, {}, suite)
    records, problems = _from_index(root) if use_index else (None, {})
    if records is None:
        records, problems = _from_files(root, only)
    if only is not None:
        records = [r for r in records if r.get("suite") == only]
        problems = {key: why for key, why in problems.items() if key.split("/")[0] == only}
    suites = dict.fromkeys([*(str(r["suite"]) for r in records), *([only] if only else [])])
    planned = {name: cells for name in suites if (cells := SuiteFolder(root, name).planned_cells())}
    return Results(root, records, planned, problems, only)


def _is_suite_folder(path: Path) -> bool:
    """``results/<suite>``: it holds the suite's ``_suite`` folder, or cell folders with results directly."""
    if (path / SUITE_FOLDER).is_dir():
        return True
    return any((path / name / "result.json").is_file() for name in cell_folder_names(path))


def _from_index(root: Path) -> tuple[list[dict[str, Any]] | None, dict[str, str]]:
    from kdss_bench.store.result_index import ResultIndex

    if not os.access(root, os.W_OK):
        return None, {}
    if not (root / INDEX_FILE).exists() and not any(root.glob(f"*/*/{RESULT_FILE}")):
        return None, {}  # nothing to index: reading must not leave an index.sqlite in an empty folder
    with ResultIndex(root) as index:
        index.sync()
        rows = [row["payload"] for row in index.rows()]
        problems = {f"{item.path.parent.parent.name}/{item.path.parent.name}":
                    item.reason.replace(f"{item.path}: ", "") for item in index.skipped}
    return [row for row in rows if row.get("accuracy") is not None], problems


def _from_files(root: Path, suite: str | None) -> tuple[list[dict[str, Any]], dict[str, str]]:
    records, problems = [], {}
    for run in iter_run_dirs(root):
        if suite is not None and run.suite != suite or not run.result_path.is_file():
            continue
        record, why = read_result(run.result_path)
        if record is not None and (record.get("suite"), record.get("cell")) != (run.suite, run.cell):
            record, why = None, f"names {record.get('suite')}/{record.get('cell')} but lies in {run.run_id}; move it"
        if record is None:
            problems[f"{run.suite}/{run.cell}"] = str(why).replace(f"{run.result_path}: ", "")
        elif record.get("accuracy") is not None:
            records.append(record)
    return records, problems
