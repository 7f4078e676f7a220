"""kdss_bench.data.archive_extract: checksums against the published values, and safe, all-or-nothing unpacking."""

from __future__ import annotations

import gzip
import hashlib
import io
import tarfile
import zipfile
from pathlib import Path

import pytest

from kdss_bench.data.archive_extract import check_file, file_digest, place_archive
from kdss_bench.data.dataset_sources import Archive
from kdss_bench.errors import DataError

DATA = b"kdss-bench " * 1000


def _archive(file: str, **kwargs) -> Archive:
    return Archive(file, f"https://example.org/{file}", **kwargs)


def _tar(path: Path, members: dict[str, bytes], folders: tuple[str, ...] = ()) -> Path:
    with tarfile.open(path, "w:gz" if path.name.endswith("gz") else "w") as tar:
        for folder in folders:
            info = tarfile.TarInfo(folder)
            info.type = tarfile.DIRTYPE
            tar.addfile(info)
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size, info.mtime = len(data), 1_600_000_000
            tar.addfile(info, io.BytesIO(data))
    return path


def test_file_digest_is_the_hashlib_digest(tmp_path):
    path = tmp_path / "f.bin"
    path.write_bytes(DATA)
    assert file_digest(path, "md5") == hashlib.md5(DATA).hexdigest()
    assert file_digest(path, "sha256") == hashlib.sha256(DATA).hexdigest()


def test_check_file_says_what_it_checked_and_prefers_md5(tmp_path):
    path = tmp_path / "f.bin"
    path.write_bytes(DATA)
    md5, sha = hashlib.md5(DATA).hexdigest(), hashlib.sha256(DATA).hexdigest()
    kwargs = {"source": "TFDS", "fix": "download it again"}
    assert check_file(path, size=len(DATA), md5=md5, sha256="0" * 64, **kwargs) == "size and md5"
    assert check_file(path, size=None, md5=None, sha256=sha, **kwargs) == "sha256"
    assert check_file(path, size=None, md5=None, sha256=None, **kwargs) == ""


@pytest.mark.parametrize(("size", "md5", "sha256", "fragment"), [
    (5, None, None, "has 11,000 bytes, but the official file has 5 (TFDS); download it again"),
    (None, "0" * 32, None, "has md5 " + hashlib.md5(DATA).hexdigest() + ", but the official file's is " + "0" * 32),
    (None, None, "f" * 64, "has sha256 "),
])
def test_check_file_names_the_file_the_difference_and_the_fix(tmp_path, size, md5, sha256, fragment):
    path = tmp_path / "f.bin"
    path.write_bytes(DATA)
    with pytest.raises(DataError) as caught:
        check_file(path, size=size, md5=md5, sha256=sha256, source="TFDS", fix="download it again")
    assert str(caught.value).startswith(str(path)) and fragment in str(caught.value)


def test_a_tar_is_extracted_with_its_folders_and_merged_into_the_destination(tmp_path):
    path = _tar(tmp_path / "d.tar.gz", {"top/a.txt": b"new a", "top/sub/b.txt": b"b"}, folders=("top/empty",))
    destination = tmp_path / "data"
    (destination / "top").mkdir(parents=True)
    (destination / "top" / "a.txt").write_bytes(b"old a")
    (destination / "top" / "kept.txt").write_bytes(b"kept")
    place_archive(_archive("d.tar.gz"), path, destination)
    assert (destination / "top" / "a.txt").read_bytes() == b"new a"  # files replace files
    assert (destination / "top" / "kept.txt").read_bytes() == b"kept"  # folders merge
    assert (destination / "top" / "sub" / "b.txt").read_bytes() == b"b"
    assert (destination / "top" / "empty").is_dir()
    assert (destination / "top" / "a.txt").stat().st_mtime == 1_600_000_000  # the member's time
    assert sorted(p.name for p in destination.iterdir()) == ["top"], "no temporary folder is left"


def test_flatten_drops_the_member_folders(tmp_path):
    path = tmp_path / "parts.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("Imagenet64_val/", b"")
        archive.writestr("Imagenet64_val/val_data.npz", b"v")
    place_archive(_archive("parts.zip", flatten=True), path, tmp_path / "imagenet64")
    assert sorted(p.name for p in (tmp_path / "imagenet64").iterdir()) == ["val_data.npz"]
    place_archive(_archive("parts.zip"), path, tmp_path / "kept")
    assert (tmp_path / "kept" / "Imagenet64_val" / "val_data.npz").read_bytes() == b"v"


def test_a_gzip_is_decompressed_and_a_plain_file_copied(tmp_path):
    gz = tmp_path / "labels-idx1-ubyte.gz"
    gz.write_bytes(gzip.compress(DATA))
    place_archive(_archive(gz.name), gz, tmp_path / "raw")
    assert (tmp_path / "raw" / "labels-idx1-ubyte").read_bytes() == DATA
    plain = tmp_path / "setid.mat"
    plain.write_bytes(b"mat")
    place_archive(_archive("setid.mat"), plain, tmp_path / "flowers")
    assert (tmp_path / "flowers" / "setid.mat").read_bytes() == b"mat"


def test_a_folder_in_the_archive_replaces_a_file_of_that_name(tmp_path):
    path = _tar(tmp_path / "d.tar", {"images/1.jpg": b"1"})
    destination = tmp_path / "data"
    destination.mkdir()
    (destination / "images").write_bytes(b"a file in the way")
    place_archive(_archive("d.tar"), path, destination)
    assert (destination / "images" / "1.jpg").read_bytes() == b"1"


@pytest.mark.parametrize("member", ["../escape.txt", "/etc/evil.txt", "a/../../escape.txt"])
def test_a_member_pointing_outside_is_refused_and_nothing_is_written(tmp_path, member):
    path = _tar(tmp_path / "evil.tar", {"fine.txt": b"ok", member: b"evil"})
    destination = tmp_path / "root" / "data"
    with pytest.raises(DataError, match="points outside its folder"):
        place_archive(_archive("evil.tar"), path, destination)
    assert not (tmp_path / "root" / "escape.txt").exists() and not (tmp_path / "escape.txt").exists()
    assert list(destination.iterdir()) == [], "an archive refused half-way leaves nothing behind"


def test_a_zip_member_pointing_outside_is_refused(tmp_path):
    path = tmp_path / "evil.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("..\\escape.txt", b"evil")  # Windows separators count too
    with pytest.raises(DataError, match="points outside"):
        place_archive(_archive("evil.zip"), path, tmp_path / "data")
    assert not (tmp_path / "escape.txt").exists()


def test_links_in_a_tar_are_refused(tmp_path):
    path = tmp_path / "link.tar"
    with tarfile.open(path, "w") as tar:
        info = tarfile.TarInfo("passwd")
        info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
        tar.addfile(info)
    with pytest.raises(DataError, match="not a plain file or folder"):
        place_archive(_archive("link.tar"), path, tmp_path / "data")
    assert not (tmp_path / "data" / "passwd").exists()


@pytest.mark.parametrize("file", ["broken.tar.gz", "broken.zip", "broken.gz"])
def test_a_damaged_archive_is_a_one_line_error_naming_where_to_get_it_again(tmp_path, file):
    path = tmp_path / file
    good = gzip.compress(DATA) if file.endswith(".gz") else b"PK\x03\x04" + DATA
    path.write_bytes(good[: len(good) // 2])
    with pytest.raises(DataError) as caught:
        place_archive(_archive(file), path, tmp_path / "data")
    message = str(caught.value)
    assert message.startswith(f"archive {path} cannot be read (") and "\n" not in message
    assert message.endswith(f"download {file} again from https://example.org/{file}")
    assert not any(p.name.startswith(".kdss-extract") for p in (tmp_path / "data").iterdir())
