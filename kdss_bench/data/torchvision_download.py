"""``data prepare --download``: fetch a torchvision dataset by constructing torchvision's class with download=True.

torchvision downloads into the dataset's folder (``<root>/<name>``, the root its reader reads),
checks the md5s it publishes and extracts the archives. This is the only place that may reach
the network, and only when ``--download`` is given.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from kdss_bench.data.dataset_sources import sources_of
from kdss_bench.errors import DataError


def _fetchers() -> dict[str, Callable[[str], object]]:
    from torchvision import datasets

    return {
        "cifar10": lambda root: datasets.CIFAR10(root, train=True, download=True),
        "cifar100": lambda root: datasets.CIFAR100(root, train=True, download=True),
        "aircraft": lambda root: datasets.FGVCAircraft(root, split="trainval", download=True),
        "flowers102": lambda root: datasets.Flowers102(root, split="train", download=True),
        "gtsrb": lambda root: (datasets.GTSRB(root, split="train", download=True),
                               datasets.GTSRB(root, split="test", download=True)),
        "dtd": lambda root: datasets.DTD(root, download=True),
        "fashion_mnist": lambda root: datasets.FashionMNIST(root, train=True, download=True),
    }


def download_torchvision(name: str, location: Path) -> None:
    """Download torchvision dataset ``name`` into ``location``; DataError with the manual way when it fails."""
    spec = sources_of(name)
    location = Path(location)
    manual = (f"download {', '.join(a.file for a in spec.archives)} from {spec.page} yourself and put them in "
              f"{location}/ (kdss-bench data prepare checks and extracts them)")
    if not spec.downloadable:
        raise DataError(f"dataset '{name}' cannot be downloaded by torchvision ({spec.note or 'no download'}); "
                        f"{manual}")
    fetch = _fetchers()[name]
    location.mkdir(parents=True, exist_ok=True)
    try:
        fetch(str(location))
    except (OSError, RuntimeError, ValueError) as error:  # URLError is an OSError; a bad md5 a RuntimeError
        first_line = (str(error).splitlines() or [""])[0]
        raise DataError(f"dataset '{name}': the torchvision download into {location} failed "
                        f"({type(error).__name__}: {first_line}); check the network, or {manual}") from error
