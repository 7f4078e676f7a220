"""``kdss-bench compare``: matching, Welch p-values, verdicts, the report and the CI gate files."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kdss_bench.cli import app
from kdss_bench.report.compare import (
    IMPROVEMENT,
    MISSING,
    NEW,
    REGRESSION,
    SAME,
    CellStats,
    compare_cells,
    compare_paths,
)

REPO = Path(__file__).resolve().parents[2]
runner = CliRunner()


def write_results(root: Path, accuracies: dict[tuple[str, str], list[float]], suite: str = "gate") -> Path:
    """A results folder with one result.json per (method, target, seed)."""
    for (method, target), values in accuracies.items():
        for seed, accuracy in enumerate(values):
            cell = root / suite / f"{method}__{target}__seed{seed}"
            cell.mkdir(parents=True)
            result = {"suite": suite, "cell": cell.name, "method": method, "target": target, "seed": seed,
                      "accuracy": accuracy, "source": "digits", "budget": 20, "model": "convnet_8_16_bn",
                      "eval": "finetune", "recipe": "native", "resolution": 16}
            (cell / "result.json").write_text(json.dumps(result), encoding="utf-8")
    return root


BASE = {("krr_st", "lfw_faces"): [80.0, 81.0, 79.0], ("no_pretrain", "lfw_faces"): [70.0, 72.0, 71.0]}


def by_cell(comparison):
    return {(row.method, row.target): row for row in comparison.rows}


def export(results: Path, path: Path) -> Path:
    out = runner.invoke(app, ["table", "--results", str(results), "--format", "json"])
    assert out.exit_code == 0, out.output
    path.write_text(out.stdout, encoding="utf-8")
    return path


def test_identical_folders_are_all_same(tmp_path):
    comparison = compare_paths(write_results(tmp_path / "a", BASE), write_results(tmp_path / "b", BASE))
    assert [row.verdict for row in comparison.rows] == [SAME, SAME]
    assert all(row.diff == 0 and row.p == 1.0 and row.test == "seeds" for row in comparison.rows)
    assert comparison.matched_by == ("suite", "method", "target") and not comparison.failed


def test_json_export_against_folder_gives_the_same_p_as_the_seeds(tmp_path):
    """The export's population std is turned into the sample std: the p-value matches the per-seed test."""
    new = {("krr_st", "lfw_faces"): [77.0, 79.5, 78.0], ("no_pretrain", "lfw_faces"): [70.0, 73.0, 71.0]}
    base_folder = write_results(tmp_path / "a", BASE)
    new_folder = write_results(tmp_path / "b", new)
    from_seeds = by_cell(compare_paths(base_folder, new_folder))
    from_json = by_cell(compare_paths(export(base_folder, tmp_path / "base.json"), new_folder))
    for key, row in from_seeds.items():
        assert from_json[key].test == "stats" and row.test == "seeds"
        assert from_json[key].diff == pytest.approx(row.diff)
        assert from_json[key].p == pytest.approx(row.p, rel=1e-9)
    both_json = by_cell(compare_paths(tmp_path / "base.json", export(new_folder, tmp_path / "new.json")))
    assert both_json[("krr_st", "lfw_faces")].p == pytest.approx(from_seeds[("krr_st", "lfw_faces")].p)


def test_a_planted_drop_is_a_significant_regression_and_fails_the_gate(tmp_path):
    dropped = {**BASE, ("krr_st", "lfw_faces"): [70.0, 71.0, 69.5]}
    base, new = write_results(tmp_path / "a", BASE), write_results(tmp_path / "b", dropped)
    row = by_cell(compare_paths(base, new))[("krr_st", "lfw_faces")]
    assert row.verdict == REGRESSION and row.diff == pytest.approx(-9.83, abs=0.01) and row.p < 0.01
    failing = runner.invoke(app, ["compare", str(base), str(new), "--fail-on-regression"])
    assert failing.exit_code == 1 and "**regression**" in failing.stdout
    assert runner.invoke(app, ["compare", str(base), str(new)]).exit_code == 0
    reverse = by_cell(compare_paths(new, base))[("krr_st", "lfw_faces")]
    assert reverse.verdict == IMPROVEMENT
    assert runner.invoke(app, ["compare", str(new), str(base), "--fail-on-regression"]).exit_code == 0


def test_a_drop_below_the_minimum_effect_is_same_even_when_significant(tmp_path):
    steady = {("krr_st", "lfw_faces"): [80.0, 80.1, 79.9]}
    small = {("krr_st", "lfw_faces"): [79.5, 79.6, 79.4]}  # -0.5 points, std 0.1: clearly significant
    base, new = write_results(tmp_path / "a", steady), write_results(tmp_path / "b", small)
    row = compare_paths(base, new).rows[0]
    assert row.diff == pytest.approx(-0.5) and row.p < 0.01 and row.verdict == SAME
    assert compare_paths(base, new, min_effect=0.4).rows[0].verdict == REGRESSION


def test_a_noisy_drop_is_not_significant(tmp_path):
    noisy_base = {("krr_st", "lfw_faces"): [60.0, 90.0, 75.0]}
    noisy_new = {("krr_st", "lfw_faces"): [52.0, 88.0, 70.0]}  # -5 points, std about 15
    row = compare_paths(write_results(tmp_path / "a", noisy_base), write_results(tmp_path / "b", noisy_new)).rows[0]
    assert row.diff == pytest.approx(-5.0) and row.p > 0.5 and row.verdict == SAME


def test_missing_and_new_cells(tmp_path):
    base = write_results(tmp_path / "a", BASE)
    new = write_results(tmp_path / "b", {("krr_st", "lfw_faces"): BASE[("krr_st", "lfw_faces")],
                                         ("random", "lfw_faces"): [75.0, 76.0, 74.0]})
    comparison = compare_paths(base, new)
    rows = by_cell(comparison)
    assert rows[("no_pretrain", "lfw_faces")].verdict == MISSING and rows[("no_pretrain", "lfw_faces")].new is None
    assert rows[("random", "lfw_faces")].verdict == NEW and rows[("random", "lfw_faces")].base is None
    assert comparison.failed  # a cell that vanished fails the gate
    assert runner.invoke(app, ["compare", str(base), str(new), "--fail-on-regression"]).exit_code == 1
    only_new = compare_paths(write_results(tmp_path / "c", {("krr_st", "lfw_faces"): [80.0, 81.0, 79.0]}), new)
    assert [row.verdict for row in only_new.rows] == [SAME, NEW] and not only_new.failed


def test_methods_option_compares_an_ablation_suite_with_a_full_one(tmp_path):
    """A suite that runs one method, against one that runs them all: only that method's cells count."""
    base = write_results(tmp_path / "a", BASE)
    ablation = write_results(tmp_path / "b", {("krr_st", "lfw_faces"): [80.0, 81.0, 79.5]}, suite="ablation")
    assert compare_paths(base, ablation).failed, "without the filter the other methods are missing"
    comparison = compare_paths(base, ablation, methods=["krr_st"])
    assert [(row.method, row.verdict) for row in comparison.rows] == [("krr_st", SAME)] and not comparison.failed
    out = runner.invoke(app, ["compare", str(base), str(ablation), "--methods", "krr_st", "--fail-on-regression"])
    assert out.exit_code == 0 and "1 matched cell" in out.stdout
    bad = runner.invoke(app, ["compare", str(base), str(ablation), "--methods", "dsa"])
    assert bad.exit_code == 2 and "--methods dsa" in bad.output and "krr_st" in bad.output


def test_with_fewer_than_two_seeds_the_drop_alone_decides():
    base = CellStats("gate", "krr_st", "lfw_faces", 80.0, 0.0, 1, (80.0,))
    rows = {new_mean: compare_cells(base, CellStats("gate", "krr_st", "lfw_faces", new_mean, 0.0, 1, (new_mean,)))
            for new_mean in (77.0, 79.5, 83.0)}
    assert rows[77.0].p is None and rows[77.0].test == "none" and rows[77.0].verdict == REGRESSION
    assert rows[79.5].verdict == SAME and rows[83.0].verdict == IMPROVEMENT
    three = CellStats("gate", "krr_st", "lfw_faces", 77.0, 1.0, 3, (76.0, 77.0, 78.0))
    assert compare_cells(base, three).p is None and compare_cells(base, three).verdict == REGRESSION


def test_zero_variance_and_diverged_runs():
    steady = CellStats("gate", "m", "t", 80.0, 0.0, 2, (80.0, 80.0))
    assert compare_cells(steady, CellStats("gate", "m", "t", 78.0, 0.0, 2, (78.0, 78.0))).p == 0.0
    diverged = CellStats("gate", "m", "t", math.nan, math.nan, 2, (math.nan, 1.0))
    row = compare_cells(steady, diverged)
    assert row.verdict == REGRESSION and row.p is None
    assert compare_cells(diverged, steady).verdict == IMPROVEMENT


def test_differing_suite_names_fall_back_to_method_and_target(tmp_path):
    base = write_results(tmp_path / "a", BASE, suite="gate")
    new = write_results(tmp_path / "b", BASE, suite="gate-dev")
    comparison = compare_paths(base, new)
    assert comparison.matched_by == ("method", "target") and len(comparison.rows) == 2
    assert all(row.verdict == SAME and row.new_suite == "gate-dev" for row in comparison.rows)
    report = comparison.to_markdown()
    assert "matched by method and target only" in report and "gate → gate-dev" in report


def test_markdown_report_has_header_table_and_summary(tmp_path):
    base = write_results(tmp_path / "a", BASE)
    out = runner.invoke(app, ["compare", str(base), str(write_results(tmp_path / "b", BASE)), "--min-effect", "2"])
    assert out.exit_code == 0, out.output
    lines = out.stdout.splitlines()
    assert lines[0] == "## Accuracy comparison"
    assert "| suite | method | target | base | new | diff | p | verdict |" in lines
    assert "| gate | krr_st | lfw_faces | 80.00 ± 0.82 (n=3) | 80.00 ± 0.82 (n=3) | +0.00 | 1.000 | same |" in lines
    assert lines[-1].startswith("Summary: 2 matched cells: 0 regressions, 0 improvements, 2 same;")
    assert lines[-1].endswith("no regression.") and "mean drop > 2 points and p < 0.05" in out.stdout


def test_json_format(tmp_path):
    dropped = {**BASE, ("krr_st", "lfw_faces"): [70.0, 71.0, 69.5]}
    out = runner.invoke(app, ["compare", str(write_results(tmp_path / "a", BASE)),
                              str(write_results(tmp_path / "b", dropped)), "--format", "json", "--alpha", "0.01"])
    assert out.exit_code == 0, out.output
    report = json.loads(out.stdout)
    assert report["regression"] is True and report["alpha"] == 0.01 and report["counts"][REGRESSION] == 1
    cell = next(c for c in report["cells"] if c["method"] == "krr_st")
    assert cell["verdict"] == REGRESSION and cell["base"]["values"] == [80.0, 81.0, 79.0]


@pytest.mark.parametrize("make_args,fragment", [
    (lambda good, tmp: [str(tmp / "nope"), good], "BASE"),
    (lambda good, tmp: [good, str(tmp / "nope")], "NEW"),
    (lambda good, tmp: [str(tmp / "bad.json"), good], "not a non-empty JSON list"),
    (lambda good, tmp: [str(tmp / "empty"), good], "no finished result.json"),
    (lambda good, tmp: [good, good, "--alpha", "2"], "--alpha"),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path, make_args, fragment):
    good = str(write_results(tmp_path / "a", BASE))
    (tmp_path / "bad.json").write_text("{}", encoding="utf-8")
    (tmp_path / "empty").mkdir()
    out = runner.invoke(app, ["compare", *make_args(good, tmp_path)])
    assert out.exit_code == 2 and out.stderr.count("\n") == 1 and fragment in out.stderr, out.output


def test_compare_module_does_not_import_torch():
    code = "import sys, kdss_bench.report.compare\nprint(sorted(m for m in ('torch', 'scipy') if m in sys.modules))\n"
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == "[]"


def test_ci_gate_suite_validates_and_matches_its_baseline():
    out = runner.invoke(app, ["validate", str(REPO / "suites" / "ci" / "gate.yaml")])
    assert out.exit_code == 0, out.output
    assert "suite gate, 12 cells (krr_st, random, no_pretrain on lfw_faces, textures3; seeds [0, 1])" in out.stdout
    baseline = json.loads((REPO / "results" / "baselines" / "gate.json").read_text(encoding="utf-8"))
    assert {(row["suite"], row["method"], row["target"], row["n"]) for row in baseline} == {
        ("gate", method, target, 2) for method in ("krr_st", "random", "no_pretrain")
        for target in ("lfw_faces", "textures3")}
    assert (REPO / "scripts" / "ci_gate.sh").is_file()
    assert "scripts/ci_gate.sh" in (REPO / ".ci" / "run").read_text(encoding="utf-8")


def test_cells_are_matched_on_every_axis_not_only_method_and_target(tmp_path):
    from kdss_bench.report.compare import compare_paths
    from kdss_bench.store.run_dir import RunDir

    def write(root, shift):
        for budget in (100, 500):
            for seed in (0, 1):
                cell = f"krr_st__b{budget}__t__seed{seed}"
                RunDir(root, "s", cell).write_result({"method": "krr_st", "target": "t", "seed": seed,
                                                      "budget": budget, "model": "m",
                                                      "accuracy": budget / 10 + seed + (shift if budget == 500 else 0)})

    write(tmp_path / "base", 0.0)
    write(tmp_path / "new", -8.0)
    comparison = compare_paths(tmp_path / "base", tmp_path / "new")
    verdicts = {dict(row.base.axes)["budget"]: row.verdict for row in comparison.rows}
    assert verdicts == {100: "same", 500: "regression"}, "the 500-image cell regressed, the 100-image one did not"
    assert "krr_st (budget 500)" in comparison.to_markdown()
