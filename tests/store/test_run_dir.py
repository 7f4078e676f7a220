from __future__ import annotations

import json

import pytest
import yaml

from kdss_bench.errors import ConfigError
from kdss_bench.store.event_log import read_events
from kdss_bench.store.result_file import ResultFileError
from kdss_bench.store.run_dir import RunDir, check_folder_name, iter_run_dirs


def test_paths_follow_the_layout(tmp_path):
    run = RunDir(tmp_path, "cifar10-transfer", "krr_st__gtsrb43__seed0")
    assert run.path == tmp_path / "cifar10-transfer" / "krr_st__gtsrb43__seed0"
    assert run.config_path == run.path / "config.yaml"
    assert run.events_path == run.path / "events.jsonl"
    assert run.result_path == run.path / "result.json"
    assert run.run_id == "cifar10-transfer/krr_st__gtsrb43__seed0"
    assert not run.path.exists()  # nothing is created until written


@pytest.mark.parametrize("name", ["", "a/b", "a\\b", "..", ".cache", "a\nb", " padded", "x" * 201])
def test_bad_folder_names_are_refused(tmp_path, name):
    with pytest.raises(ConfigError, match="cell id"):
        RunDir(tmp_path, "suite", name)
    with pytest.raises(ConfigError, match="suite name"):
        RunDir(tmp_path, name, "cell")


def test_good_folder_names_pass():
    for name in ("krr_st__gtsrb43__seed0", "cifar10-transfer", "budget1.5", "a+b@c"):
        assert check_folder_name(name) == name


def test_result_round_trip_and_finished(tmp_path):
    run = RunDir(tmp_path, "s", "c")
    assert not run.is_finished()
    run.write_result({"method": "krr_st", "accuracy": 61.25})
    assert run.is_finished()
    assert run.load_result() == {"method": "krr_st", "accuracy": 61.25, "suite": "s", "cell": "c"}


def test_write_result_refuses_a_result_of_another_cell(tmp_path):
    run = RunDir(tmp_path, "s", "c")
    with pytest.raises(ResultFileError, match="belongs to"):
        run.write_result({"suite": "s", "cell": "other", "accuracy": 1.0})
    assert not run.result_path.exists()


@pytest.mark.parametrize("content", ['{"suite": "s", "cell": "c", "accur', "[1, 2]", '{"suite": "s"}'])
def test_corrupt_result_is_not_finished(tmp_path, content):
    run = RunDir(tmp_path, "s", "c").create()
    run.result_path.write_text(content)
    assert not run.is_finished()
    with pytest.raises(ResultFileError, match="result.json"):
        run.load_result()


def test_missing_result_message_names_the_file(tmp_path):
    with pytest.raises(ResultFileError, match="has not finished"):
        RunDir(tmp_path, "s", "c").load_result()


def test_config_is_yaml_in_key_order(tmp_path):
    run = RunDir(tmp_path, "s", "c")
    run.write_config({"method": "krr_st", "budget": 500, "targets": ("gtsrb43", "dtd10"), "root": tmp_path})
    text = run.config_path.read_text()
    assert text.index("method") < text.index("budget")
    assert yaml.safe_load(text) == {
        "method": "krr_st",
        "budget": 500,
        "targets": ["gtsrb43", "dtd10"],
        "root": str(tmp_path),
    }
    assert run.load_config()["budget"] == 500


def test_event_log_writes_into_the_run_folder(tmp_path):
    run = RunDir(tmp_path, "s", "c")
    with run.event_log() as log:
        log.emit(run.run_id, "distill", "start")
    events, _ = read_events(run.events_path)
    assert events[0].run == "s/c"


def test_iter_run_dirs_finds_cells_and_skips_hidden_and_files(tmp_path):
    RunDir(tmp_path, "b-suite", "cell2").create()
    RunDir(tmp_path, "a-suite", "cell1").create()
    RunDir(tmp_path, "a-suite", "cell0").create()
    (tmp_path / ".cache" / "distill" / "abc").mkdir(parents=True)
    (tmp_path / "a-suite" / ".hidden").mkdir()
    (tmp_path / "index.sqlite").write_text("")
    (tmp_path / "a-suite" / "notes.txt").write_text("")
    found = [(run.suite, run.cell) for run in iter_run_dirs(tmp_path)]
    assert found == [("a-suite", "cell0"), ("a-suite", "cell1"), ("b-suite", "cell2")]
    assert list(iter_run_dirs(tmp_path / "absent")) == []


def test_suite_files_folder_is_not_a_cell(tmp_path):
    RunDir(tmp_path, "s", "cell0").create()
    (tmp_path / "s" / "_suite").mkdir()
    (tmp_path / "s" / "_suite" / "result.json").write_text('{"suite": "s", "cell": "_suite"}')
    assert [(run.suite, run.cell) for run in iter_run_dirs(tmp_path)] == [("s", "cell0")]
    with pytest.raises(ConfigError, match="'_suite'"):
        RunDir(tmp_path, "s", "_suite")


def test_written_result_is_plain_json(tmp_path):
    run = RunDir(tmp_path, "s", "c")
    run.write_result({"accuracy": 50.0})
    assert json.loads(run.result_path.read_text())["accuracy"] == 50.0
