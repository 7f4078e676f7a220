from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from kdss_bench.store.atomic_write import write_json_atomic, write_text_atomic


def test_json_round_trip_and_no_temp_files_left(tmp_path):
    target = tmp_path / "result.json"
    write_json_atomic(target, {"accuracy": 61.25, "name": "ü"})
    write_json_atomic(target, {"accuracy": 62.5})
    assert json.loads(target.read_text(encoding="utf-8")) == {"accuracy": 62.5}
    assert target.read_text(encoding="utf-8").endswith("\n")
    assert [p.name for p in tmp_path.iterdir()] == ["result.json"]


def test_failing_serializer_leaves_old_file_and_no_temp(tmp_path):
    target = tmp_path / "result.json"
    write_json_atomic(target, {"accuracy": 1.0})
    with pytest.raises(TypeError):
        write_json_atomic(target, {"accuracy": object()})
    assert json.loads(target.read_text()) == {"accuracy": 1.0}
    assert [p.name for p in tmp_path.iterdir()] == ["result.json"]


def test_error_while_writing_removes_temp_and_keeps_old(tmp_path):
    target = tmp_path / "notes.txt"
    write_text_atomic(target, "old\n")
    with pytest.raises(UnicodeEncodeError):
        write_text_atomic(target, "bad \ud800 surrogate")
    assert target.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]


def test_writer_killed_before_replace_leaves_old_file_intact(tmp_path):
    target = tmp_path / "result.json"
    write_json_atomic(target, {"accuracy": 1.0})
    script = textwrap.dedent(
        f"""
        import os, signal
        from kdss_bench.store import atomic_write
        def die(src, dst):
            os.kill(os.getpid(), signal.SIGKILL)
        atomic_write.os.replace = die
        atomic_write.write_json_atomic({str(target)!r}, {{"accuracy": 2.0, "pad": "x" * 100000}})
        """
    )
    completed = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=60)
    assert completed.returncode == -9, completed.stderr.decode()
    assert json.loads(target.read_text()) == {"accuracy": 1.0}
    leftovers = [p.name for p in tmp_path.iterdir() if p.name != "result.json"]
    assert len(leftovers) == 1 and leftovers[0].startswith(".result.json.")  # hidden, never mistaken


def test_written_file_is_world_readable(tmp_path):
    target = tmp_path / "config.yaml"
    write_text_atomic(target, "a: 1\n")
    assert target.stat().st_mode & 0o444 == 0o444
