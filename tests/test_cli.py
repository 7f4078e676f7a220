"""The command line: run, table in every format, validate, ls, and one-line errors for bad input."""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kdss_bench.cli import app
from kdss_bench.store.event_log import read_events
from kdss_bench.store.suite_folder import SuiteFolder
from tests.conftest import TINY_SUITE

REPO = Path(__file__).resolve().parents[1]
runner = CliRunner()


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cli")
    suite = folder / "tiny.yaml"
    suite.write_text(TINY_SUITE)
    out = runner.invoke(app, ["run", str(suite), "--results", str(folder / "results"), "--device", "cpu"])
    assert out.exit_code == 0, out.output
    return folder / "results"


TWO_SEEDS = """\
name: two-seeds
source: digits
budget: 12
resolution: 16
model: convnet_8_16_bn
teacher: {train: barlow_twins, arch: convnet_8_16_bn, epochs: 1}
methods: [random, no_pretrain]
targets: [lfw_faces, textures3]
seeds: [0, 1]
pretrain_classifier: {epochs: 2, batch_size: 8}
finetune: {iterations: 4, batch_size: 16}
"""


@pytest.fixture(scope="module")
def two_seed_run(tmp_path_factory):
    """``run`` of a two-method, two-target, two-seed suite: (its results folder, what it printed)."""
    folder = tmp_path_factory.mktemp("two-seeds")
    suite = folder / "two-seeds.yaml"
    suite.write_text(TWO_SEEDS)
    out = runner.invoke(app, ["run", str(suite), "--results", str(folder / "results"), "--device", "cpu"])
    assert out.exit_code == 0, out.output
    return folder / "results", out.stdout, out.stderr


def _cell(text: str) -> tuple[float, float, bool]:
    """'**55.00 ± 5.00**' -> (55.0, 5.0, bold)."""
    bold = text.startswith("**") and text.endswith("**")
    mean, std = text.strip("*").split(" ± ")
    return float(mean), float(std), bold


def test_run_prints_the_table(two_seed_run):
    """Methods as rows, targets as columns, mean ± population std over the seeds per cell, the best mean of
    each column in bold, then the footer: what the printed table says is what the result files hold."""
    import statistics

    results, stdout, stderr = two_seed_run
    assert "finished 8, already done 0, failed 0" in stderr
    lines = stdout.splitlines()
    assert lines[0] == "| Method | lfw_faces | textures3 |" and lines[1] == "| :--- | ---: | ---: |"
    rows = {}
    for line in lines[2:4]:
        method, *cells = [part.strip() for part in line.strip("|").split("|")]
        rows[method] = dict(zip(["lfw_faces", "textures3"], map(_cell, cells), strict=True))
    assert list(rows) == ["random", "no_pretrain"]
    accuracies = {}
    for path in (results / "two-seeds").glob("*/result.json"):
        result = json.loads(path.read_text())
        accuracies.setdefault((result["method"], result["target"]), []).append(result["accuracy"])
    assert sorted(accuracies) == [(m, t) for m in ("no_pretrain", "random") for t in ("lfw_faces", "textures3")]
    for (method, target), values in accuracies.items():
        mean, std, _ = rows[method][target]
        assert len(values) == 2
        assert mean == pytest.approx(statistics.fmean(values), abs=0.0051)
        assert std == pytest.approx(statistics.pstdev(values), abs=0.0051)
    for target in ("lfw_faces", "textures3"):
        best = max(rows[m][target][0] for m in rows)
        assert all(rows[m][target][2] == (rows[m][target][0] == best) for m in rows), "bold marks the best mean"
    footer = lines[5]
    assert lines[4] == "" and footer.startswith("top-1 test accuracy (%), mean ± population std over 2 seeds; ")
    assert "eval: finetune; recipe: native; source: digits; budget: 12; model: convnet_8_16_bn" in footer
    assert "Gain over no_pretrain" in lines and "paired t-test over 2 seeds" in stdout


def test_table_json_has_the_documented_fields(results):
    out = runner.invoke(app, ["table", "--results", str(results), "--format", "json"])
    assert out.exit_code == 0, out.output
    rows = json.loads(out.stdout)
    assert {(r["method"], r["target"]) for r in rows} == {
        (m, t) for m in ("krr_st", "no_pretrain") for t in ("lfw_faces", "textures3")}
    for row in rows:
        assert {"method", "target", "mean", "std", "n"} <= set(row)
        assert 0 <= row["mean"] <= 100 and row["n"] == 1


def test_table_markdown_and_csv(results):
    md = runner.invoke(app, ["table", "--results", str(results), "--format", "md"]).stdout
    assert "| Method | lfw_faces | textures3 |" in md and "krr_st" in md and "no_pretrain" in md
    text = runner.invoke(app, ["table", "--results", str(results), "--format", "csv"]).stdout
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == 4 and {"method", "target", "mean", "std", "n"} <= set(rows[0])


def test_rerun_recomputes_nothing(results, tmp_path):
    suite = tmp_path / "tiny.yaml"
    suite.write_text(TINY_SUITE)
    out = runner.invoke(app, ["run", str(suite), "--results", str(results), "--device", "cpu"])
    assert out.exit_code == 0
    assert "finished 0, already done 4" in out.stderr


def test_table_without_results_is_a_clear_error(tmp_path):
    out = runner.invoke(app, ["table", "--results", str(tmp_path / "none")])
    assert out.exit_code == 2 and out.stderr.count("\n") == 1 and "run a suite first" in out.stderr


@pytest.mark.parametrize("old,new,fragment", [
    ("methods:\n  krr_st:", "methods:\n  krr_sst:", "unknown method 'krr_sst'"),
    ("targets: [lfw_faces, textures3]", "targets: [lfw_faces, nope]", "dataset 'nope'"),
    ("model: convnet_8_16_bn", "model: resnet99", "resnet99"),
    ("budget: 12", "budget: 0", "key 'budget'"),
    ("resolution: 16", "resolution: -32", "key 'resolution'"),
    ("budget: 12", "budget: [12", "malformed YAML"),
    ("budget: 12", "budget: '12'", "key 'budget': expected an integer"),
])
def test_bad_suites_exit_nonzero_with_one_line_and_write_nothing(tmp_path, old, new, fragment):
    suite = tmp_path / "bad.yaml"
    suite.write_text(TINY_SUITE.replace(old, new, 1))
    results = tmp_path / "results"
    out = runner.invoke(app, ["run", str(suite), "--results", str(results)])
    assert out.exit_code == 2
    assert out.stderr.count("\n") == 1 and out.stderr.startswith("error: ")
    assert str(suite) in out.stderr and fragment in out.stderr
    assert "Traceback" not in out.output
    assert not results.exists()


def test_missing_data_root_is_one_line(tmp_path):
    suite = tmp_path / "s.yaml"
    suite.write_text(TINY_SUITE)
    out = runner.invoke(app, ["run", str(suite), "--results", str(tmp_path / "r"), "--data-root",
                              str(tmp_path / "no-data")])
    assert out.exit_code == 2 and "--data-root" in out.stderr and not (tmp_path / "r").exists()


def test_missing_suite_file(tmp_path):
    out = runner.invoke(app, ["run", str(tmp_path / "absent.yaml")])
    assert out.exit_code == 2 and "suite file not found" in out.stderr


def test_validate_every_shipped_suite():
    suites = sorted((REPO / "suites").rglob("*.yaml"))
    assert suites, "the repo ships suites"
    out = runner.invoke(app, ["validate", *map(str, suites), "--no-check-files"])
    assert out.exit_code == 0, out.output
    assert out.stdout.count("ok ") == len(suites)


def test_ls_lists_registries():
    assert "krr_st" in runner.invoke(app, ["ls", "methods"]).stdout
    assert "convnet_128_256_512_bn" in runner.invoke(app, ["ls", "models"]).stdout
    assert "mnist5k" in runner.invoke(app, ["ls", "datasets"]).stdout


def test_methods_filter_runs_a_subset_and_rejects_unknown_names(tmp_path):
    suite = tmp_path / "tiny.yaml"
    suite.write_text(TINY_SUITE)
    results = tmp_path / "results"
    out = runner.invoke(app, ["run", str(suite), "--results", str(results), "--methods", "no_pretrain"])
    assert out.exit_code == 0, out.output
    assert sorted(p.name for p in (results / "tiny").iterdir() if p.name != "_suite") == [
        "no_pretrain__lfw_faces__seed0", "no_pretrain__textures3__seed0"]
    bad = runner.invoke(app, ["run", str(suite), "--results", str(tmp_path / "r2"), "--methods", "dsa"])
    assert bad.exit_code == 2 and "'dsa' is not a method" in bad.stderr and not (tmp_path / "r2").exists()


def test_cells_option_reruns_only_the_named_cells(tmp_path):
    suite = tmp_path / "tiny.yaml"
    suite.write_text(TINY_SUITE)
    results = tmp_path / "results"
    out = runner.invoke(app, ["run", str(suite), "--results", str(results), "--cells",
                              "no_pretrain__textures3__seed0, no_pretrain__lfw_faces__seed0"])
    assert out.exit_code == 0, out.output
    assert "tiny: 2 cells (chosen with --cells)" in out.stderr and "finished 2, already done 0" in out.stderr
    assert sorted(p.name for p in (results / "tiny").iterdir()) == [
        "_suite", "no_pretrain__lfw_faces__seed0", "no_pretrain__textures3__seed0"]


def test_an_unknown_cell_is_a_one_line_error_listing_the_valid_ids(tmp_path):
    suite = tmp_path / "tiny.yaml"
    suite.write_text(TINY_SUITE)
    results = tmp_path / "results"
    out = runner.invoke(app, ["run", str(suite), "--results", str(results), "--methods", "no_pretrain",
                              "--cells", "krr_st__lfw_faces__seed0"])
    assert out.exit_code == 2 and out.stderr.count("\n") == 1
    assert "'krr_st__lfw_faces__seed0' is not in suite 'tiny'" in out.stderr
    assert "valid ids: no_pretrain__lfw_faces__seed0, no_pretrain__textures3__seed0" in out.stderr
    assert not results.exists()


@pytest.mark.parametrize("executor", ["inline", "local", pytest.param("ray", marks=pytest.mark.slow),
                                      pytest.param("slurm", marks=pytest.mark.slow)])
def test_sigterm_cancels_the_running_cell_and_exits_130(tmp_path, executor):
    """On every executor: the running stage is stopped (Ray: its task cancelled; SLURM: its job
    cancelled), the cell records cancelled, the run record says so, and no stage keeps running."""
    suite = tmp_path / "long.yaml"
    suite.write_text(TINY_SUITE.replace("outer_steps: 4", "outer_steps: 100000"))
    results = tmp_path / "results"
    cell = results / "tiny" / "krr_st__lfw_faces__seed0"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    process = subprocess.Popen([sys.executable, "-m", "kdss_bench", "run", str(suite), "--results", str(results),
                                "--device", "cpu", "--executor", executor, "--workers", "1",
                                "--slurm-cluster", "local"], cwd=REPO, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 120
        while not any(e.stage == "distill" for e in read_events(cell / "events.jsonl")[0]):
            assert process.poll() is None and time.time() < deadline, "the run ended before distilling"
            time.sleep(0.1)
        assert [run["state"] for run in SuiteFolder(results, "tiny").runs()] == ["running"]
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 130, stderr
    assert stderr.strip().splitlines()[-1].startswith("error: cancelled")
    events, _ = read_events(cell / "events.jsonl")
    assert (events[-1].stage, events[-1].kind, events[-1].values) == ("cell", "error", {"message": "cancelled"})
    assert not (cell / "result.json").exists()
    assert [run["state"] for run in SuiteFolder(results, "tiny").runs()] == ["cancelled"]
    assert not list((results / ".cache").glob("*/*.tmp-*")), "the cancelled stage removed its temporary folder"
    time.sleep(1.0)
    size = (cell / "events.jsonl").stat().st_size
    time.sleep(3.0)
    assert (cell / "events.jsonl").stat().st_size == size, "no stage job goes on writing after the cancel"


BOMB = "a: &a [1,1,1,1,1,1,1,1,1,1]\n" + "".join(
    f"{name}: &{name} [{','.join([f'*{prev}'] * 10)}]\n" for prev, name in zip("abcdefg", "bcdefgh", strict=True))


@pytest.mark.parametrize("content,fragment", [
    (TINY_SUITE.replace("name: tiny", "name: caf\xe9").encode("latin-1"), "not UTF-8 text"),
    ((BOMB + "seeds: *h\n").encode(), "more than 10,000 values"),
    ((TINY_SUITE + "distill_seed: &R [0, *R]\n").encode(), "refers to the list or mapping that contains it"),
    ((TINY_SUITE + "description: " + "[" * 1000 + "]" * 1000 + "\n").encode(), "nested more than 32 levels"),
    (TINY_SUITE.replace("targets: [lfw_faces, textures3]", "targets: [faces/v2]").encode()
     + b"datasets:\n  faces/v2: {format: bundled, name: lfw_faces}\n", "key 'datasets.faces/v2'"),
    (TINY_SUITE.replace("  no_pretrain: {}", '  "no_pre\\ntrain": {}').encode(), "unknown method 'no_pre\\ntrain'"),
])
def test_unreadable_suites_are_one_line_exit_2_and_write_nothing(tmp_path, content, fragment):
    suite = tmp_path / "bad.yaml"
    suite.write_bytes(content)
    results = tmp_path / "results"
    started = time.perf_counter()
    for command in (["run", str(suite), "--results", str(results)], ["validate", str(suite)]):
        out = runner.invoke(app, command)
        assert out.exit_code == 2, out.output
        assert out.stderr.count("\n") == 1 and out.stderr.startswith("error: ") and fragment in out.stderr
        assert "Traceback" not in out.output
    assert time.perf_counter() - started < 10
    assert not results.exists()


def test_validate_prints_a_shadowed_built_in_dataset_as_one_warning(tmp_path):
    suite = tmp_path / "shadow.yaml"
    suite.write_text(TINY_SUITE + "datasets:\n  textures3: {format: bundled, name: digits}\n")
    out = runner.invoke(app, ["validate", str(suite)])
    assert out.exit_code == 0, out.output
    assert out.stderr.startswith(f"warning: {suite}:15: key 'datasets.textures3' replaces the built-in dataset")
    assert out.stderr.count("\n") == 1 and out.stdout.startswith("ok ")


def test_a_run_whose_every_cell_fails_lists_the_failures_and_exits_1(tmp_path):
    """Class 1 of the source has one training image; a class-balanced pick of 2 per class fails at run time
    (the labels are needed to know that), in every cell."""
    import numpy as np

    np.savez(tmp_path / "lopsided.npz", x_train=np.zeros((10, 8, 8, 3), np.uint8), y_train=np.array([0] * 9 + [1]),
             x_test=np.zeros((2, 8, 8, 3), np.uint8), y_test=np.array([0, 1]), classes=np.array(["a", "b"]))
    suite = tmp_path / "failing.yaml"
    methods = TINY_SUITE[TINY_SUITE.index("methods:"):TINY_SUITE.index("targets:")]
    suite.write_text(TINY_SUITE.replace("source: digits", "source: lopsided").replace("budget: 12", "budget: 4")
                     .replace(methods, "methods: [random]\n")
                     + f"datasets:\n  lopsided: {{format: npz, path: {tmp_path / 'lopsided.npz'}}}\n")
    out = runner.invoke(app, ["run", str(suite), "--results", str(tmp_path / "results"), "--device", "cpu"])
    assert out.exit_code == 1, out.output
    lines = out.stderr.splitlines()
    summary = next(i for i, line in enumerate(lines) if line.startswith("finished 0, already done 0, failed 2"))
    failures = [line for line in lines[summary:] if line.startswith("failed ")]
    assert [f.split(":")[0] for f in failures] == ["failed random__lfw_faces__seed0", "failed random__textures3__seed0"]
    assert "class 1 has 1 training images but 2 are needed" in failures[0]
    assert "run a suite first" not in out.stderr


@pytest.mark.parametrize("gap_s", [0.05, 0.1, 0.2])
def test_a_second_signal_during_the_cancel_still_exits_130(tmp_path, gap_s):
    """A launcher (or an impatient user) sends SIGTERM again a moment after the first: the run still
    records the cancel and exits 130, never -15."""
    suite = tmp_path / "long.yaml"
    suite.write_text(TINY_SUITE.replace("outer_steps: 4", "outer_steps: 100000"))
    results = tmp_path / "results"
    cell = results / "tiny" / "krr_st__lfw_faces__seed0"
    process = subprocess.Popen([sys.executable, "-m", "kdss_bench", "run", str(suite), "--results", str(results),
                                "--device", "cpu"], cwd=REPO, env={**os.environ, "OMP_NUM_THREADS": "1"},
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 120
        while not any(e.stage == "distill" for e in read_events(cell / "events.jsonl")[0]):
            assert process.poll() is None and time.time() < deadline, "the run ended before distilling"
            time.sleep(0.1)
        process.send_signal(signal.SIGTERM)
        time.sleep(gap_s)
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 130, stderr
    events, _ = read_events(cell / "events.jsonl")
    assert (events[-1].stage, events[-1].kind, events[-1].values) == ("cell", "error", {"message": "cancelled"})


def test_ls_methods_name_prints_every_setting_with_type_default_and_meaning():
    from kdss_bench.methods.registry import method_info, method_names
    from kdss_bench.methods.settings_help import describe_settings

    for name in method_names():
        out = runner.invoke(app, ["ls", "methods", name])
        assert out.exit_code == 0, out.output
        for setting in describe_settings(method_info(name).settings):
            assert setting.meaning, f"{name}.{setting.name} has no comment in its settings class"
            line = next(line for line in out.stdout.splitlines() if line.startswith(setting.name + " "))
            assert setting.type in line and setting.meaning in line
    out = runner.invoke(app, ["ls", "methods", "krr_st"])
    assert "pool_reset" in out.stdout and "[choices: paper, official]" in out.stdout and "160000" in out.stdout
    out = runner.invoke(app, ["ls", "methods", "krr_sst"])
    assert out.exit_code == 2 and "unknown method 'krr_sst'" in out.stderr


def test_ls_models_names_the_convnet_pattern_and_the_cpu_suites_model():
    out = runner.invoke(app, ["ls", "models"])
    assert out.exit_code == 0
    assert "convnet_<w1>_<w2>_..._<bn|in|none>" in out.stdout and "convnet_32_64_128_bn" in out.stdout
    assert "resnet18" in out.stdout.split()


def test_version_and_shell_completion():
    from kdss_bench import __version__

    out = runner.invoke(app, ["--version"])
    assert out.exit_code == 0 and out.stdout.strip() == f"kdss-bench {__version__}"
    assert "--show-completion" in runner.invoke(app, ["--help"]).stdout


def test_threads_are_recorded_and_oversubscription_warns_once(tmp_path):
    suite = tmp_path / "tiny.yaml"
    suite.write_text(TINY_SUITE.replace("targets: [lfw_faces, textures3]", "targets: [lfw_faces]"))
    out = runner.invoke(app, ["run", str(suite), "--results", str(tmp_path / "r"), "--device", "cpu",
                              "--methods", "no_pretrain", "--threads", "64"])
    assert out.exit_code == 0, out.output
    warnings = [line for line in out.stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1 and "64 thread(s)" in warnings[0] and "--threads" in warnings[0]
    result = json.loads((tmp_path / "r" / "tiny" / "no_pretrain__lfw_faces__seed0" / "result.json").read_text())
    assert result["threads"] == 64
    out = runner.invoke(app, ["run", str(suite), "--results", str(tmp_path / "r1"), "--device", "cpu",
                              "--methods", "no_pretrain", "--threads", "1"])
    assert out.exit_code == 0 and "warning:" not in out.stderr
    result = json.loads((tmp_path / "r1" / "tiny" / "no_pretrain__lfw_faces__seed0" / "result.json").read_text())
    assert result["threads"] == 1


def test_the_table_names_one_seed_marks_missing_cells_and_compares_with_no_pretraining(results):
    out = runner.invoke(app, ["table", "--results", str(results)])
    assert "± 0.00" not in out.stdout and "(n=1)" in out.stdout, "one seed has no spread to show"
    assert "Gain over no_pretrain" in out.stdout and "no test (n < 2)" in out.stdout
    latex = runner.invoke(app, ["table", "--results", str(results), "--format", "latex"]).stdout
    assert "\\usepackage{booktabs}" in latex.splitlines()[1]
