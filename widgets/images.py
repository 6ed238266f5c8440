"""PNG and JPEG outputs drawn as pictures: kitty graphics, sixel, or half blocks.

Which one is `nbtui.widgets.graphics`'s choice for the terminal. Half blocks (two pixels
per terminal cell) work in any truecolor terminal, over SSH and in tmux. Every way lays a
picture out in the same cells, from its header, before it is decoded. Pillow and
textual-image are imported only when a picture is opened, so startup does not pay for them.
"""

from __future__ import annotations

import base64
import binascii
import importlib
import io
import os
import sys
import types
from collections.abc import Iterator
from functools import lru_cache
from itertools import count
from random import randint
from typing import TYPE_CHECKING, Any

from rich.color import Color
from rich.measure import Measurement
from rich.segment import Segment
from rich.style import Style

from nbtui.widgets.graphics import graphics, passthrough

if TYPE_CHECKING:
    from PIL.Image import Image as PILImage
    from rich.console import Console, ConsoleOptions, RenderResult

__all__ = ["KEPT_IMAGE_SIZE", "MAX_IMAGE_ROWS", "MAX_SENT_BASE64", "Picture", "kept_size"]

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


def _read_header(text: str) -> tuple[tuple[int, int], str] | None:
    """A base64 picture's size and format, from its first bytes when they hold the header
    (a burst of plots must not decode each one whole just to be laid out), else from the
    whole (a JPEG's header can lie past large metadata); None when it does not open."""
    from PIL import Image, UnidentifiedImageError  # noqa: PLC0415

    def sources() -> Iterator[str]:
        for length in _HEADER_BASE64:
            if len(text) > length:
                head = "".join(text[:length].split())
                yield head[: len(head) // 4 * 4]
        yield text.strip()

    for source in sources():
        try:
            raw = base64.b64decode(source, validate=False)
            with Image.open(io.BytesIO(raw)) as opened:
                return opened.size, opened.format or ""
        except (
            binascii.Error,
            UnidentifiedImageError,
            OSError,
            ValueError,
            SyntaxError,
            Image.DecompressionBombError,
        ):
            continue
    return None


class Picture:
    """A picture drawn the way the terminal can (`graphics.mode`), in cells laid out from
    its header: kitty graphics' placeholders, or upper-half blocks (two pixels per cell,
    foreground over background).

    It is decoded only when first drawn: the transcript lays out a burst of plots without
    decoding those never scrolled to (a PNG sent to kitty is not decoded at all: the
    terminal decodes it). It is drawn at the narrower of its width and the space given, so
    a pane that shrinks never wraps the picture.
    """

    def __init__(self, value: Any, size: tuple[int, int], width: int, kind: str = "") -> None:
        self.value = value
        """The base64 PNG or JPEG, as the bundle holds it (not a copy of its bytes)."""
        self.size = kept_size(size)
        """The decoded picture's size in pixels, known before decoding."""
        self.width = max(1, width)
        """The widest it may be drawn, in terminal columns."""
        self.kind = kind
        """Pillow's name for its format (PNG, JPEG), read from the header."""
        self._picture: PILImage | None = None
        self._decoded = False
        self._sent: dict[tuple[int, int], int] = {}
        """Kitty image ids already sent to the terminal, by placement size (cells)."""

    @classmethod
    def from_data(cls, value: Any, width: int) -> Picture | None:
        """From a bundle's base64 value, reading only the header; None when pictures are
        off, or Pillow is missing or cannot open it."""
        if graphics.mode == "off":
            return None
        try:
            header = _read_header(_as_str(value))
        except ImportError:  # no Pillow
            return None
        if header is None:
            return None
        size, kind = header
        return cls(value, size, width, kind)

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
        columns, pixel_rows = self._size(options.max_width)
        rows = pixel_rows // 2
        if graphics.mode == "kitty" and graphics.sink is not None:
            image_id = self._kitty_id(columns, rows)
            if image_id is not None:
                yield from _placeholders(image_id, columns, rows)
                return
        if graphics.mode == "sixel":
            from nbtui.widgets.sixel import placeholder  # noqa: PLC0415

            yield from placeholder(self, columns, rows)
            return
        yield from self._half_blocks(columns, pixel_rows)

    def _half_blocks(self, columns: int, pixel_rows: int) -> RenderResult:
        from PIL import Image  # noqa: PLC0415

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
            # A run of cells of one colour pair is one segment: a plot is mostly runs, and
            # every segment costs the frames that draw it.
            shown: Style | None = None
            run = 0
            for column in range(columns):
                top = pixels[column, row]
                bottom = pixels[column, row + 1]
                assert isinstance(top, tuple)
                assert isinstance(bottom, tuple)
                style = _pair(top, bottom)
                if style is shown:
                    run += 1
                    continue
                if run:
                    yield Segment("▀" * run, shown)
                shown, run = style, 1
            yield Segment("▀" * run, shown)
            yield newline

    def _png_base64(self) -> str | None:
        """The picture as base64 PNG for kitty: the bundle's own when it is a PNG of
        reasonable size (not decoded here at all), else the kept picture re-encoded."""
        if self.kind == "PNG":
            value = "".join(_as_str(self.value).split())
            if len(value) <= MAX_SENT_BASE64:
                return value
        picture = self.picture
        if picture is None:
            return None
        buffer = io.BytesIO()
        picture.save(buffer, "PNG")
        return base64.b64encode(buffer.getvalue()).decode("ascii")

    def _kitty_id(self, columns: int, rows: int) -> int | None:
        """The id of this picture in the terminal, placed at `columns` x `rows` cells:
        sent (through the app's writer, in order with the frames) on first use."""
        image_id = self._sent.get((columns, rows))
        if image_id is not None:
            return image_id
        payload = self._png_base64()
        sink = graphics.sink
        if payload is None or sink is None:
            return None
        image_id = next(_kitty_ids)
        self._sent[(columns, rows)] = image_id
        chunks = [payload[at : at + 4096] for at in range(0, len(payload), 4096)] or [""]
        for index, chunk in enumerate(chunks):
            more = 1 if index < len(chunks) - 1 else 0
            keys = f"i={image_id},f=100,q=2,m={more}" if index == 0 else f"m={more}"
            sink(passthrough(f"\x1b_G{keys};{chunk}\x1b\\"))
        # A virtual placement: the cells below (placeholders) show it, and move with them.
        sink(passthrough(f"\x1b_Ga=p,U=1,i={image_id},c={columns},r={rows},q=2\x1b\\"))
        return image_id


_HEADER_BASE64 = (4 * 1024, 64 * 1024)
"""Base64 characters read to find a picture's size, the fewer first: a PNG's size is in its
first 33 bytes, a JPEG's can follow tens of KB of metadata. Decoding 64 KB first took
0.45 ms a picture, 9 ms of a frame that took a burst's 20 plots in."""

MAX_SENT_BASE64 = 8 * 2**20
"""A PNG bigger than this (base64) is shrunk to its kept size before it goes to kitty:
over SSH, tens of MB a picture would hold the screen up."""

_kitty_ids = count(randint(1, 2**23))
"""Kitty image ids: random start, so that a second nbtui in the same terminal (or one
before it) does not replace our pictures; 24 bits, the foreground colour carries them."""


def _textual_image(name: str) -> Any:
    """textual-image's module `name` (`renderable.tgp`), imported without its
    `renderable` package's `__init__`, which queries the terminal when imported (a
    0.1 s timeout each when it does not answer, and the answer races Textual's input
    thread)."""
    if "textual_image.renderable" not in sys.modules:
        import textual_image  # noqa: PLC0415

        package = types.ModuleType("textual_image.renderable")
        package.__path__ = [os.path.join(os.path.dirname(textual_image.__file__), "renderable")]
        sys.modules["textual_image.renderable"] = package
    return importlib.import_module(f"textual_image.{name}")


def _placeholders(image_id: int, columns: int, rows: int) -> RenderResult:
    """Kitty's Unicode placeholders for a virtual placement: U+10EEEE with diacritics
    for its row and column, the image id in the foreground colour."""
    tgp = _textual_image("renderable.tgp")
    diacritics: list[int] = tgp._NUMBER_TO_DIACRITIC
    placeholder = chr(tgp._PLACEHOLDER)
    style = Style(color=Color.from_rgb(image_id >> 16 & 255, image_id >> 8 & 255, image_id & 255))
    columns = min(columns, len(diacritics))
    marks = [chr(mark) for mark in diacritics]
    for row in range(min(rows, len(diacritics))):
        yield Segment(
            "".join(placeholder + marks[row] + marks[column] for column in range(columns)), style
        )
        yield Segment.line()


@lru_cache(maxsize=65_536)
def _pair(top: tuple[int, ...], bottom: tuple[int, ...]) -> Style:
    """The style of a cell whose upper half is `top` and lower half `bottom` (cached: one
    object per pair, so that runs are found by identity)."""
    return Style.from_color(_rgb(top), _rgb(bottom))


@lru_cache(maxsize=65_536)
def _rgb(pixel: tuple[int, ...]) -> Color:
    # Cached: Rich names each colour by formatting its hex, a cost paid per cell, while a
    # plot has few distinct colours.
    red, green, blue = pixel[:3]
    return Color.from_rgb(red, green, blue)
