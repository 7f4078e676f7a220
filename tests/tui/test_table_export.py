"""kdss_bench.tui.table_export: each suite's table written next to its results as table.md/.csv/.json, the
same texts ``kdss-bench table`` prints."""

from __future__ import annotations

import json

from kdss_bench.results import load
from kdss_bench.store.run_dir import RunDir
from kdss_bench.tui.table_export import EXPORTS, export_tables

from .fixed_results import SUITE


def test_every_format_of_every_suite_is_written_under_its_suite_folder(demo_results):
    other = RunDir(demo_results, "other", "random__lfw_faces__seed0")
    other.create()
    other.write_result({"method": "random", "target": "lfw_faces", "seed": 0, "accuracy": 40.0, "suite": "other"})
    written = export_tables(demo_results)
    assert sorted(written) == sorted(demo_results / suite / "_suite" / f"table.{suffix}"
                                     for suite in (SUITE, "other") for suffix in EXPORTS)
    tables = load(demo_results).tables()
    folder = demo_results / SUITE / "_suite"
    assert (folder / "table.md").read_text() == tables[SUITE].to_markdown()
    assert (folder / "table.csv").read_text() == tables[SUITE].to_csv()
    assert json.loads((folder / "table.json").read_text()) == json.loads(tables[SUITE].to_json())
    assert "**62.50 ± 1.25**" in (folder / "table.md").read_text()
    assert not list(folder.glob(".*.tmp")), "written atomically: no temporary file left"


def test_one_suite_and_a_method_order(demo_results):
    written = export_tables(demo_results, suite=SUITE, method_order=["no_pretrain", "krr_st"])
    assert [path.name for path in written] == ["table.md", "table.csv", "table.json"]
    methods = [row["method"] for row in json.loads((demo_results / SUITE / "_suite" / "table.json").read_text())]
    assert methods.index("no_pretrain") < methods.index("krr_st")


def test_no_results_write_nothing(tmp_path):
    assert export_tables(tmp_path) == [] and not list(tmp_path.rglob("table.*"))
