"""``data prepare``: what is missing is listed exactly, placed archives are checked and unpacked, nothing downloads
unless asked, and bad files fail in one line naming the file and the fix."""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import shutil
import tarfile
import zipfile
from pathlib import Path

import pytest
import yaml

from kdss_bench.data import dataset_sources, torchvision_download
from kdss_bench.data.archive_extract import file_digest
from kdss_bench.data.dataset_sources import PAPER_DATASETS, SOURCES, missing_error, missing_paths
from kdss_bench.data.prepare import prepare_dataset
from kdss_bench.data.registry import TORCHVISION_SETS, load_dataset
from kdss_bench.data.torchvision_download import download_torchvision as real_download_torchvision
from kdss_bench.data.torchvision_reader import TORCHVISION_FOLDERS
from kdss_bench.errors import DataError, MissingDataError
from tests.data.tiny_trees import WRITERS, write_cifar10, write_cub2011, write_fashion_mnist, write_flowers102

pytestmark = pytest.mark.usefixtures("fresh_datasets")


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch):
    """Any attempt to download fails the test."""
    import urllib.request

    from torchvision.datasets import utils

    def refuse(*args, **kwargs):
        raise AssertionError(f"tried to download: {args}")

    for module, name in ((urllib.request, "urlopen"), (utils, "download_url"), (utils, "download_and_extract_archive"),
                         (torchvision_download, "download_torchvision")):
        monkeypatch.setattr(module, name, refuse)


def _run(name: str, root: Path, **kwargs) -> tuple[str, list[str]]:
    lines: list[str] = []
    outcome = prepare_dataset(name, root, kwargs.pop("resolutions", [8]), echo=lines.append, **kwargs)
    return outcome.status, lines


def _with_archive(monkeypatch, name: str, file: str, path: Path | None, **changes) -> None:
    """Make the catalogue expect the tiny ``path`` in place of the official ``file`` (its size and md5)."""
    spec = SOURCES[name]
    if path is not None:
        changes = {"size": path.stat().st_size, "md5": file_digest(path, "md5"), "sha256": None, **changes}
    archives = tuple(dataclasses.replace(a, **changes) if a.file == file else a for a in spec.archives)
    monkeypatch.setitem(SOURCES, name, dataclasses.replace(spec, archives=archives))


def test_the_catalogue_matches_the_registry_and_the_readers() -> None:
    from kdss_bench.data.dataset_facts import BUILTIN_SIZES
    from kdss_bench.data.registry import ARCHIVE_SETS

    assert set(SOURCES) == set(TORCHVISION_SETS) | set(ARCHIVE_SETS) == set(WRITERS)
    for name, spec in SOURCES.items():
        assert spec.counts[:2] == BUILTIN_SIZES[name], name
        assert spec.format == ("torchvision" if name in TORCHVISION_SETS else "archive")
        assert {item.archive for item in spec.expected} <= {a.file for a in spec.archives}, name
        assert all(a.source for a in spec.archives if a.size or a.md5 or a.sha256), name
        if spec.format == "torchvision":  # the paths lie in the folder the torchvision reader reads
            folder = TORCHVISION_FOLDERS[name] + "/"
            assert all(item.path.startswith(folder) for item in spec.expected), name
            assert all(f"{path}/".startswith(folder) for path in spec.signed), name
    paper = set()
    for suite in Path(__file__).resolve().parents[2].glob("suites/paper/*.yaml"):
        data = yaml.safe_load(suite.read_text())
        paper |= {data["source"], *data["targets"]}
    assert paper == set(PAPER_DATASETS)


@pytest.mark.parametrize("name", list(SOURCES))
def test_a_missing_dataset_is_listed_with_its_exact_files_and_where_they_come_from(
        tmp_path: Path, name: str, no_network) -> None:
    spec = SOURCES[name]
    status, lines = _run(name, tmp_path)
    text = "\n".join(lines)
    assert status == "missing" and not (tmp_path / ".kdss-cache").exists()
    assert lines[0] == f"{name}: missing under {tmp_path / name}: {', '.join(i.path for i in spec.expected)}"
    for archive in spec.archives:
        assert f"{archive.file} (" in text and archive.url in text and str(archive.target(tmp_path / name)) in text
        if archive.md5:
            assert archive.md5 in text
    assert spec.page in text and ("--download" in text) == spec.downloadable

    error = missing_error(name, spec, tmp_path / name)
    assert isinstance(error, MissingDataError) and "\n" not in str(error)
    first = spec.expected[0].path
    assert str(error).startswith(f"dataset '{name}' not found under {tmp_path / name} (expected {first}")
    assert str(error).endswith(f"run kdss-bench data prepare {name} --root {tmp_path}"
                               + (" --download" if spec.downloadable else ""))


def test_an_incomplete_copy_names_only_what_is_missing(tmp_path: Path) -> None:
    write_cub2011(tmp_path / "cub2011")
    (tmp_path / "cub2011" / "CUB_200_2011" / "classes.txt").unlink()
    status, lines = _run("cub2011", tmp_path)
    assert status == "missing"
    assert lines[0] == f"cub2011: missing under {tmp_path / 'cub2011'}: CUB_200_2011/classes.txt"
    message = str(missing_error("cub2011", SOURCES["cub2011"], tmp_path / "cub2011"))
    assert "is incomplete under" in message and "CUB_200_2011/classes.txt not found (from CUB_200_2011.tgz)" in message


def test_without_download_nothing_is_fetched(tmp_path: Path, no_network) -> None:
    for name in ("cifar10", "flowers102", "aircraft"):
        status, lines = _run(name, tmp_path)
        assert status == "missing" and any("pass --download" in line for line in lines)
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_download_goes_through_torchvision_into_the_dataset_folder(tmp_path: Path, monkeypatch) -> None:
    fetched = []

    def fake_download(name: str, location: Path) -> None:  # what torchvision leaves behind, offline
        fetched.append((name, location))
        write_cifar10(location)

    monkeypatch.setattr(torchvision_download, "download_torchvision", fake_download)
    status, lines = _run("cifar10", tmp_path, download=True, verify=False)
    assert status == "prepared" and fetched == [("cifar10", tmp_path / "cifar10")]
    assert lines[0] == f"cifar10: downloading with torchvision into {tmp_path / 'cifar10'}"
    fetched.clear()
    assert _run("cifar10", tmp_path, download=True, verify=False)[0] == "prepared" and not fetched  # already there


def test_cars_cannot_be_downloaded_and_says_where_to_get_it(tmp_path: Path) -> None:
    with pytest.raises(DataError) as info:
        real_download_torchvision("cars", tmp_path / "cars")
    assert "cannot be downloaded" in str(info.value) and "Kaggle" in str(info.value)
    status, lines = _run("cars", tmp_path, download=True)
    assert status == "missing" and any("Kaggle" in line for line in lines)
    assert not (tmp_path / "cars").exists()


def test_verified_files_pass_and_a_mismatch_names_the_file_and_the_fix(tmp_path: Path, monkeypatch) -> None:
    write_cifar10(tmp_path / "cifar10")
    with pytest.raises(DataError) as info:
        _run("cifar10", tmp_path)
    message = str(info.value)
    assert "\n" not in message and "data_batch_1 has md5" in message and "c99cafc152244af753f735de768cd75f" in message
    assert "--no-verify" in message and "kdss-bench data prepare cifar10" in message
    spec = SOURCES["cifar10"]
    folder = tmp_path / "cifar10"
    expected = tuple(dataclasses.replace(item, md5=file_digest(folder / item.path, "md5")) for item in spec.expected)
    monkeypatch.setitem(SOURCES, "cifar10", dataclasses.replace(spec, expected=expected))
    status, lines = _run("cifar10", tmp_path)
    assert status == "prepared" and lines[0] == "cifar10: 7 file(s) match their published checksums"


def _tar(path: Path, folder: Path, members: list[str]) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for member in members:
            tar.add(folder / member, arcname=member)
    return path


@pytest.mark.parametrize("place", ["dataset folder", "root"])
def test_a_placed_archive_is_checked_extracted_and_prepared(tmp_path: Path, monkeypatch, place: str) -> None:
    source = tmp_path / "made"
    write_cub2011(source)
    archive = _tar(tmp_path / "CUB_200_2011.tgz", source, ["CUB_200_2011", "attributes.txt"])
    root = tmp_path / "data"
    where = root / "cub2011" if place == "dataset folder" else root
    where.mkdir(parents=True)
    placed = where / archive.name
    shutil.move(archive, placed)
    _with_archive(monkeypatch, "cub2011", "CUB_200_2011.tgz", placed)
    status, lines = _run("cub2011", root)
    assert status == "prepared", lines
    assert lines[:2] == [f"cub2011: checking {placed} ({placed.stat().st_size / 1e3:.1f} kB)",
                         f"cub2011: extracting {placed} into {root / 'cub2011'}"]
    assert (root / "cub2011" / "CUB_200_2011" / "images.txt").read_bytes() == (
        source / "CUB_200_2011" / "images.txt").read_bytes()
    assert not list((root / "cub2011").glob(".kdss-extract-*"))
    assert placed.is_file(), "the user's archive is kept"
    images = load_dataset("cub2011", resolution=8, data_root=root)
    assert len(images.y_train) == 5 and len(images.y_test) == 2


def test_a_wrong_archive_is_refused_before_anything_is_extracted(tmp_path: Path, monkeypatch) -> None:
    source = tmp_path / "made"
    write_cub2011(source)
    root = tmp_path / "data"
    (root / "cub2011").mkdir(parents=True)
    placed = _tar(root / "cub2011" / "CUB_200_2011.tgz", source, ["CUB_200_2011"])
    with pytest.raises(DataError) as info:  # the official size and md5
        _run("cub2011", root)
    message = str(info.value)
    assert "\n" not in message and str(placed) in message and "1,150,585,339" in message
    assert "download CUB_200_2011.tgz again from https://data.caltech.edu" in message and "--no-verify" in message
    assert not (root / "cub2011" / "CUB_200_2011").exists()
    _with_archive(monkeypatch, "cub2011", "CUB_200_2011.tgz", None, size=placed.stat().st_size, md5="0" * 32)
    with pytest.raises(DataError, match="has md5 .* the official file's is 0{32}"):
        _run("cub2011", root)
    assert _run("cub2011", root, verify=False)[0] == "prepared"  # --no-verify takes it as it is


def test_an_unreadable_or_unsafe_archive_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "dogs").mkdir()
    (tmp_path / "dogs" / "images.tar").write_bytes(b"not a tar at all" * 100)
    with pytest.raises(DataError) as info:
        _run("dogs", tmp_path, verify=False)
    message = str(info.value)
    assert "\n" not in message and "archive" in message and str(tmp_path / "dogs" / "images.tar") in message
    assert "cannot be read" in message and "download images.tar again from http://vision.stanford.edu" in message
    assert sorted(p.name for p in (tmp_path / "dogs").iterdir()) == ["images.tar"]

    evil = tmp_path / "evil"
    evil.mkdir()
    (evil / "x.txt").write_text("x")
    with tarfile.open(tmp_path / "dogs" / "images.tar", "w") as tar:
        tar.add(evil / "x.txt", arcname="../escaped.txt")
    with pytest.raises(DataError, match="points outside its folder"):
        _run("dogs", tmp_path, verify=False)
    assert not (tmp_path / "escaped.txt").exists()


def test_zips_are_extracted_and_imagenet64_zips_flattened(tmp_path: Path, monkeypatch) -> None:
    from tests.data.tiny_trees import write_imagenet64, write_tinyimagenet

    made = tmp_path / "made"
    write_tinyimagenet(made / "tiny")
    write_imagenet64(made / "in64")
    root = tmp_path / "data"
    root.mkdir()
    with zipfile.ZipFile(root / "tiny-imagenet-200.zip", "w") as archive:
        for path in sorted((made / "tiny").rglob("*")):
            archive.write(path, path.relative_to(made / "tiny").as_posix())
    parts = {"Imagenet64_train_part1_npz": range(1, 6), "Imagenet64_train_part2_npz": range(6, 11)}
    for folder, batches in parts.items():
        with zipfile.ZipFile(root / f"{folder}.zip", "w") as archive:
            for k in batches:
                archive.write(made / "in64" / f"train_data_batch_{k}.npz", f"{folder}/train_data_batch_{k}.npz")
    with zipfile.ZipFile(root / "Imagenet64_val_npz.zip", "w") as archive:
        archive.write(made / "in64" / "val_data.npz", "Imagenet64_val_npz/val_data.npz")
    _with_archive(monkeypatch, "tinyimagenet", "tiny-imagenet-200.zip", root / "tiny-imagenet-200.zip")
    assert _run("tinyimagenet", root)[0] == "prepared"
    assert _run("imagenet64", root)[0] == "prepared"  # nothing published to check: extracted as they are
    assert sorted(p.name for p in (root / "imagenet64").iterdir()) == sorted(
        [f"train_data_batch_{k}.npz" for k in range(1, 11)] + ["val_data.npz"])
    assert len(load_dataset("imagenet64", resolution=8, data_root=root).y_train) == 13


def test_gz_and_plain_files_are_decompressed_and_copied(tmp_path: Path, monkeypatch) -> None:
    made = tmp_path / "made"
    write_fashion_mnist(made)
    write_flowers102(made)
    root = tmp_path / "data"
    root.mkdir()
    for path in (made / "FashionMNIST" / "raw").iterdir():
        with gzip.open(root / f"{path.name}.gz", "wb") as out:
            out.write(path.read_bytes())
        _with_archive(monkeypatch, "fashion_mnist", f"{path.name}.gz", root / f"{path.name}.gz")
    assert _run("fashion_mnist", root)[0] == "prepared"
    assert (root / "fashion_mnist" / "FashionMNIST" / "raw" / "t10k-labels-idx1-ubyte").read_bytes() == (
        made / "FashionMNIST" / "raw" / "t10k-labels-idx1-ubyte").read_bytes()

    (root / "flowers102" / "flowers-102").mkdir(parents=True)
    shutil.copytree(made / "flowers-102" / "jpg", root / "flowers102" / "flowers-102" / "jpg")
    for mat in ("imagelabels.mat", "setid.mat"):
        shutil.copy(made / "flowers-102" / mat, root / mat)
    status, lines = _run("flowers102", root, resolutions=[], verify=False)
    assert status == "prepared" and any("copying" in line for line in lines)
    assert not missing_paths(SOURCES["flowers102"], root / "flowers102")
    assert hashlib.md5((root / "flowers102" / "flowers-102" / "setid.mat").read_bytes()).hexdigest() == \
        hashlib.md5((made / "flowers-102" / "setid.mat").read_bytes()).hexdigest()


def test_counts_that_differ_from_the_official_release_are_a_warning(tmp_path: Path) -> None:
    write_cub2011(tmp_path / "cub2011")
    lines: list[str] = []
    outcome = prepare_dataset("cub2011", tmp_path, [8, 16], verify=False, echo=lines.append)
    assert outcome.status == "prepared" and len(outcome.warnings) == 1
    assert "5 train / 2 test images and 3 classes, but the official release has 5,994 / 5,794 and 200" in \
        outcome.warnings[0]
    assert sum(line.startswith("warning:") for line in lines) == 1


def test_the_recorded_values_are_well_formed() -> None:
    for spec in dataset_sources.SOURCES.values():
        for archive in spec.archives:
            assert archive.md5 is None or len(archive.md5) == 32
            assert archive.sha256 is None or len(archive.sha256) == 64
            assert archive.url.startswith("http")
        for item in spec.expected:
            assert item.md5 is None or len(item.md5) == 32
