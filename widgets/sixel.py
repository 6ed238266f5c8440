"""Sixel pictures: drawn over each frame, where the transcript shows their cells.

Textual writes a frame from the text of its cells, a line or part of a line at a time,
from cached strips that it crops and composites; a sixel image spans many cells and rows,
and a frame that repaints some of them cannot carry it, nor crop it when it is partly
scrolled out (textual-image's own widget, one widget per picture, is no fit for the
transcript's one Line-API view). So a picture in sixel mode is laid out as blank cells
that carry a mark (a style's `meta`), and after each frame the app draws, at the place
the marked cells were written, one sixel image per cell row (`after_frame`). A row is
drawn again only when the frame wrote over its cells (text written over a sixel erases
it: seen in xterm, and foot's and st's sources say so) or the row moved: a picture keeps
its place while scrolling, a picture scrolled out is erased by the text written there,
and an idle screen writes nothing.

Encoding is off the event loop (one thread) and done once per picture and size: the
picture is scaled once, quantized once, and cut in bands one cell row high, so a picture
half scrolled out shows its visible rows without encoding anything again. The sixel text
is made from pixels (Pillow's decoding of the bundle's base64), never from the kernel's
bytes. textual-image's encoder (`textual_image._sixel`) does the encoding.
"""

from __future__ import annotations

import asyncio
import re
import weakref
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from rich.segment import Segment
from rich.style import Style

from nbtui.app.process import background_thread
from nbtui.widgets.graphics import graphics

if TYPE_CHECKING:
    from rich.console import RenderResult
    from textual.app import App
    from textual.geometry import Region
    from textual.strip import Strip
    from textual.widget import Widget

    from nbtui.widgets.images import Picture

__all__ = [
    "ROW_META",
    "SixelLayer",
    "draw_over",
    "encode_bands",
    "layer",
    "placeholder",
    "spans_written",
]

ROW_META = "nbtui-sixel"
"""The `meta` key that marks a picture's blank cells: (picture key, row)."""

KEPT_ENCODINGS = 64
"""Encoded pictures kept (by picture and size); a burst of plots holds no more."""

Key = tuple[int, int, int, int, int]
"""Picture key, columns, rows, cell width, cell height (pixels): one encoding each."""


@dataclass(frozen=True)
class _Row:
    """One row of a picture where a frame showed it."""

    x: int
    y: int
    columns: int
    right: int
    """The right edge of the widget that shows it (screen column)."""
    key: Key
    row: int


_pictures: weakref.WeakValueDictionary[int, Picture] = weakref.WeakValueDictionary()
_key_of: weakref.WeakKeyDictionary[Picture, int] = weakref.WeakKeyDictionary()
_next_key = [0]


def placeholder(picture: Picture, columns: int, rows: int) -> RenderResult:
    """The cells a picture takes in sixel mode: blank, each row marked for `after_frame`."""
    key = _key_of.get(picture)
    if key is None:
        _next_key[0] += 1
        key = _next_key[0]
        _key_of[picture] = key
        _pictures[key] = picture
    blank = " " * columns
    for row in range(rows):
        yield Segment(blank, Style(meta={ROW_META: (key, columns, rows, row)}))
        yield Segment.line()


def encode_bands(picture: Any, columns: int, rows: int, cell: tuple[int, int]) -> list[str]:
    """A decoded RGB picture as sixel images one cell row high, top to bottom.

    It is scaled once to fit `columns` x `rows` cells (keeping its proportions) and
    quantized once (up to 256 colours), then cut: rows below the scaled picture have no
    band (an empty string).
    """
    from PIL import Image  # noqa: PLC0415
    from textual_image._sixel import image_to_sixels  # noqa: PLC0415

    cell_width, cell_height = cell
    box_width, box_height = columns * cell_width, rows * cell_height
    scale = min(box_width / picture.width, box_height / picture.height)
    width = max(1, min(box_width, round(picture.width * scale)))
    height = max(1, min(box_height, round(picture.height * scale)))
    scaled = picture.resize((width, height), Image.Resampling.LANCZOS)
    indexed = scaled.quantize(colors=256, method=Image.Quantize.FASTOCTREE)
    bands = []
    for row in range(rows):
        top = row * cell_height
        if top >= height:
            bands.append("")
            continue
        band = indexed.crop((0, top, width, min(height, top + cell_height)))
        bands.append(_palette_first(image_to_sixels(band)))
    return bands


_DEFINITION = re.compile(r"(#\d+);2;\d+;\d+;\d+")


def _palette_first(sixel: str) -> str:
    """The sixel image with every colour defined before any pixel is drawn.

    textual-image 0.12 defines each colour where it is first used; xterm (379, as a
    VT340) then draws the rows before the last definition in the wrong colours (seen on
    screen). Defining the palette first, as libsixel does, draws right everywhere.
    """
    head, mark, body = sixel.partition("#")
    body = mark + body
    palette = "".join(match.group(0) for match in _DEFINITION.finditer(body))
    return head + palette + _DEFINITION.sub(r"\1", body)


@dataclass
class SixelLayer:
    """Where the transcript last showed picture rows, and which of them are on screen."""

    shown: dict[int, list[_Row]] = field(default_factory=dict)
    """Picture rows by screen line, as the widgets last rendered them."""
    drawn: dict[int, list[_Row]] = field(default_factory=dict)
    """Picture rows by screen line, as drawn on the terminal and not written over since."""
    bands: dict[Key, list[str] | None] = field(default_factory=dict)
    """Encoded rows by picture and size (None: being encoded)."""
    widget: Any = None
    """The widget that showed the rows last (it is asked to draw again after an encode)."""
    _executor: ThreadPoolExecutor | None = None

    def note(self, widget: Widget, crop: Region, lines: Iterable[Strip]) -> None:
        """A widget rendered `lines` (its rows from `crop.y`): remember its picture rows."""
        region = widget.region
        if not region:  # not on a screen (any more)
            return
        self.widget = widget
        if crop.y == 0 and crop.height >= region.height:
            # All of it: rows kept from a taller layout would be drawn where it no longer is.
            self.shown.clear()
        top = region.y + crop.y
        for y, strip in enumerate(lines, top):
            self.shown.pop(y, None)
            x = region.x + crop.x
            found = []
            for segment in strip:
                style = segment.style
                if style is not None and style._meta:
                    mark = style.meta.get(ROW_META)
                    if mark is not None:
                        key, columns, rows, row = mark
                        cell = graphics.cell
                        found.append(
                            _Row(x, y, columns, region.right, (key, columns, rows, *cell), row)
                        )
                x += segment.cell_length
            if found:
                self.shown[y] = found

    def after_frame(
        self,
        written: Callable[[int, int, int], bool],
        visible: Callable[[_Row], bool],
        write: Callable[[str], None],
    ) -> None:
        """Draw the picture rows that the frame just written wrote over or moved.

        Args:
            written: Whether the frame wrote line y from column x1 up to x2.
            visible: Whether nothing covers a row (a toast, a dialog).
            write: Writes to the terminal.
        """
        drawn: dict[int, list[_Row]] = {}
        out: list[str] = []
        for y, rows in self.shown.items():
            before = self.drawn.get(y, [])
            for shown in rows:
                keep = shown in before and not written(y, shown.x, shown.right)
                if not keep:
                    if not visible(shown):
                        continue
                    band = self._band(shown)
                    if band is None:
                        continue
                    if band:
                        out.append(f"\x1b[{y + 1};{shown.x + 1}H{band}")
                drawn.setdefault(y, []).append(shown)
        self.drawn = drawn
        if out:
            # Save and restore the cursor: the frame left it where the editor wants it.
            # One synchronized update (terminals without mode 2026 ignore it): the bands
            # appear at once, not row by row.
            write("\x1b[?2026h\x1b7" + "".join(out) + "\x1b8\x1b[?2026l")

    def _band(self, shown: _Row) -> str | None:
        """The row's sixel text; None while its picture is encoded (off the loop)."""
        if shown.key not in self.bands:
            self._encode(shown.key)
            return None
        bands = self.bands[shown.key]
        if bands is None:
            return None
        return bands[shown.row] if shown.row < len(bands) else ""

    def _encode(self, key: Key) -> None:
        picture = _pictures.get(key[0])
        if picture is None:
            self.bands[key] = []
            return
        self.bands[key] = None
        if self._executor is None:
            self._executor = ThreadPoolExecutor(
                1, thread_name_prefix="nbtui-sixel", initializer=background_thread
            )
        loop = asyncio.get_running_loop()
        widget = self.widget

        def encode() -> list[str]:
            if graphics.sink is None:  # the app has ended: exit does not wait for this
                return []
            decoded = picture.picture
            if decoded is None:
                return []
            return encode_bands(decoded, key[1], key[2], (key[3], key[4]))

        def done(future: Future[list[str]]) -> None:
            # Back on the loop: the layer is only ever touched there.
            loop.call_soon_threadsafe(self._encoded, key, future, widget)

        self._executor.submit(encode).add_done_callback(done)

    def _encoded(self, key: Key, future: Future[list[str]], widget: Any) -> None:
        try:
            self.bands[key] = future.result()
        except (ValueError, OSError, MemoryError):  # Pillow cannot scale it: blank
            self.bands[key] = []
        while len(self.bands) > KEPT_ENCODINGS:
            # The oldest first: a picture drawn again after this is encoded again.
            del self.bands[next(iter(self.bands))]
        # Drawn with the next frame that shows it: ask the widget for one.
        if widget is not None:
            widget.refresh()


layer = SixelLayer()
"""This process's sixel pictures (one app per process)."""


def spans_written(update: object) -> Callable[[int, int, int], bool]:
    """Whether a Textual compositor update wrote over line y from column x up to a
    widget's right edge: a full layout update writes everything; a partial one writes,
    on the lines of its spans, each widget's part of the line that a span touches, from
    that part's start (Textual's `ChopsUpdate.render_segments`)."""
    spans: list[tuple[int, int, int]] | None = getattr(update, "spans", None)
    if spans is None:
        return lambda y, x, right: True
    by_line: dict[int, list[tuple[int, int]]] = {}
    for y, start, end in spans:
        by_line.setdefault(y, []).append((start, end))

    def written(y: int, x: int, right: int) -> bool:
        return any(start < right and end > x for start, end in by_line.get(y, ()))

    return written


def draw_over(app: App[Any], update: object) -> None:
    """After Textual wrote the frame `update`: draw the picture rows it wrote over or
    moved, where no other widget covers them (a toast, the command palette).

    Called from the app's `_display`, Textual's private hook: its public one
    (`post_display_hook`) is not given the update, and only the update says which lines
    the frame wrote.
    """
    if graphics.mode != "sixel" or update is None or app._batch_count:
        return
    from textual.app import ScreenStackError  # noqa: PLC0415
    from textual.errors import NoWidget  # noqa: PLC0415

    write = graphics.sink
    widget = layer.widget
    if write is None or widget is None:
        return

    def visible(row: _Row) -> bool:
        last = row.x + row.columns - 1
        for x in [*range(row.x, last, 8), last]:
            try:
                found = app.screen.get_widget_at(x, row.y)[0]
            except (NoWidget, ScreenStackError):
                return False
            # Its own scrollbar may take the last column: the band goes over it.
            if found is not widget and found.parent is not widget:
                return False
        return True

    layer.after_frame(spans_written(update), visible, write)
