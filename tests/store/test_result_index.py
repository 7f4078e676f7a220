from __future__ import annotations

import multiprocessing
import os
import sqlite3

import pytest

from kdss_bench.errors import KdssError
from kdss_bench.store.result_index import INDEX_FILE, ResultIndex
from kdss_bench.store.run_dir import RunDir


def _result(suite: str, cell: str, accuracy: float = 50.0, **extra) -> dict:
    method, target, seed = cell.split("__")
    return {
        "suite": suite,
        "cell": cell,
        "method": method,
        "source": "cifar10_src",
        "target": target,
        "seed": int(seed.removeprefix("seed")),
        "budget": 500,
        "resolution": 32,
        "model": "convnet_64_128_256_bn",
        "eval": "finetune",
        "recipe": "native",
        "accuracy": accuracy,
        "test_loss": 1.3,
        "wall_time_s": 81.2,
        "peak_memory_mb": 900.1,
        "config_hash": "abc",
        "protocol_version": 1,
        "git_commit": "deadbeef",
        "versions": {"python": "3.11"},
        "device": "cpu",
        "finished_at": "2026-11-27T23:00:00Z",
        **extra,
    }


def _write(root, suite, cell, accuracy=50.0) -> RunDir:
    run = RunDir(root, suite, cell)
    run.write_result(_result(suite, cell, accuracy))
    return run


def test_upsert_inserts_then_replaces(tmp_path):
    with ResultIndex(tmp_path) as index:
        index.upsert(_result("s", "krr_st__gtsrb43__seed0", 50.0))
        index.upsert(_result("s", "krr_st__gtsrb43__seed0", 60.0))
        index.upsert(_result("t", "krr_st__gtsrb43__seed0", 70.0))
        rows = index.rows("s")
        assert len(index) == 2 and index.suites() == ["s", "t"]
    assert len(rows) == 1
    row = rows[0]
    assert row["accuracy"] == 60.0 and row["method"] == "krr_st" and row["target"] == "gtsrb43"
    assert row["seed"] == 0 and row["budget"] == 500 and row["eval"] == "finetune"
    assert row["payload"]["versions"] == {"python": "3.11"}


def test_upsert_refuses_result_without_keys(tmp_path):
    with ResultIndex(tmp_path) as index, pytest.raises(KdssError, match="'cell'"):
        index.upsert({"suite": "s", "accuracy": 1.0})


def test_database_is_wal_and_keyed_by_suite_and_cell(tmp_path):
    ResultIndex(tmp_path).close()
    db = sqlite3.connect(tmp_path / INDEX_FILE)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    columns = [row[1] for row in db.execute("PRAGMA table_info(results)")]
    key = [row[1] for row in sorted(db.execute("PRAGMA table_info(results)"), key=lambda r: r[5]) if row[5]]
    db.close()
    assert key == ["suite", "cell"]
    for name in ("method", "accuracy", "peak_memory_mb", "config_hash", "git_commit", "payload"):
        assert name in columns


def test_new_index_is_built_from_existing_folders(tmp_path):
    _write(tmp_path, "s", "krr_st__gtsrb43__seed0")
    _write(tmp_path, "s", "krr_st__gtsrb43__seed1")
    with ResultIndex(tmp_path) as index:
        assert [row["cell"] for row in index.rows()] == ["krr_st__gtsrb43__seed0", "krr_st__gtsrb43__seed1"]


def test_rebuild_rereads_folders_and_skips_corrupt(tmp_path, caplog):
    index = ResultIndex(tmp_path)
    index.upsert(_result("s", "gone__gtsrb43__seed0"))  # no folder: dropped by rebuild
    _write(tmp_path, "s", "krr_st__gtsrb43__seed0", 61.0)
    bad = RunDir(tmp_path, "s", "krr_st__dtd10__seed0").create()
    bad.result_path.write_text('{"suite": "s", "cell": "krr_st__dt')
    RunDir(tmp_path, "s", "running__dtd10__seed0").create()  # no result yet
    (tmp_path / ".cache" / "distill" / "h").mkdir(parents=True)
    assert index.rebuild() == 1
    assert [row["cell"] for row in index.rows()] == ["krr_st__gtsrb43__seed0"]
    assert [item.path for item in index.skipped] == [bad.result_path]
    assert "not valid JSON" in index.skipped[0].reason
    assert "krr_st__dtd10__seed0" in caplog.text
    index.close()


def test_rebuild_skips_result_in_the_wrong_folder(tmp_path):
    run = RunDir(tmp_path, "s", "krr_st__gtsrb43__seed0").create()
    run.result_path.write_text('{"suite": "s", "cell": "other"}')
    with ResultIndex(tmp_path) as index:
        assert index.rebuild() == 0
        assert "lies in" in index.skipped[0].reason


def test_sync_adds_updates_and_removes(tmp_path):
    index = ResultIndex(tmp_path)
    first = _write(tmp_path, "s", "krr_st__gtsrb43__seed0", 50.0)
    assert index.sync() == 1
    assert index.sync() == 0  # nothing changed: nothing re-read
    second = _write(tmp_path, "s", "krr_st__gtsrb43__seed1", 52.0)
    first.write_result(_result("s", "krr_st__gtsrb43__seed0", 55.0))  # rewritten at once
    assert index.sync() == 2
    assert {row["cell"]: row["accuracy"] for row in index.rows()} == {
        "krr_st__gtsrb43__seed0": 55.0,
        "krr_st__gtsrb43__seed1": 52.0,
    }
    for path in second.path.iterdir():
        path.unlink()
    second.path.rmdir()  # folder vanished
    first.result_path.unlink()  # result removed (cell being re-run)
    assert index.sync() == 2
    assert index.rows() == []
    index.close()


def test_sync_does_not_reread_unchanged_files(tmp_path):
    run = _write(tmp_path, "s", "krr_st__gtsrb43__seed0", 50.0)
    index = ResultIndex(tmp_path)
    before = run.result_path.stat()
    with open(run.result_path, "r+b") as handle:  # same inode, same size, mtime restored below
        handle.write(b"X" * before.st_size)
    os.utime(run.result_path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert index.sync() == 0  # a re-read would find garbage and drop the row
    assert index.rows()[0]["accuracy"] == 50.0
    index.close()


def test_sync_drops_a_result_that_became_corrupt(tmp_path):
    run = _write(tmp_path, "s", "krr_st__gtsrb43__seed0")
    with ResultIndex(tmp_path) as index:
        assert len(index) == 1
        run.result_path.write_text("{")
        assert index.sync() == 1
        assert len(index) == 0 and index.skipped[0].path == run.result_path


def test_schema_version_change_rebuilds(tmp_path):
    _write(tmp_path, "s", "krr_st__gtsrb43__seed0")
    ResultIndex(tmp_path).close()
    db = sqlite3.connect(tmp_path / INDEX_FILE)
    db.execute("DELETE FROM results")
    db.execute("PRAGMA user_version = 999")
    db.commit()
    db.close()
    with ResultIndex(tmp_path) as index:
        assert len(index) == 1


def test_get_and_delete(tmp_path):
    with ResultIndex(tmp_path) as index:
        index.upsert(_result("s", "krr_st__gtsrb43__seed0", 42.0))
        assert index.get("s", "krr_st__gtsrb43__seed0")["accuracy"] == 42.0
        assert index.get("s", "nope") is None
        assert index.delete("s", "krr_st__gtsrb43__seed0") is True
        assert index.delete("s", "krr_st__gtsrb43__seed0") is False


def _upsert_many(root: str, worker: int, count: int, start) -> None:
    start.wait()
    index = ResultIndex(root)
    for seed in range(count):
        index.upsert(_result("s", f"m{worker}__gtsrb43__seed{seed}", float(seed)))
    index.close()


def test_concurrent_writers_lose_nothing(tmp_path):
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if "fork" in methods else None)
    workers, count = 4, 40
    start = context.Event()
    processes = [
        context.Process(target=_upsert_many, args=(str(tmp_path), worker, count, start))
        for worker in range(workers)
    ]
    for process in processes:
        process.start()
    start.set()  # all open the database and write at the same moment
    for process in processes:
        process.join(timeout=60)
    assert [process.exitcode for process in processes] == [0] * workers
    with ResultIndex(tmp_path) as index:
        assert len(index) == workers * count


@pytest.mark.parametrize("damage", ["garbage", "truncated", "malformed"])
def test_a_broken_index_is_moved_aside_and_rebuilt_from_the_folders(tmp_path, caplog, damage):
    for index_, cell in enumerate(("krr_st__gtsrb43__seed0", "krr_st__gtsrb43__seed1", "dm__dtd10__seed0")):
        _write(tmp_path, "s", cell, accuracy=40.0 + index_)
    with ResultIndex(tmp_path) as index:
        assert len(index) == 3
    path = tmp_path / INDEX_FILE
    data = path.read_bytes()
    if damage == "garbage":
        path.write_bytes(b"this is not a database at all" * 100)
    elif damage == "truncated":
        path.write_bytes(data[: len(data) // 3])
    else:  # a valid header with wrecked pages
        path.write_bytes(data[:100] + bytes(len(data) - 100))
    for suffix in ("-wal", "-shm"):
        (tmp_path / f"{INDEX_FILE}{suffix}").unlink(missing_ok=True)
    with caplog.at_level("WARNING", logger="kdss_bench"), ResultIndex(tmp_path) as index:
        assert sorted(row["accuracy"] for row in index.rows("s")) == [40.0, 41.0, 42.0]
        assert index.repaired is not None and "\n" not in index.repaired
    assert "rebuilt the index from the result folders (3 results)" in caplog.text
    assert len(list(tmp_path.glob(f"{INDEX_FILE}.broken-*"))) == 1, "the broken file is kept aside, not deleted"


def test_an_index_damaged_while_open_is_repaired_on_the_next_read(tmp_path):
    _write(tmp_path, "s", "krr_st__gtsrb43__seed0")
    with ResultIndex(tmp_path) as index:
        index._db.close()  # the file goes bad under an open index (another program overwrote it)
        (tmp_path / INDEX_FILE).write_bytes(b"garbage" * 1000)
        index._db = sqlite3.connect(tmp_path / INDEX_FILE, isolation_level=None, check_same_thread=False)
        assert [row["cell"] for row in index.rows()] == ["krr_st__gtsrb43__seed0"]
        assert index.repaired is not None


def test_a_locked_index_is_not_mistaken_for_a_broken_one():
    from kdss_bench.store.result_index import _is_damage

    assert not _is_damage(sqlite3.OperationalError("database is locked"))
    assert not _is_damage(sqlite3.OperationalError("database or disk is full"))
    assert _is_damage(sqlite3.DatabaseError("file is not a database"))
    assert _is_damage(sqlite3.DatabaseError("database disk image is malformed"))
