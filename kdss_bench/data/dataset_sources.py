"""Where every built-in torchvision and official-archive dataset comes from, and which files it is made of.

Torch-free data and small helpers, so that suite validation and ``kdss-bench data status`` stay
instant. For each dataset: the official page, the archives (file name, URL, size and checksums
where published, and the folder under ``<root>/<name>/`` each is extracted into), the paths its
reader needs once extracted (with the checksums torchvision publishes for some of them), the
official image counts, and the paths whose files sign a prepared cache
(:mod:`kdss_bench.data.prepared_cache`).

Where each expected value comes from (the ``source`` of every entry says which):

* ``torchvision``: the md5s torchvision 0.29.1 checks for its downloads, in
  ``torchvision/datasets/{cifar,flowers102,gtsrb,dtd,mnist}.py`` (``tgz_md5``, ``train_list``,
  ``_file_dict``, ``_MD5``, ``resources``);
* ``old torchvision``: the md5s of ``StanfordCars`` from before its download was removed (the
  Stanford URLs broke, https://github.com/pytorch/vision/issues/7545);
* ``TFDS``: the size in bytes and sha256 of the same URL in tensorflow/datasets
  ``tensorflow_datasets/url_checksums/<name>.txt`` (caltech_birds2011, stanford_dogs, cars196,
  oxford_flowers102, fgvc, dtd, fashion_mnist);
* ``loaders``: the md5 every public loader of the archive checks (CUB-200-2011:
  ``97eceeb1...`` in ContinualAI/avalanche ``CUB200`` and TDeVries/cub2011_dataset; Tiny-ImageNet:
  ``90528d7c...`` in avalanche ``TinyImagenet``), and Tiny-ImageNet's size as its downloads log it;
* ImageNet 64x64 (behind the ImageNet login) has no published size or checksum; its npz files are
  checked by their structure when read (``imagenet64_reader``).
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path

from kdss_bench.errors import DataError, MissingDataError

CACHE_FOLDER = ".kdss-cache"
"""Prepared caches live in ``<root>/.kdss-cache/<name>/<resolution>/``."""

PAPER_DATASETS = ("cifar10", "cifar100", "aircraft", "cars", "flowers102", "cub2011", "dogs", "tinyimagenet",
                  "imagenet64")
"""Every dataset of ``suites/paper/*.yaml`` (sources and targets); ``data prepare paper`` prepares them all."""

PAPER_RESOLUTIONS = (32, 64)
"""The resolutions the paper suites use (CIFAR-100 at 32 px, Tiny-ImageNet and ImageNet-64 at 64 px)."""

_TV = "torchvision 0.29.1"
_TFDS = "TFDS url_checksums"


@dataclass(frozen=True)
class Archive:
    """One downloadable file and where it goes: extracted (tar, zip), decompressed (gz) or copied as is."""

    file: str
    url: str
    into: str = ""
    """The folder under ``<root>/<name>/`` it is extracted into ('' = that folder itself)."""
    size: int | None = None
    md5: str | None = None
    sha256: str | None = None
    source: str = ""
    """Where size, md5 and sha256 come from."""
    flatten: bool = False
    """Extract members without their folders (each ImageNet-64 zip holds its npz files in one folder)."""

    @property
    def kind(self) -> str:
        name = self.file.lower()
        if name.endswith((".tar", ".tgz", ".tar.gz")):
            return "tar"
        if name.endswith(".zip"):
            return "zip"
        if name.endswith(".gz"):
            return "gzip"
        return "file"

    def target(self, location: Path) -> Path:
        return location / self.into if self.into else location


@dataclass(frozen=True)
class Expected:
    """A path the reader needs, relative to ``<root>/<name>/``; a trailing '/' marks a folder."""

    path: str
    archive: str
    """The file of :attr:`DatasetSources.archives` it comes from."""
    md5: str | None = None
    size: int | None = None
    source: str = ""

    @property
    def folder(self) -> bool:
        return self.path.endswith("/")

    def exists(self, location: Path) -> bool:
        path = location / self.path
        return path.is_dir() if self.folder else path.is_file()


@dataclass(frozen=True)
class DatasetSources:
    name: str
    title: str
    page: str
    counts: tuple[int, int, int]
    """(classes, train images, test images) of the official release, as the readers split it."""
    expected: tuple[Expected, ...]
    archives: tuple[Archive, ...]
    signed: tuple[str, ...]
    """Paths (under ``<root>/<name>/``) whose files' sizes and mtimes sign a prepared cache."""
    optional: tuple[str, ...] = ()
    """Signed as well, but may be absent (their presence changes what the reader returns)."""
    downloadable: bool = False
    """``data prepare --download`` fetches it through torchvision."""
    format: str = "archive"
    """The registry's format: ``torchvision`` or ``archive``."""
    note: str = ""

    def archive(self, file: str) -> Archive:
        return next(a for a in self.archives if a.file == file)


def _cifar(name: str, folder: str, tarball: str, tgz_md5: str, files: list[tuple[str, str]],
           title: str) -> DatasetSources:
    source = f"{_TV} {'CIFAR100' if name == 'cifar100' else 'CIFAR10'} file lists"
    return DatasetSources(
        name=name, title=title, page="https://www.cs.toronto.edu/~kriz/cifar.html",
        counts=(100, 50_000, 10_000) if name == "cifar100" else (10, 50_000, 10_000),
        expected=tuple(Expected(f"{folder}/{file}", tarball, md5=md5, source=source) for file, md5 in files),
        archives=(Archive(tarball, f"https://www.cs.toronto.edu/~kriz/{tarball}", md5=tgz_md5,
                          source=f"{_TV} tgz_md5"),),
        signed=(folder,), downloadable=True, format="torchvision",
    )


def _catalogue() -> dict[str, DatasetSources]:
    cars_note = ("Stanford's URLs are offline and torchvision cannot download it any more; the four files are "
                 "mirrored on Kaggle (see https://github.com/pytorch/vision/issues/7545)")
    tv_flowers = f"{_TV} Flowers102._file_dict md5; size from {_TFDS}/oxford_flowers102.txt"
    flowers_url = "https://www.robots.ox.ac.uk/~vgg/data/flowers/102/"
    cars_url = "http://ai.stanford.edu/~jkrause/car196/"
    fashion_url = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"
    gtsrb_url = "https://sid.erda.dk/public/archives/daaeac0d7ce1152aea9b61d9f1e19370/"
    imagenet64_url = "https://image-net.org/data/downsample/"
    fashion = [  # (file, torchvision md5, TFDS size)
        ("train-images-idx3-ubyte", "8d4fb7e6c68d591d4c3dfef9ec88bf0d", 26_421_880),
        ("train-labels-idx1-ubyte", "25c81989df183df01b3e8a0aad5dffbe", 29_515),
        ("t10k-images-idx3-ubyte", "bef4ecab320f06d8554ea6380940ec79", 4_422_102),
        ("t10k-labels-idx1-ubyte", "bb300cfdad3c16e7a12a480ee83cd310", 5_148),
    ]
    sets = [
        _cifar("cifar10", "cifar-10-batches-py", "cifar-10-python.tar.gz", "c58f30108f718f92721af3b95e74349a", [
            ("data_batch_1", "c99cafc152244af753f735de768cd75f"), ("data_batch_2", "d4bba439e000b95fd0a9bffe97cbabec"),
            ("data_batch_3", "54ebc095f3ab1f0389bbae665268c751"), ("data_batch_4", "634d18415352ddfa80567beed471001a"),
            ("data_batch_5", "482c414d41f54cd18b22e5b47cb7c3cb"), ("test_batch", "40351d587109b95175f43aff81a1287e"),
            ("batches.meta", "5ff9c542aee3614f3951f8cda6e48888")], "CIFAR-10 (python version)"),
        _cifar("cifar100", "cifar-100-python", "cifar-100-python.tar.gz", "eb9058c3a382ffc7106e4002c42a8d85", [
            ("train", "16019d7e3df5f24257cddd939b257f8d"), ("test", "f0ef6b0ae62326f3e7ffdfab6717acfc"),
            ("meta", "7973b15100ade9c7d40fb424638fde48")], "CIFAR-100 (python version)"),
        DatasetSources(
            name="aircraft", title="FGVC-Aircraft 2013b", page="https://www.robots.ox.ac.uk/~vgg/data/fgvc-aircraft/",
            counts=(100, 6667, 3333),
            expected=tuple(Expected(f"fgvc-aircraft-2013b/data/{p}", "fgvc-aircraft-2013b.tar.gz") for p in (
                "variants.txt", "images_variant_trainval.txt", "images_variant_test.txt", "images/")),
            archives=(Archive("fgvc-aircraft-2013b.tar.gz",
                              "https://www.robots.ox.ac.uk/~vgg/data/fgvc-aircraft/archives/fgvc-aircraft-2013b.tar.gz",
                              size=2_770_575_360,
                              sha256="d5f68b1b81d6d7831eb9d5c5517074176b5dfbce6bcb43dc14ed1c66a87b8d75",
                              source=f"{_TFDS}/fgvc.txt"),),
            signed=("fgvc-aircraft-2013b",), downloadable=True, format="torchvision",
        ),
        DatasetSources(
            name="cars", title="Stanford Cars", page="https://ai.stanford.edu/~jkrause/cars/car_dataset.html",
            counts=(196, 8144, 8041),
            expected=(
                Expected("stanford_cars/devkit/cars_meta.mat", "car_devkit.tgz"),
                Expected("stanford_cars/devkit/cars_train_annos.mat", "car_devkit.tgz"),
                Expected("stanford_cars/cars_train/", "cars_train.tgz"),
                Expected("stanford_cars/cars_test/", "cars_test.tgz"),
                Expected("stanford_cars/cars_test_annos_withlabels.mat", "cars_test_annos_withlabels.mat",
                         md5="b0a2b23655a3edd16d84508592a98d10", size=185_758,
                         source=f"md5: old torchvision StanfordCars; size: {_TFDS}/cars196.txt"),
            ),
            archives=(
                Archive("car_devkit.tgz", "https://ai.stanford.edu/~jkrause/cars/car_devkit.tgz", into="stanford_cars",
                        size=330_960, md5="c3b158d763b6e2245038c8ad08e45376",
                        sha256="b97deb463af7d58b6bfaa18b2a4de9829f0f79e8ce663dfa9261bf7810e9accd",
                        source=f"md5: old torchvision StanfordCars; size, sha256: {_TFDS}/cars196.txt"),
                Archive("cars_train.tgz", cars_url + "cars_train.tgz", into="stanford_cars", size=979_269_282,
                        md5="065e5b463ae28d29e77c1b4b166cfe61",
                        sha256="512b227b30e2f0a8aab9e09485786ab4479582073a144998da74d64b801fd288",
                        source=f"md5: old torchvision StanfordCars; size, sha256: {_TFDS}/cars196.txt"),
                Archive("cars_test.tgz", cars_url + "cars_test.tgz", into="stanford_cars", size=977_350_468,
                        md5="4ce7ebf6a94d07f1952d94dd34c4d501",
                        sha256="bffea656d6f425cba3c91c6d83336e4c5f86c6cffd8975b0f375d3a10da8e243",
                        source=f"md5: old torchvision StanfordCars; size, sha256: {_TFDS}/cars196.txt"),
                Archive("cars_test_annos_withlabels.mat", cars_url + "cars_test_annos_withlabels.mat",
                        into="stanford_cars", size=185_758, md5="b0a2b23655a3edd16d84508592a98d10",
                        sha256="790f75be8ea34eeded134cc559332baf23e30e91367e9ddca97d26ed9b895f05",
                        source=f"md5: old torchvision StanfordCars; size, sha256: {_TFDS}/cars196.txt"),
            ),
            signed=("stanford_cars",), format="torchvision", note=cars_note,
        ),
        DatasetSources(
            name="flowers102", title="Oxford Flowers-102", page=flowers_url, counts=(102, 2040, 6149),
            expected=(
                Expected("flowers-102/jpg/", "102flowers.tgz"),
                Expected("flowers-102/imagelabels.mat", "imagelabels.mat", md5="e0620be6f572b9609742df49c70aed4d",
                         size=502, source=tv_flowers),
                Expected("flowers-102/setid.mat", "setid.mat", md5="a5357ecc9cb78c4bef273ce3793fc85c", size=14_989,
                         source=tv_flowers),
            ),
            archives=(
                Archive("102flowers.tgz", flowers_url + "102flowers.tgz", into="flowers-102", size=344_862_509,
                        md5="52808999861908f626f3c1f4e79d11fa",
                        sha256="2d01ecc807db462958cfe3d92f57a8c252b4abd240eb955770201e45f783b246", source=tv_flowers),
                Archive("imagelabels.mat", flowers_url + "imagelabels.mat", into="flowers-102", size=502,
                        md5="e0620be6f572b9609742df49c70aed4d", source=tv_flowers),
                Archive("setid.mat", flowers_url + "setid.mat", into="flowers-102", size=14_989,
                        md5="a5357ecc9cb78c4bef273ce3793fc85c", source=tv_flowers),
            ),
            signed=("flowers-102",), downloadable=True, format="torchvision",
        ),
        DatasetSources(
            name="gtsrb", title="GTSRB traffic signs", page="https://benchmark.ini.rub.de/",
            counts=(43, 26_640, 12_630),
            expected=(
                Expected("gtsrb/GTSRB/Training/", "GTSRB-Training_fixed.zip"),
                Expected("gtsrb/GTSRB/Final_Test/Images/", "GTSRB_Final_Test_Images.zip"),
                Expected("gtsrb/GT-final_test.csv", "GTSRB_Final_Test_GT.zip"),
            ),
            archives=tuple(
                Archive(file, gtsrb_url + file, into="gtsrb", md5=md5, source=f"{_TV} GTSRB.download")
                for file, md5 in (("GTSRB-Training_fixed.zip", "513f3c79a4c5141765e10e952eaa2478"),
                                  ("GTSRB_Final_Test_Images.zip", "c7e4e6327067d32654124b0fe9e82185"),
                                  ("GTSRB_Final_Test_GT.zip", "fe31e9c9270bbcd7b84b7f21a9d9d9e5"))),
            signed=("gtsrb/GTSRB", "gtsrb/GT-final_test.csv"), downloadable=True, format="torchvision",
        ),
        DatasetSources(
            name="dtd", title="Describable Textures (DTD)", page="https://www.robots.ox.ac.uk/~vgg/data/dtd/",
            counts=(47, 3760, 1880),
            expected=tuple(Expected(f"dtd/dtd/{p}", "dtd-r1.0.1.tar.gz") for p in (
                "images/", "labels/train1.txt", "labels/val1.txt", "labels/test1.txt")),
            archives=(Archive("dtd-r1.0.1.tar.gz", "https://www.robots.ox.ac.uk/~vgg/data/dtd/download/dtd-r1.0.1.tar.gz",
                              into="dtd", size=625_239_812, md5="fff73e5086ae6bdbea199a49dfb8a4c1",
                              sha256="e42855a52a4950a3b59612834602aa253914755c95b0cff9ead6d07395f8e205",
                              source=f"md5: {_TV} DTD._MD5; size, sha256: {_TFDS}/dtd.txt"),),
            signed=("dtd/dtd",), downloadable=True, format="torchvision",
        ),
        DatasetSources(
            name="fashion_mnist", title="Fashion-MNIST", page="https://github.com/zalandoresearch/fashion-mnist",
            counts=(10, 60_000, 10_000),
            expected=tuple(Expected(f"FashionMNIST/raw/{file}", f"{file}.gz") for file, _, _ in fashion),
            archives=tuple(
                Archive(f"{file}.gz", f"{fashion_url}{file}.gz", into="FashionMNIST/raw", size=size, md5=md5,
                        source=f"md5: {_TV} FashionMNIST.resources; size: {_TFDS}/fashion_mnist.txt")
                for file, md5, size in fashion),
            signed=("FashionMNIST/raw",), downloadable=True, format="torchvision",
        ),
        DatasetSources(
            name="cub2011", title="CUB-200-2011 birds", page="https://www.vision.caltech.edu/datasets/cub_200_2011/",
            counts=(200, 5994, 5794),
            expected=tuple(Expected(f"CUB_200_2011/{p}", "CUB_200_2011.tgz") for p in (
                "images.txt", "image_class_labels.txt", "train_test_split.txt", "classes.txt", "images/")),
            archives=(Archive("CUB_200_2011.tgz", "https://data.caltech.edu/records/65de6-vp158/files/CUB_200_2011.tgz",
                              size=1_150_585_339, md5="97eceeb196236b17998738112f37df78",
                              sha256="0c685df5597a8b24909f6a7c9db6d11e008733779a671760afef78feb49bf081",
                              source=f"md5: loaders (avalanche CUB200); size, sha256: {_TFDS}/caltech_birds2011.txt"),),
            signed=("CUB_200_2011",),
        ),
        DatasetSources(
            name="dogs", title="Stanford Dogs", page="http://vision.stanford.edu/aditya86/ImageNetDogs/",
            counts=(120, 12_000, 8580),
            expected=(Expected("Images/", "images.tar"), Expected("train_list.mat", "lists.tar"),
                      Expected("test_list.mat", "lists.tar")),
            archives=(
                Archive("images.tar", "http://vision.stanford.edu/aditya86/ImageNetDogs/images.tar", size=793_579_520,
                        sha256="a443fc2f9a851aa1a7b8e4fa4af94b8459fce2c9f5a2f4dd4669cf9673a4ec58",
                        source=f"{_TFDS}/stanford_dogs.txt"),
                Archive("lists.tar", "http://vision.stanford.edu/aditya86/ImageNetDogs/lists.tar", size=481_280,
                        sha256="34b47cacd9a98b5d150e084f24d29391c084c55272295ec65c85651bc35f4d6c",
                        source=f"{_TFDS}/stanford_dogs.txt"),
            ),
            signed=("Images", "train_list.mat", "test_list.mat"),
        ),
        DatasetSources(
            name="tinyimagenet", title="Tiny-ImageNet-200", page="https://cs231n.stanford.edu/",
            counts=(200, 100_000, 10_000),
            expected=tuple(Expected(f"tiny-imagenet-200/{p}", "tiny-imagenet-200.zip") for p in (
                "wnids.txt", "words.txt", "val/val_annotations.txt", "train/", "val/images/")),
            archives=(Archive("tiny-imagenet-200.zip", "http://cs231n.stanford.edu/tiny-imagenet-200.zip",
                              size=248_100_043, md5="90528d7ca1a48142e341f4ef8d21d0de",
                              source="md5: loaders (avalanche TinyImagenet); size: their download logs"),),
            signed=("tiny-imagenet-200/wnids.txt", "tiny-imagenet-200/words.txt", "tiny-imagenet-200/train",
                    "tiny-imagenet-200/val"),
        ),
        DatasetSources(
            name="imagenet64", title="Downsampled ImageNet 64x64 (npz)", counts=(1000, 1_281_167, 50_000),
            page="https://image-net.org/download-images.php (log in; 'Downsampled ImageNet 64x64', npz format)",
            expected=(*(Expected(f"train_data_batch_{k}.npz", f"Imagenet64_train_part{1 if k <= 5 else 2}_npz.zip")
                        for k in range(1, 11)),
                      Expected("val_data.npz", "Imagenet64_val_npz.zip")),
            archives=tuple(
                Archive(file, imagenet64_url + file, flatten=True)
                for file in ("Imagenet64_train_part1_npz.zip", "Imagenet64_train_part2_npz.zip",
                             "Imagenet64_val_npz.zip")),
            signed=(*(f"train_data_batch_{k}.npz" for k in range(1, 11)), "val_data.npz"),
            optional=("map_clsloc.txt",),
            note="each zip holds its npz files in one folder; they belong directly in the dataset's folder",
        ),
    ]
    return {spec.name: spec for spec in sets}


SOURCES: dict[str, DatasetSources] = _catalogue()


def preparable_names() -> list[str]:
    return list(SOURCES)


def sources_of(name: str) -> DatasetSources:
    """The catalogue entry of built-in dataset ``name``; DataError naming the preparable ones otherwise."""
    if name not in SOURCES:
        raise DataError(f"dataset '{name}' has no files to prepare; use one of {', '.join(SOURCES)} "
                        "(or 'paper' for the nine datasets of the paper suites)")
    return SOURCES[name]


def missing_paths(spec: DatasetSources, location: Path) -> list[Expected]:
    """The expected paths absent under ``location`` (the dataset's folder ``<root>/<name>``)."""
    return [item for item in spec.expected if not item.exists(Path(location))]


def archives_for(spec: DatasetSources, items: list[Expected]) -> list[Archive]:
    """The archives that hold ``items``, in catalogue order."""
    wanted = {item.archive for item in items}
    return [archive for archive in spec.archives if archive.file in wanted]


def prepare_command(names: list[str], root: Path, *, download: bool) -> str:
    return (f"kdss-bench data prepare {' '.join(names)} --root {shlex.quote(str(root))}"
            f"{' --download' if download else ''}")


def missing_error(name: str, spec: DatasetSources, location: Path) -> MissingDataError:
    """One line: what is missing where, from which archive, and the prepare command that fixes it."""
    location = Path(location)
    missing = missing_paths(spec, location)
    files = ", ".join(archive.file for archive in archives_for(spec, missing))
    command = prepare_command([spec.name], location.parent, download=spec.downloadable)
    if len(missing) == len(spec.expected):
        what = f"not found under {location} (expected {_preview([item.path for item in missing])} from {files})"
    else:
        paths = _preview([item.path for item in missing])
        what = f"is incomplete under {location}: {paths} not found (from {files})"
    label = f"'{name}'" if name == spec.name else f"'{name}' ({spec.name})"
    return MissingDataError(f"dataset {label} {what}; run {command}", dataset=spec.name, root=str(location.parent),
                            downloadable=spec.downloadable)


def missing_report(spec: DatasetSources, location: Path, *, download_asked: bool = False) -> list[str]:
    """Lines for ``data prepare``: every missing path, then each archive to fetch, from where, and where it goes."""
    location = Path(location)
    missing = missing_paths(spec, location)
    lines = [f"{spec.name}: missing under {location}: {', '.join(item.path for item in missing)}"]
    if spec.downloadable and not download_asked:
        lines.append(f"  pass --download to fetch them with torchvision ({spec.page}), or place the files below")
    lines.append(f"  official page: {spec.page}")
    if spec.note:
        lines.append(f"  note: {spec.note}")
    for archive in archives_for(spec, missing):
        facts = ", ".join(part for part in (
            f"{archive.size:,} bytes" if archive.size else "",
            f"md5 {archive.md5}" if archive.md5 else "",
            f"sha256 {archive.sha256}" if archive.sha256 and not archive.md5 else "",
        ) if part)
        destination = archive.target(location)
        facts = f"{facts}; {archive.source}" if facts else "no published size or checksum"
        lines.append(f"  {archive.file} ({facts}) from {archive.url}")
        lines.append(f"    put it in {destination}/ (or in {location.parent}/) and run this command again to check and "
                     f"{'copy' if archive.kind == 'file' else 'extract'} it, or {manual_step(archive, destination)}")
    return lines


def manual_step(archive: Archive, destination: Path) -> str:
    """The shell command that places ``archive`` by hand (as ``data prepare`` does)."""
    where = shlex.quote(str(destination))
    if archive.kind == "tar":
        return f"extract it yourself: mkdir -p {where} && tar -xf {archive.file} -C {where}"
    if archive.kind == "zip":
        flags = "-j " if archive.flatten else ""
        return f"extract it yourself: unzip {flags}{archive.file} -d {where}"
    if archive.kind == "gzip":
        plain = shlex.quote(str(destination / archive.file[: -len(".gz")]))
        return f"decompress it yourself: mkdir -p {where} && gunzip -c {archive.file} > {plain}"
    return f"copy it yourself: mkdir -p {where} && cp {archive.file} {where}/"


def _preview(values: list[str], limit: int = 5) -> str:
    shown = ", ".join(values[:limit])
    return shown + (f", ... ({len(values)} in all)" if len(values) > limit else "")
