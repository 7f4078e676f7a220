"""kdss_bench.store.result_file: one reader of result.json, so every reader reports a bad file the same way."""

from __future__ import annotations

import json

import pytest

from kdss_bench.errors import KdssError
from kdss_bench.store.result_file import RESULT_KEYS, ResultFileError, check_result, read_result, read_result_file


def test_a_valid_result_is_returned_whole(tmp_path):
    path = tmp_path / "result.json"
    record = {"suite": "tiny", "cell": "krr_st__a__seed0", "accuracy": 51.25, "nested": {"k": [1, 2]}}
    path.write_text(json.dumps(record), encoding="utf-8")
    assert read_result_file(path) == record and read_result(path) == (record, None)
    assert RESULT_KEYS == ("suite", "cell") and issubclass(ResultFileError, KdssError)


@pytest.mark.parametrize(("content", "fragment"), [
    (None, "no result file; the cell has not finished (run the suite)"),
    (b'{"suite": "tiny", "cell": ', "not valid JSON"),
    (b"\xff\xfe not utf-8", "cannot read"),
    (b"[1, 2]", "a result must be a JSON object, got list"),
    (b'{"cell": "c"}', "result key 'suite' is missing or not a string; re-run the cell"),
    (b'{"suite": "s", "cell": 3}', "result key 'cell' is missing or not a string"),
    (b'{"suite": "", "cell": "c"}', "result key 'suite' is missing"),
])
def test_a_bad_file_is_one_error_naming_it(tmp_path, content, fragment):
    path = tmp_path / "cell" / "result.json"
    if content is not None:
        path.parent.mkdir()
        path.write_bytes(content)
    with pytest.raises(ResultFileError) as caught:
        read_result_file(path)
    message = str(caught.value)
    assert message.startswith(str(path)) and fragment in message and "\n" not in message
    assert read_result(path) == (None, message), "read_result says why instead of raising"


def test_a_folder_where_the_file_should_be_cannot_be_read(tmp_path):
    (tmp_path / "result.json").mkdir()
    with pytest.raises(ResultFileError, match="cannot read"):
        read_result_file(tmp_path / "result.json")


def test_check_result_names_where_the_record_came_from():
    check_result({"suite": "s", "cell": "c"}, where="index row 3")
    with pytest.raises(ResultFileError, match="^index row 3: a result must be a JSON object, got str$"):
        check_result("text", where="index row 3")
