from __future__ import annotations

import json

from kdss_bench.store.event import Event
from kdss_bench.store.event_log import EventLog, EventTail, read_events, scan_events


def _event(step: int) -> Event:
    return Event("suite/cell", "distill", "progress", step, 10, {"loss": step / 10}, 1000.0 + step)


def test_round_trip_in_order(tmp_path):
    path = tmp_path / "run" / "events.jsonl"
    with EventLog(path) as log:
        for step in range(3):
            log.append(_event(step))
    events, offset = read_events(path)
    assert events == [_event(0), _event(1), _event(2)]
    assert offset == path.stat().st_size


def test_lines_are_visible_before_close(tmp_path):
    path = tmp_path / "events.jsonl"
    log = EventLog(path)
    log.emit("s/c", "pretrain", "start", total=5)
    events, _ = read_events(path)  # flushed per line: a reader sees it while the writer is open
    assert [e.kind for e in events] == ["start"]
    log.close()


def test_incremental_offsets_return_only_new_events(tmp_path):
    path = tmp_path / "events.jsonl"
    with EventLog(path) as log:
        log.append(_event(0))
        first, offset = read_events(path)
        again, same = read_events(path, offset)
        log.append(_event(1))
        log.append(_event(2))
        second, offset2 = read_events(path, offset)
    assert first == [_event(0)]
    assert (again, same) == ([], offset)
    assert second == [_event(1), _event(2)] and offset2 == path.stat().st_size


def test_half_written_last_line_is_not_returned_nor_consumed(tmp_path):
    path = tmp_path / "events.jsonl"
    whole = _event(0).to_json_line().encode()
    partial = _event(1).to_json_line().encode()
    path.write_bytes(whole + partial[:20])
    events, offset = read_events(path)
    assert events == [_event(0)]
    assert offset == len(whole)
    with open(path, "ab") as handle:  # the writer finishes the line
        handle.write(partial[20:])
    events, offset = read_events(path, offset)
    assert events == [_event(1)]
    assert offset == len(whole) + len(partial)


def test_only_a_partial_line_reads_nothing(tmp_path):
    path = tmp_path / "events.jsonl"
    path.write_bytes(b'{"run": "s/c", "sta')
    assert read_events(path) == ([], 0)


def test_corrupt_complete_lines_are_skipped_and_counted(tmp_path):
    path = tmp_path / "events.jsonl"
    path.write_bytes(
        _event(0).to_json_line().encode()
        + b"{not json}\n"
        + b"\xff\xfe\n"
        + json.dumps({"run": "s/c"}).encode()
        + b"\n\n"
        + _event(1).to_json_line().encode()
    )
    scan = scan_events(path)
    assert scan.events == [_event(0), _event(1)]
    assert scan.corrupt_lines == 3
    assert scan.next_offset == path.stat().st_size


def test_missing_file_reads_as_empty(tmp_path):
    assert read_events(tmp_path / "nope.jsonl", 0) == ([], 0)


def test_new_writer_after_torn_line_keeps_its_event(tmp_path):
    path = tmp_path / "events.jsonl"
    path.write_bytes(_event(0).to_json_line().encode() + b'{"run": "s/c", "st')  # writer died mid-line
    with EventLog(path) as log:
        log.append(_event(1))
    scan = scan_events(path)
    assert scan.events == [_event(0), _event(1)]
    assert scan.corrupt_lines == 1


def test_replaced_file_is_read_from_the_start(tmp_path):
    path = tmp_path / "events.jsonl"
    with EventLog(path) as log:
        for step in range(3):
            log.append(_event(step))
    _, offset = read_events(path)
    path.unlink()
    with EventLog(path) as log:
        log.append(_event(7))
    scan = scan_events(path, offset)
    assert scan.restarted and scan.events == [_event(7)]


def test_tail_follows_the_file_across_polls(tmp_path):
    path = tmp_path / "events.jsonl"
    tail = EventTail(path)
    assert tail.poll() == []
    with EventLog(path) as log:
        log.append(_event(0))
        assert tail.poll() == [_event(0)]
        with open(path, "ab") as handle:
            handle.write(b"garbage\n")
        log.append(_event(1))
        assert tail.poll() == [_event(1)]
        assert tail.poll() == []
    assert tail.corrupt_lines == 1
