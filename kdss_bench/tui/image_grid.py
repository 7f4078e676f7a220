"""Synthetic images drawn in the terminal with half blocks.

One character cell shows two pixels stacked vertically: ``▀`` with the foreground colour of the
upper pixel and the background colour of the lower one, so an R x R image takes R columns and
R/2 rows and needs no terminal graphics protocol. Large images are shrunk by block averaging
so that a few dozen still fit on screen.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from rich.color import Color
from rich.style import Style
from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

UPPER_HALF = "▀"
MAX_SIDE = 16
"""Images larger than this (in pixels) are shrunk to fit: 16 px is 16 columns by 8 rows."""


def shrink(image: np.ndarray, max_side: int = MAX_SIDE) -> np.ndarray:
    """Block-averages an (R, R, 3) uint8 image so that its side is at most ``max_side``."""
    side = max(image.shape[0], image.shape[1])
    factor = -(-side // max_side)  # ceil
    if factor <= 1:
        return image
    height, width = image.shape[0] // factor * factor, image.shape[1] // factor * factor
    blocks = image[:height, :width].reshape(height // factor, factor, width // factor, factor, 3)
    return blocks.mean(axis=(1, 3)).round().astype(np.uint8)


def half_block_lines(image: np.ndarray) -> list[Text]:
    """One ``Text`` per pair of pixel rows; an odd last row is drawn over the default background."""
    pixels = np.asarray(image, dtype=np.uint8)
    lines = []
    for top in range(0, pixels.shape[0], 2):
        line = Text(no_wrap=True, end="")
        for column in range(pixels.shape[1]):
            upper = _color(pixels[top, column])
            lower = _color(pixels[top + 1, column]) if top + 1 < pixels.shape[0] else None
            line.append(UPPER_HALF, Style(color=upper, bgcolor=lower))
        lines.append(line)
    return lines


def grid_text(images: np.ndarray, width: int, gap: int = 1, max_side: int = MAX_SIDE) -> Text:
    """Images (k, R, R, 3) laid out left to right in as many columns as ``width`` allows."""
    tiles = [half_block_lines(shrink(image, max_side)) for image in images]
    if not tiles:
        return Text("")
    tile_width = max(line.cell_len for tile in tiles for line in tile)
    tile_height = max(len(tile) for tile in tiles)
    per_row = max(1, (width + gap) // (tile_width + gap))
    out = Text(no_wrap=True, end="")
    for first in range(0, len(tiles), per_row):
        row = tiles[first:first + per_row]
        for line_index in range(tile_height):
            if first or line_index:
                out.append("\n")
            for position, tile in enumerate(row):
                if position:
                    out.append(" " * gap)
                line = tile[line_index] if line_index < len(tile) else Text(" " * tile_width)
                out.append_text(line)
        if first + per_row < len(tiles):
            out.append("\n")  # a blank line between rows of images
    return out


def _color(pixel: Any) -> Color:
    red, green, blue = (int(value) for value in pixel[:3])
    return Color.from_rgb(red, green, blue)


class ImageGrid(Widget):
    """A grid of preview images, re-laid out to the widget's width; empty text when there are none."""

    DEFAULT_CSS = """
    ImageGrid { height: auto; width: 1fr; }
    """

    images: reactive[np.ndarray | None] = reactive(None, layout=True, always_update=True)

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._cache: tuple[int, int, Text] | None = None

    def _grid(self, width: int) -> Text:
        if self.images is None or len(self.images) == 0:
            return Text("no preview images yet (methods write them while they distil)", style="dim")
        width = max(1, width)
        if self._cache is None or self._cache[:2] != (id(self.images), width):
            self._cache = (id(self.images), width, grid_text(self.images, width))
        return self._cache[2]

    def watch_images(self) -> None:
        self._cache = None

    def render(self) -> Text:
        return self._grid(self.size.width)

    def get_content_height(self, container, viewport, width: int) -> int:
        return len(self._grid(width).split("\n"))
