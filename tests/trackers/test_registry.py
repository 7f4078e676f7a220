"""kdss_bench.trackers.registry: the names --track knows, checked (package importable) before anything runs,
and the tracker each makes for a suite's run."""

from __future__ import annotations

import sys

import pytest

from kdss_bench.errors import KdssError
from kdss_bench.trackers.registry import check_trackers, make_trackers, tracker_names
from kdss_bench.trackers.tensorboard_tracker import TensorBoardTracker
from kdss_bench.trackers.wandb_tracker import WandbOptions, WandbTracker
from tests.trackers.stand_in_trackers import run_cli


def test_the_known_trackers():
    assert tracker_names() == ["tensorboard", "wandb"]


def test_names_are_taken_once_each_in_order_case_and_blanks_ignored():
    assert check_trackers(["WandB", " tensorboard ", "wandb", ""]) == ["wandb", "tensorboard"]
    assert check_trackers([]) == []


def test_an_unknown_name_says_which_there_are():
    with pytest.raises(KdssError) as caught:
        check_trackers(["tensorboard", "mlflow"])
    assert str(caught.value) == "--track mlflow: not a tracker; use tensorboard or wandb (repeat --track for several)"


def test_a_missing_or_broken_package_names_the_extra_that_installs_it(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "tensorboard", None)  # `import tensorboard` fails as if not installed
    with pytest.raises(KdssError) as caught:
        check_trackers(["tensorboard"])
    assert str(caught.value) == ("--track tensorboard: the tensorboard package is not installed; "
                                 "pip install 'kdss-bench[tensorboard]'")
    monkeypatch.delitem(sys.modules, "tensorboard")
    broken = tmp_path / "site"
    (broken / "tensorboard").mkdir(parents=True)
    (broken / "tensorboard" / "__init__.py").write_text("raise ImportError('libfoo.so:\\n cannot open')\n")
    monkeypatch.syspath_prepend(str(broken))
    with pytest.raises(KdssError) as caught:
        check_trackers(["tensorboard"])
    assert str(caught.value) == ("--track tensorboard: the tensorboard package cannot be imported "
                                 "(ImportError: libfoo.so: cannot open); pip install 'kdss-bench[tensorboard]'")


def test_a_dependency_missing_inside_the_package_is_not_called_the_package_missing(monkeypatch, tmp_path):
    site = tmp_path / "site"
    (site / "tensorboard").mkdir(parents=True)
    (site / "tensorboard" / "__init__.py").write_text("import no_such_dependency_of_tensorboard\n")
    monkeypatch.delitem(sys.modules, "tensorboard", raising=False)
    monkeypatch.syspath_prepend(str(site))
    with pytest.raises(KdssError) as caught:
        check_trackers(["tensorboard"])
    assert "cannot be imported (No module named 'no_such_dependency_of_tensorboard')" in str(caught.value)


def test_make_trackers_puts_each_in_the_suites_folder(tmp_path, monkeypatch):
    monkeypatch.delenv("WANDB_DIR", raising=False)
    tensorboard, wandb = make_trackers(["tensorboard", "wandb"], results_root=tmp_path, suite="tiny",
                                       wandb=WandbOptions(project="p", mode="offline"))
    assert isinstance(tensorboard, TensorBoardTracker) and tensorboard.folder == tmp_path / "tiny" / "_tensorboard"
    assert isinstance(wandb, WandbTracker) and wandb.folder == tmp_path / "tiny" / "_wandb"
    assert (wandb.project, wandb.suite) == ("p", "tiny")
    assert make_trackers([], results_root=tmp_path, suite="tiny") == []


# -- before the run: through the CLI -------------------------------------------------------------

def test_an_unknown_tracker_is_one_line_and_exit_2(tmp_path):
    results, out = run_cli(tmp_path, "--track", "bogus")
    assert out.exit_code == 2 and out.stderr.count("\n") == 1, out.output
    assert out.stderr.startswith("error: --track bogus: not a tracker; use tensorboard or wandb")
    assert not results.exists()


@pytest.mark.parametrize("name", ["tensorboard", "wandb"])
def test_a_missing_package_is_one_line_naming_the_extra_before_the_run(tmp_path, monkeypatch, name):
    monkeypatch.setitem(sys.modules, name, None)  # `import name` fails as if it were not installed
    results, out = run_cli(tmp_path, "--track", name)
    assert out.exit_code == 2 and out.stderr.count("\n") == 1, out.output
    assert out.stderr == (f"error: --track {name}: the {name} package is not installed; "
                          f"pip install 'kdss-bench[{name}]'\n")
    assert not results.exists()


def test_wandb_options_without_track_wandb_are_an_error(tmp_path):
    results, out = run_cli(tmp_path, "--wandb-project", "p")
    assert out.exit_code == 2 and "add --track wandb" in out.stderr and not results.exists()
