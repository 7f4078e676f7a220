"""kdss_bench.data.torchvision_download: ``--download`` goes through torchvision's classes, and its failures
name the manual way. No network: torchvision's classes are replaced by stand-ins that behave as they do."""

from __future__ import annotations

import pytest

from kdss_bench.data import torchvision_download
from kdss_bench.data.dataset_sources import SOURCES
from kdss_bench.data.torchvision_download import download_torchvision
from kdss_bench.errors import DataError

from .tiny_trees import write_cifar10


def test_every_downloadable_dataset_has_a_fetcher_and_only_those():
    fetchers = torchvision_download._fetchers()
    assert set(fetchers) == {name for name, spec in SOURCES.items() if spec.downloadable}


def test_the_fetcher_receives_the_dataset_folder_which_is_created_first(tmp_path, monkeypatch):
    calls = []

    def fetch(root: str) -> None:  # what torchvision.datasets.CIFAR10(root, download=True) leaves behind
        calls.append(root)
        write_cifar10(tmp_path / "cifar10")

    monkeypatch.setattr(torchvision_download, "_fetchers", lambda: {"cifar10": fetch})
    download_torchvision("cifar10", tmp_path / "cifar10")
    assert calls == [str(tmp_path / "cifar10")]
    assert (tmp_path / "cifar10" / "cifar-10-batches-py" / "data_batch_1").is_file()


@pytest.mark.parametrize("error", [OSError("<urlopen error [Errno -3] Temporary failure in name resolution>"),
                                   RuntimeError("File not found or corrupted.\nsecond line"),
                                   ValueError("bad split")])
def test_a_failed_download_is_one_line_naming_the_error_and_the_manual_way(tmp_path, monkeypatch, error):
    def fetch(root: str) -> None:
        raise error

    monkeypatch.setattr(torchvision_download, "_fetchers", lambda: {"flowers102": fetch})
    with pytest.raises(DataError) as caught:
        download_torchvision("flowers102", tmp_path / "flowers102")
    message = str(caught.value)
    first = str(error).splitlines()[0]
    assert f"the torchvision download into {tmp_path / 'flowers102'} failed ({type(error).__name__}: {first})" \
        in message and "\n" not in message
    assert "download 102flowers.tgz, imagelabels.mat, setid.mat from https://www.robots.ox.ac.uk" in message
    assert caught.value.__cause__ is error


def test_a_bug_in_the_fetcher_is_not_dressed_up_as_a_download_failure(tmp_path, monkeypatch):
    def fetch(root: str) -> None:
        raise KeyError("split")

    monkeypatch.setattr(torchvision_download, "_fetchers", lambda: {"dtd": fetch})
    with pytest.raises(KeyError):
        download_torchvision("dtd", tmp_path / "dtd")


def test_datasets_torchvision_cannot_fetch_are_refused_before_any_folder_is_made(tmp_path):
    for name in ("cars", "cub2011", "imagenet64"):
        with pytest.raises(DataError) as caught:
            download_torchvision(name, tmp_path / name)
        assert f"dataset '{name}' cannot be downloaded by torchvision" in str(caught.value)
        assert f"put them in {tmp_path / name}/" in str(caught.value)
        assert not (tmp_path / name).exists()
    with pytest.raises(DataError, match="has no files to prepare"):
        download_torchvision("not_a_dataset", tmp_path / "x")
