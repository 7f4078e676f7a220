"""preview.npz: per-image min-max scaling to uint8 RGB, atomic writes, tolerant reads."""

from __future__ import annotations

import numpy as np

from kdss_bench.store.preview_file import PREVIEW_COUNT, preview_grid, read_preview, write_preview


def test_each_image_is_scaled_on_its_own_to_the_full_range():
    images = np.stack([np.linspace(-2, 2, 3 * 4 * 4).reshape(3, 4, 4),
                       np.linspace(0.4, 0.6, 3 * 4 * 4).reshape(3, 4, 4)]).astype(np.float32)
    grid = preview_grid(images)
    assert grid.shape == (2, 4, 4, 3) and grid.dtype == np.uint8
    for image in grid:
        assert image.min() == 0 and image.max() == 255
    # channel-last: pixel (0, 0) of channel 0 is the smallest value, of channel 2 a larger one
    assert grid[0, 0, 0, 0] == 0 and grid[0, 0, 0, 2] > grid[0, 0, 0, 1] > 0


def test_only_the_first_images_are_kept_and_grey_becomes_rgb():
    grey = np.random.default_rng(0).random((50, 1, 5, 5)).astype(np.float32)
    grid = preview_grid(grey)
    assert grid.shape == (PREVIEW_COUNT, 5, 5, 3)
    assert (grid[..., 0] == grid[..., 1]).all() and (grid[..., 1] == grid[..., 2]).all()


def test_constant_and_diverged_images_do_not_break_the_preview():
    images = np.zeros((3, 3, 2, 2), dtype=np.float32)
    images[0] = 7.0
    images[1] = np.nan
    images[2, 0, 0, 0], images[2, 0, 0, 1] = np.inf, 1.0
    grid = preview_grid(images)
    assert (grid[0] == 0).all() and (grid[1] == 0).all()
    assert grid[2].max() == 255 and grid[2, 0, 0, 0] == 0, "a non-finite pixel is drawn as the minimum"


def test_write_then_read_round_trips_and_leaves_no_temporary_file(tmp_path):
    path = tmp_path / "preview.npz"
    images = np.random.default_rng(1).normal(size=(4, 3, 6, 6))
    write_preview(path, images, step=3, total=9)
    loaded, step, total = read_preview(path)
    assert (loaded == preview_grid(images)).all() and (step, total) == (3, 9)
    assert [p.name for p in tmp_path.iterdir()] == ["preview.npz"]


def test_missing_torn_or_foreign_files_read_as_none(tmp_path):
    assert read_preview(tmp_path / "absent.npz") is None
    torn = tmp_path / "torn.npz"
    write_preview(torn, np.ones((2, 3, 4, 4)), step=1, total=2)
    torn.write_bytes(torn.read_bytes()[:40])
    assert read_preview(torn) is None
    foreign = tmp_path / "foreign.npz"
    np.savez(foreign, images=np.zeros((2, 4, 4, 3), dtype=np.float32), step=1, total=2)
    assert read_preview(foreign) is None
