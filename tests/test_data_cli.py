"""``kdss-bench data prepare | list | status`` and ``validate``'s prepare hint, on tiny copies written offline."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kdss_bench.cli import app
from kdss_bench.data import prepared_cache, torchvision_download
from kdss_bench.data.dataset_sources import PAPER_DATASETS, SOURCES
from kdss_bench.data.registry import clear_dataset_cache, dataset_names
from tests.conftest import TINY_SUITE
from tests.data.tiny_trees import write_cifar10, write_cub2011, write_dogs

REPO = Path(__file__).resolve().parents[1]
runner = CliRunner()


@pytest.fixture(autouse=True)
def _fresh(monkeypatch: pytest.MonkeyPatch):
    clear_dataset_cache()
    monkeypatch.setattr(prepared_cache, "_WARNED", set())

    def refuse(name, location):
        raise AssertionError("nothing may download in the tests")

    monkeypatch.setattr(torchvision_download, "download_torchvision", refuse)
    yield
    clear_dataset_cache()


def _prepare(*args: str):
    return runner.invoke(app, ["data", "prepare", *args])


def test_prepare_caches_each_resolution_and_a_second_run_reads_nothing(tmp_path: Path) -> None:
    write_cub2011(tmp_path / "cub2011")
    write_dogs(tmp_path / "dogs")
    out = _prepare("cub2011", "dogs", "--root", str(tmp_path), "--resolution", "16", "--resolution", "8")
    assert out.exit_code == 0, out.output
    for name in ("cub2011", "dogs"):
        for resolution in (16, 8):
            assert (tmp_path / ".kdss-cache" / name / str(resolution) / "manifest.json").is_file()
            assert f"{name} at {resolution} px: prepared" in out.stdout
    assert "prepared 2 of 2 dataset(s)" in out.stdout and out.stderr.count("warning:") == 0
    again = _prepare("cub2011", "--root", str(tmp_path), "--resolution", "16")
    assert again.exit_code == 0 and "cub2011 at 16 px: already prepared" in again.stdout
    assert "reading" not in again.stdout


def test_prepare_lists_what_is_missing_and_exits_1(tmp_path: Path) -> None:
    write_cub2011(tmp_path / "cub2011")
    out = _prepare("cub2011", "cifar100", "dogs", "--root", str(tmp_path), "--resolution", "8")
    assert out.exit_code == 1, out.output
    text = out.stdout
    assert f"cifar100: missing under {tmp_path / 'cifar100'}: cifar-100-python/train, cifar-100-python/test, " \
           "cifar-100-python/meta" in text
    assert "cifar-100-python.tar.gz (md5 eb9058c3a382ffc7106e4002c42a8d85" in text and "pass --download" in text
    assert f"dogs: missing under {tmp_path / 'dogs'}: Images/, train_list.mat, test_list.mat" in text
    assert "images.tar (793,579,520 bytes" in text and "lists.tar (481,280 bytes" in text
    assert f"mkdir -p {tmp_path / 'dogs'} && tar -xf images.tar -C {tmp_path / 'dogs'}" in text
    assert "prepared 1 of 3 dataset(s); missing: cifar100, dogs" in text
    assert f"then run again: kdss-bench data prepare cifar100 dogs --root {tmp_path}" in text
    assert (tmp_path / ".kdss-cache" / "cub2011" / "8").is_dir()


def test_paper_names_the_nine_datasets_of_the_paper_suites(tmp_path: Path) -> None:
    out = _prepare("paper", "--root", str(tmp_path))
    assert out.exit_code == 1
    for name in PAPER_DATASETS:
        assert f"{name}: missing under {tmp_path / name}: " in out.stdout
    assert f"prepared 0 of {len(PAPER_DATASETS)} dataset(s)" in out.stdout


@pytest.mark.parametrize(("args", "fragment"), [
    (["cifar11"], "unknown dataset 'cifar11'; prepare one of cifar10, cifar100"),
    (["gtsrb43"], "dataset 'gtsrb43' is read directly"),
    (["cub2011", "--resolution", "4"], "--resolution 4: expected 8 to 1024 pixels"),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path: Path, args: list[str], fragment: str) -> None:
    out = _prepare(*args, "--root", str(tmp_path))
    assert out.exit_code == 2 and out.stderr.count("\n") == 1 and fragment in out.stderr, out.output
    assert "Traceback" not in out.output and not list(tmp_path.iterdir())


def test_a_missing_root_is_one_line(tmp_path: Path) -> None:
    out = _prepare("cub2011", "--root", str(tmp_path / "absent"))
    assert out.exit_code == 2 and out.stderr.count("\n") == 1
    assert f"--root {tmp_path / 'absent'}: folder not found; create it" in out.stderr


def test_an_unreadable_archive_is_one_error_line_and_the_others_are_still_prepared(tmp_path: Path) -> None:
    (tmp_path / "cub2011").mkdir()
    (tmp_path / "cub2011" / "CUB_200_2011.tgz").write_bytes(b"\x1f\x8b broken")
    write_dogs(tmp_path / "dogs")
    out = _prepare("cub2011", "dogs", "--root", str(tmp_path), "--resolution", "8", "--no-verify")
    assert out.exit_code == 2, out.output
    errors = [line for line in out.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and str(tmp_path / "cub2011" / "CUB_200_2011.tgz") in errors[0]
    assert "cannot be read" in errors[0] and "download CUB_200_2011.tgz again from" in errors[0]
    assert "Traceback" not in out.output and "failed: cub2011" in out.stdout
    assert (tmp_path / ".kdss-cache" / "dogs" / "8" / "manifest.json").is_file()


def test_a_checksum_mismatch_is_one_error_line(tmp_path: Path) -> None:
    write_cifar10(tmp_path / "cifar10")
    out = _prepare("cifar10", "--root", str(tmp_path), "--resolution", "8")
    assert out.exit_code == 2 and out.stderr.count("\n") == 1
    assert "data_batch_1 has md5" in out.stderr and "--no-verify" in out.stderr
    assert _prepare("cifar10", "--root", str(tmp_path), "--resolution", "8", "--no-verify").exit_code == 0


def test_list_names_every_built_in_dataset_and_where_it_comes_from() -> None:
    out = runner.invoke(app, ["data", "list"])
    assert out.exit_code == 0
    rows = {line.split()[0]: line for line in out.stdout.splitlines()[1:] if line and not line.startswith("`")}
    assert set(rows) == set(dataset_names())
    assert "CUB_200_2011.tgz" in rows["cub2011"] and "yes" in rows["cub2011"]
    assert "--download" in rows["cifar100"] and "--download" not in rows["cars"]
    assert "nothing to prepare" in rows["gtsrb43"] and "nothing to prepare" in rows["digits"]


def test_status_shows_present_prepared_and_stale(tmp_path: Path) -> None:
    base = write_cub2011(tmp_path / "cub2011")
    write_dogs(tmp_path / "dogs")
    assert _prepare("cub2011", "--root", str(tmp_path), "--resolution", "8", "--resolution", "16").exit_code == 0
    (base / "classes.txt").write_text((base / "classes.txt").read_text() + "\n")  # edited after preparing
    out = runner.invoke(app, ["data", "status", "--root", str(tmp_path)])
    assert out.exit_code == 0, out.output
    rows = {line.split()[0]: line for line in out.stdout.splitlines() if line.strip() and not line.startswith(" ")}
    assert set(dataset_names()) <= set(rows)
    assert "8 stale, 16 stale" in rows["cub2011"] and rows["cub2011"].rstrip().endswith("yes")
    assert "8 px stale: the source files under" in out.stdout
    assert rows["dogs"].split()[2] == "-" and rows["cifar10"].split()[2:] == ["-", "no"]
    assert f"present but not prepared: kdss-bench data prepare cub2011 dogs --root {tmp_path}" in out.stdout
    shutil.rmtree(tmp_path / "cub2011")
    out = runner.invoke(app, ["data", "status", "--root", str(tmp_path)])
    assert "8 detached, 16 detached" in out.stdout and "the cache is the only copy" in out.stdout


def _suite(tmp_path: Path, targets: str, source: str = "digits") -> Path:
    text = TINY_SUITE.replace("targets: [lfw_faces, textures3]", f"targets: [{targets}]")
    text = text.replace("source: digits", f"source: {source}")
    path = tmp_path / "suite.yaml"
    path.write_text(text)
    return path


def test_validate_names_the_missing_dataset_and_the_prepare_command(tmp_path: Path) -> None:
    root = tmp_path / "data"
    root.mkdir()
    suite = _suite(tmp_path, "lfw_faces, cub2011")
    out = runner.invoke(app, ["validate", str(suite), "--data-root", str(root)])
    assert out.exit_code == 2 and out.stderr.count("\n") == 1, out.output
    assert f"{suite}:" in out.stderr and "key 'targets.1': dataset 'cub2011' not found under " \
        f"{root / 'cub2011'} (expected CUB_200_2011/images.txt, CUB_200_2011/image_class_labels.txt" in out.stderr
    assert out.stderr.rstrip().endswith(f"from CUB_200_2011.tgz); run kdss-bench data prepare cub2011 --root {root}")

    both = _suite(tmp_path, "cub2011, dogs, cifar100")
    out = runner.invoke(app, ["validate", str(both), "--data-root", str(root)])
    assert out.exit_code == 2 and out.stderr.count("\n") == 1
    assert "key 'targets.0': dataset 'cub2011' not found" in out.stderr
    assert "2 more of this suite's datasets are missing too (dogs, cifar100)" in out.stderr
    assert out.stderr.rstrip().endswith(f"run kdss-bench data prepare cub2011 dogs cifar100 --root {root} --download")


def test_validate_passes_on_a_prepared_cache_without_the_originals(tmp_path: Path) -> None:
    root = tmp_path / "data"
    write_cub2011(root / "cub2011")
    suite = _suite(tmp_path, "lfw_faces, cub2011")
    assert _prepare("cub2011", "--root", str(root), "--resolution", "16").exit_code == 0
    shutil.rmtree(root / "cub2011")
    out = runner.invoke(app, ["validate", str(suite), "--data-root", str(root)])
    assert out.exit_code == 0, out.output
    # A cache at another resolution than the suite's does not stand in for the originals.
    suite.write_text(suite.read_text().replace("resolution: 16", "resolution: 32"))
    out = runner.invoke(app, ["validate", str(suite), "--data-root", str(root)])
    assert out.exit_code == 2 and "run kdss-bench data prepare cub2011" in out.stderr


def test_validate_of_missing_built_in_sets_imports_no_torch(tmp_path: Path) -> None:
    suite = _suite(tmp_path, "cub2011, cifar100, imagenet64")
    code = ("import sys\nfrom kdss_bench.config import load_suite\ntry:\n"
            f"    load_suite({str(suite)!r}, data_root={str(tmp_path)!r})\nexcept Exception as error:\n"
            "    print(type(error).__name__)\nprint('torch' in sys.modules)")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert out.stdout.split() == ["ConfigError", "False"], out.stderr


def test_every_dataset_of_the_catalogue_has_a_row_in_status(tmp_path: Path) -> None:
    out = runner.invoke(app, ["data", "status", "--root", str(tmp_path)])
    assert out.exit_code == 0
    for name in SOURCES:
        assert any(line.startswith(f"{name} ") for line in out.stdout.splitlines())
