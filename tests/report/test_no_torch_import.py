from __future__ import annotations

import subprocess
import sys


def test_store_and_report_do_not_import_torch_or_rich_eagerly():
    code = (
        "import sys\n"
        "import kdss_bench.store.atomic_write, kdss_bench.store.event_log, kdss_bench.store.run_dir\n"
        "import kdss_bench.store.result_index, kdss_bench.report.results_table\n"
        "import kdss_bench.report.statistics\n"
        "print(sorted(m for m in ('torch', 'numpy', 'rich') if m in sys.modules))\n"
    )
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == "[]"
