"""The README is the front door: every suite and command it names must exist."""
import re
from pathlib import Path

from typer.testing import CliRunner

from kdss_bench.cli import app

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text()


def test_every_suite_named_in_the_readme_exists():
    named = set(re.findall(r"suites/[\w/.-]+\.yaml", README))
    assert len(named) >= 10, "the README lists the shipped suites and the five experiments"
    missing = sorted(p for p in named if not (REPO / p).is_file())
    assert not missing, f"README names suites that do not exist: {missing}"


def test_every_paper_experiment_has_one_run_command():
    commands = re.findall(r"`kdss-bench run (suites/paper/[\w.-]+\.yaml)[^`]*`", README)
    shipped = sorted(p.relative_to(REPO).as_posix() for p in (REPO / "suites/paper").glob("*.yaml"))
    for suite in shipped:
        assert suite in commands, f"README gives no run command for {suite}"


def test_every_subcommand_named_in_the_readme_is_real():
    runner = CliRunner()
    for sub in sorted(set(re.findall(r"`kdss-bench ([a-z]+)", README))):
        out = runner.invoke(app, [sub, "--help"])
        assert out.exit_code == 0, f"README names `kdss-bench {sub}`, which is not a command"
