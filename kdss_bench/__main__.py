"""``python -m kdss_bench`` runs the CLI."""

from kdss_bench.cli import app

app()
