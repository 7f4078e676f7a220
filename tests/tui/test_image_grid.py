"""Half-block drawing: the exact characters and colours for a known tiny image."""

from __future__ import annotations

import asyncio

import numpy as np
from rich.color import Color
from textual.app import App

from kdss_bench.tui.image_grid import UPPER_HALF, ImageGrid, grid_text, half_block_lines, shrink

RED, BLUE, GREEN, WHITE = (255, 0, 0), (0, 0, 255), (0, 255, 0), (255, 255, 255)


def known_image() -> np.ndarray:
    """3 rows x 2 columns: red over blue over white in column 0, green over white over blue in column 1."""
    image = np.zeros((3, 2, 3), dtype=np.uint8)
    image[:, 0] = [RED, BLUE, WHITE]
    image[:, 1] = [GREEN, WHITE, BLUE]
    return image


def rgb(color: Color | None):
    return None if color is None else tuple(color.get_truecolor())


def cells(line):
    """(character, foreground rgb, background rgb) for each character of a rich Text line."""
    styles = {span.start: span.style for span in line.spans if span.end == span.start + 1}
    return [(char, rgb(styles[index].color), rgb(styles[index].bgcolor)) for index, char in enumerate(line.plain)]


def test_two_pixel_rows_make_one_line_of_upper_half_blocks():
    lines = half_block_lines(known_image())
    assert len(lines) == 2
    assert cells(lines[0]) == [(UPPER_HALF, RED, BLUE), (UPPER_HALF, GREEN, WHITE)]
    # the odd last pixel row is drawn over the terminal's own background
    assert cells(lines[1]) == [(UPPER_HALF, WHITE, None), (UPPER_HALF, BLUE, None)]


def test_grid_fits_as_many_images_per_row_as_the_width_allows():
    images = np.zeros((5, 16, 16, 3), dtype=np.uint8)
    text = grid_text(images, width=40)  # 16 + 1 + 16 fits, a third image does not
    lines = text.plain.split("\n")
    image_lines = [line for line in lines if line]
    assert {len(line) for line in image_lines} == {33, 16}  # two rows of two, then one image
    assert len(image_lines) == 3 * 8 and len(lines) == 3 * 8 + 2  # 16 px = 8 lines; a blank line between rows


def test_large_images_are_block_averaged_down():
    image = np.zeros((32, 32, 3), dtype=np.uint8)
    image[0, 0] = (200, 200, 200)  # one bright pixel in the first 2x2 block
    small = shrink(image)
    assert small.shape == (16, 16, 3)
    assert tuple(small[0, 0]) == (50, 50, 50) and small[1:, 1:].max() == 0


def test_widget_draws_the_image_on_screen():
    class GridApp(App):
        def compose(self):
            grid = ImageGrid(id="grid")
            grid.images = known_image()[None]
            yield grid

    async def scenario():
        app = GridApp()
        async with app.run_test(size=(20, 4)) as pilot:
            await pilot.pause()
            strip = app.query_one(ImageGrid).render_line(0)
            drawn = [(seg.text, rgb(seg.style.color), rgb(seg.style.bgcolor)) for seg in strip if seg.text.strip()]
            return drawn

    drawn = asyncio.run(scenario())
    assert drawn[:2] == [(UPPER_HALF, RED, BLUE), (UPPER_HALF, GREEN, WHITE)]
