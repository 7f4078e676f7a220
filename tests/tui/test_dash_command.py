"""``kdss-bench dash``: its arguments are checked before the app opens, and textual loads lazily."""

from __future__ import annotations

import subprocess
import sys

from typer.testing import CliRunner

from kdss_bench.cli import app


def test_a_missing_suite_is_a_one_line_error(tmp_path):
    result = CliRunner().invoke(app, ["dash", str(tmp_path / "nope.yaml"), "--results", str(tmp_path)])
    assert result.exit_code == 2
    assert "nope.yaml: file not found" in result.output and "Traceback" not in result.output


def test_results_must_be_a_folder(tmp_path):
    file = tmp_path / "results"
    file.write_text("")
    result = CliRunner().invoke(app, ["dash", "--results", str(file)])
    assert result.exit_code == 2 and "not a folder" in result.output


def test_the_cli_does_not_import_the_dashboard_or_torch_until_dash_runs():
    code = "import sys, kdss_bench.cli; print('textual' in sys.modules, 'torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


def test_the_dashboard_itself_never_imports_torch():
    code = "import sys, kdss_bench.tui.app; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False"]
