"""PNG and JPEG outputs drawn as half-block pictures (two pixels per terminal cell).

A terminal over SSH has no other way to show a plot. Pillow is imported only when a
picture is opened, so startup does not pay for it.
"""

from __future__ import annotations

import base64
import binascii
import io
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from rich.color import Color
from rich.measure import Measurement
from rich.segment import Segment
from rich.style import Style

if TYPE_CHECKING:
    from PIL.Image import Image as PILImage
    from rich.console import Console, ConsoleOptions, RenderResult

__all__ = ["KEPT_IMAGE_SIZE", "MAX_IMAGE_ROWS", "HalfBlockImage", "kept_size"]

MAX_IMAGE_ROWS = 60
"""A picture is never taller than this many terminal rows (two pixels each)."""

KEPT_IMAGE_SIZE = (1024, MAX_IMAGE_ROWS * 4)
"""A decoded picture is shrunk to fit this (pixels) at once: it is never drawn larger, and
a loop showing a hundred full-size plots must not hold or resample them whole."""


def _as_str(value: Any) -> str:
    """A bundle value as one string: nbformat allows a list of lines."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "".join(str(part) for part in value)
    return str(value)


def kept_size(size: tuple[int, int]) -> tuple[int, int]:
    """The size a picture of `size` pixels is kept at: shrunk to fit KEPT_IMAGE_SIZE."""
    width, height = max(1, size[0]), max(1, size[1])
    scale = min(1.0, KEPT_IMAGE_SIZE[0] / width, KEPT_IMAGE_SIZE[1] / height)
    return max(1, round(width * scale)), max(1, round(height * scale))


def _decode_image(value: Any) -> PILImage | None:
    """A base64 PNG or JPEG as an RGB picture at its kept size, or None when it fails."""
    from PIL import Image, UnidentifiedImageError  # noqa: PLC0415

    try:
        raw = base64.b64decode(_as_str(value).strip(), validate=False)
        with Image.open(io.BytesIO(raw)) as opened:
            size = kept_size(opened.size)
            # A JPEG decodes straight to a fraction of its size; other formats are shrunk
            # after decoding.
            opened.draft("RGB", size)
            opened.load()
            picture: PILImage = opened
            if picture.mode in ("RGBA", "LA") or "transparency" in picture.info:
                picture = picture.convert("RGBA")
                backdrop = Image.new("RGBA", picture.size, (0, 0, 0, 255))
                picture = Image.alpha_composite(backdrop, picture)
            picture = picture.convert("RGB")
            if picture.size != size:
                picture = picture.resize(size, Image.Resampling.LANCZOS)
            return picture
    except (
        binascii.Error,
        UnidentifiedImageError,
        OSError,
        ValueError,
        Image.DecompressionBombError,
    ):
        return None


class HalfBlockImage:
    """A picture drawn with upper-half blocks: two pixels per cell, foreground over background.

    Its size comes from the image's header, and it is decoded only when first drawn: the
    transcript lays out a burst of plots without decoding those never scrolled to. It is
    resampled when rendered, to the narrower of its width and the space given, so a pane
    that shrinks never wraps the picture.
    """

    def __init__(self, value: Any, size: tuple[int, int], width: int) -> None:
        self.value = value
        """The base64 PNG or JPEG, as the bundle holds it (not a copy of its bytes)."""
        self.size = kept_size(size)
        """The decoded picture's size in pixels, known before decoding."""
        self.width = max(1, width)
        """The widest it may be drawn, in terminal columns."""
        self._picture: PILImage | None = None
        self._decoded = False

    @classmethod
    def from_data(cls, value: Any, width: int) -> HalfBlockImage | None:
        """From a bundle's base64 value, reading only the header; None when Pillow is
        missing or cannot open it."""
        try:
            from PIL import Image, UnidentifiedImageError  # noqa: PLC0415
        except ImportError:
            return None
        try:
            raw = base64.b64decode(_as_str(value).strip(), validate=False)
            with Image.open(io.BytesIO(raw)) as opened:
                size = opened.size
        except (
            binascii.Error,
            UnidentifiedImageError,
            OSError,
            ValueError,
            Image.DecompressionBombError,
        ):
            return None
        return cls(value, size, width)

    @property
    def picture(self) -> PILImage | None:
        """The decoded RGB picture (decoded on first use); None if its data is broken."""
        if not self._decoded:
            self._picture = _decode_image(self.value)
            self._decoded = True
        return self._picture

    def rows(self, max_width: int) -> int:
        """Terminal rows it takes at `max_width` columns, without decoding it."""
        return self._size(max_width)[1] // 2

    def _size(self, max_width: int) -> tuple[int, int]:
        source_width, source_height = self.size
        columns = max(1, min(self.width, max_width, source_width))
        pixel_rows = max(1, round(source_height * columns / source_width))
        if pixel_rows > MAX_IMAGE_ROWS * 2:
            pixel_rows = MAX_IMAGE_ROWS * 2
            columns = max(1, min(columns, round(source_width * pixel_rows / source_height)))
        pixel_rows += pixel_rows % 2
        return columns, pixel_rows

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        columns, _ = self._size(options.max_width)
        return Measurement(columns, columns)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        from PIL import Image  # noqa: PLC0415

        columns, pixel_rows = self._size(options.max_width)
        picture = self.picture
        if picture is None:
            # Broken past its header: as many blank rows as were laid out.
            yield from [Segment(" " * columns), Segment.line()] * (pixel_rows // 2)
            return
        small = picture.resize((columns, pixel_rows), Image.Resampling.LANCZOS)
        pixels = small.load()
        assert pixels is not None
        newline = Segment.line()
        for row in range(0, pixel_rows, 2):
            for column in range(columns):
                top = pixels[column, row]
                bottom = pixels[column, row + 1]
                assert isinstance(top, tuple)
                assert isinstance(bottom, tuple)
                yield Segment("▀", Style.from_color(_rgb(top), _rgb(bottom)))
            yield newline


@lru_cache(maxsize=65_536)
def _rgb(pixel: tuple[int, ...]) -> Color:
    # Cached: Rich names each colour by formatting its hex, a cost paid per cell, while a
    # plot has few distinct colours.
    red, green, blue = pixel[:3]
    return Color.from_rgb(red, green, blue)
