"""The results store: run folders, append-only event logs and the SQLite index over them.

The folders under ``results/<suite>/<cell>/`` are the truth; ``results/index.sqlite`` is a
cache that :class:`~kdss_bench.store.result_index.ResultIndex` can rebuild from them. Nothing
here imports torch, so the CLI and the dashboard start instantly.
"""
