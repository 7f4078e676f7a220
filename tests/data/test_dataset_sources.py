"""kdss_bench.data.dataset_sources: the catalogue of built-in datasets and the texts that say how to get them."""

from __future__ import annotations

import gzip
import io
import subprocess
import tarfile
import zipfile
from pathlib import Path

import pytest

from kdss_bench.data.dataset_sources import (
    PAPER_DATASETS,
    SOURCES,
    Archive,
    Expected,
    archives_for,
    manual_step,
    missing_error,
    missing_paths,
    missing_report,
    preparable_names,
    prepare_command,
    sources_of,
)
from kdss_bench.errors import DataError, MissingDataError


@pytest.mark.parametrize(("file", "kind"), [
    ("cifar-10-python.tar.gz", "tar"), ("images.tar", "tar"), ("car_devkit.tgz", "tar"), ("X.TAR.GZ", "tar"),
    ("tiny-imagenet-200.zip", "zip"), ("train-images-idx3-ubyte.gz", "gzip"), ("setid.mat", "file"),
])
def test_archive_kind_follows_the_file_name(file, kind):
    assert Archive(file, "https://x/" + file).kind == kind


def test_archive_target_and_expected_paths(tmp_path):
    location = tmp_path / "flowers102"
    assert Archive("a.tgz", "u", into="flowers-102").target(location) == location / "flowers-102"
    assert Archive("a.tgz", "u").target(location) == location
    folder, file = Expected("flowers-102/jpg/", "a.tgz"), Expected("flowers-102/setid.mat", "setid.mat")
    assert folder.folder and not file.folder
    assert not folder.exists(location) and not file.exists(location)
    (location / "flowers-102" / "jpg").mkdir(parents=True)
    (location / "flowers-102" / "setid.mat").mkdir()  # a folder where a file belongs does not count
    assert folder.exists(location) and not file.exists(location)


def test_the_catalogue_is_consistent():
    assert preparable_names() == list(SOURCES) and set(PAPER_DATASETS) <= set(SOURCES)
    for name, spec in SOURCES.items():
        assert spec.name == name and spec.counts[0] >= 2 and spec.counts[1] > 0 and spec.counts[2] > 0
        files = {archive.file for archive in spec.archives}
        assert len(files) == len(spec.archives), f"{name}: an archive is listed twice"
        for item in spec.expected:
            assert item.archive in files, f"{name}: {item.path} comes from an unlisted archive"
            assert spec.archive(item.archive).file == item.archive
        assert spec.signed and all(not path.startswith("/") for path in spec.signed)
        assert spec.format in ("torchvision", "archive")
        assert not spec.downloadable or spec.format == "torchvision", f"{name}: only torchvision downloads"
        for archive in spec.archives:
            if archive.md5 or archive.sha256 or archive.size:
                assert archive.source, f"{name}: {archive.file} must say where its checksum comes from"


def test_sources_of_names_the_preparable_datasets():
    assert sources_of("cifar100").title.startswith("CIFAR-100")
    with pytest.raises(DataError) as caught:
        sources_of("cifar1000")
    assert "dataset 'cifar1000' has no files to prepare" in str(caught.value) and "'paper'" in str(caught.value)


def test_missing_paths_and_the_archives_that_hold_them_in_catalogue_order(tmp_path):
    spec = SOURCES["dogs"]
    location = tmp_path / "dogs"
    assert [item.path for item in missing_paths(spec, location)] == ["Images/", "train_list.mat", "test_list.mat"]
    (location / "Images").mkdir(parents=True)
    (location / "train_list.mat").write_bytes(b"x")
    missing = missing_paths(spec, location)
    assert [item.path for item in missing] == ["test_list.mat"]
    assert [a.file for a in archives_for(spec, missing)] == ["lists.tar"]
    assert [a.file for a in archives_for(spec, list(reversed(spec.expected)))] == ["images.tar", "lists.tar"]


def test_prepare_command_quotes_the_root():
    assert prepare_command(["cub2011", "dogs"], Path("/data"), download=False) == \
        "kdss-bench data prepare cub2011 dogs --root /data"
    assert prepare_command(["cifar10"], Path("/my data"), download=True) == \
        "kdss-bench data prepare cifar10 --root '/my data' --download"


def test_missing_error_for_a_declared_alias_names_both_and_carries_its_facts(tmp_path):
    error = missing_error("my_birds", SOURCES["cub2011"], tmp_path / "cub2011")
    assert isinstance(error, MissingDataError)
    assert str(error).startswith(f"dataset 'my_birds' (cub2011) not found under {tmp_path / 'cub2011'}")
    assert "... (5 in all)" not in str(error) and "from CUB_200_2011.tgz" in str(error)
    assert (error.dataset, error.root, error.downloadable) == ("cub2011", str(tmp_path), False)
    many = missing_error("imagenet64", SOURCES["imagenet64"], tmp_path / "imagenet64")
    assert "train_data_batch_5.npz, ... (11 in all)" in str(many)  # long lists are cut after five


def test_missing_report_lists_every_archive_with_its_facts_and_place(tmp_path):
    spec = SOURCES["cars"]
    lines = missing_report(spec, tmp_path / "cars")
    assert lines[0].startswith(f"cars: missing under {tmp_path / 'cars'}: stanford_cars/devkit/cars_meta.mat")
    assert not any("--download" in line for line in lines), "cars cannot be downloaded"
    assert any(line.startswith("  note: Stanford's URLs are offline") for line in lines)
    devkit = next(i for i, line in enumerate(lines) if line.startswith("  car_devkit.tgz"))
    assert "330,960 bytes, md5 c3b158d763b6e2245038c8ad08e45376;" in lines[devkit]
    assert SOURCES["cars"].archive("car_devkit.tgz").sha256 not in lines[devkit], "md5 shown: no sha256 too"
    dogs = missing_report(SOURCES["dogs"], tmp_path / "dogs")
    assert any("793,579,520 bytes, sha256 a443fc2f" in line for line in dogs), "no md5: the sha256 is shown"
    assert f"put it in {tmp_path / 'cars' / 'stanford_cars'}/" in lines[devkit + 1]
    assert "run this command again to check and extract it" in lines[devkit + 1]
    mat = next(line for line in lines if line.startswith("    put it in") and "copy it yourself" in line)
    assert "check and copy it" in mat
    imagenet = missing_report(SOURCES["imagenet64"], tmp_path / "imagenet64")
    assert any("(no published size or checksum) from https://image-net.org" in line for line in imagenet)
    flowers = missing_report(SOURCES["flowers102"], tmp_path / "flowers102")
    assert flowers[1].startswith("  pass --download to fetch them with torchvision")
    asked = missing_report(SOURCES["flowers102"], tmp_path / "flowers102", download_asked=True)
    assert not any("pass --download" in line for line in asked)


def _shell(step: str, cwd: Path) -> None:
    command = step.split(": ", 1)[1]
    subprocess.run(command, shell=True, cwd=cwd, check=True, timeout=60)


def test_each_manual_step_places_the_archive_where_the_reader_looks(tmp_path):
    """The printed commands, run in a shell next to the downloaded files, give the expected paths."""
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    payload = b"payload"
    with tarfile.open(downloads / "lists.tar", "w") as tar:
        info = tarfile.TarInfo("train_list.mat")
        info.size = len(payload)
        tar.addfile(info, io.BytesIO(payload))
    with zipfile.ZipFile(downloads / "Imagenet64_val_npz.zip", "w") as archive:
        archive.writestr("Imagenet64_val_npz/val_data.npz", payload)
    with gzip.open(downloads / "t10k-labels-idx1-ubyte.gz", "wb") as stream:
        stream.write(payload)
    (downloads / "setid.mat").write_bytes(payload)
    root = tmp_path / "my data"  # a space: the printed paths must be quoted
    cases = [
        (SOURCES["dogs"], "lists.tar", "train_list.mat"),
        (SOURCES["imagenet64"], "Imagenet64_val_npz.zip", "val_data.npz"),  # unzip -j: flattened
        (SOURCES["fashion_mnist"], "t10k-labels-idx1-ubyte.gz", "FashionMNIST/raw/t10k-labels-idx1-ubyte"),
        (SOURCES["flowers102"], "setid.mat", "flowers-102/setid.mat"),
    ]
    for spec, file, expected in cases:
        location = root / spec.name
        archive = spec.archive(file)
        step = manual_step(archive, archive.target(location))
        _shell(step, downloads)
        assert (location / expected).read_bytes() == payload, step
        assert next(item for item in spec.expected if item.path == expected).exists(location)
