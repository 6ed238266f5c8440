"""The parts the transcript is drawn from: runs of rows that each render only what is seen.

Each entry of the model becomes a few parts. A part draws rows; it changes nothing of the
view it is drawn in (which outputs are clipped is asked of a part, `held_back`, when the
view is updated, never found out while drawing).
"""

from __future__ import annotations

from array import array
from bisect import bisect_right
from collections.abc import Callable, Iterable, Sequence
from itertools import accumulate
from typing import TYPE_CHECKING, Protocol

from rich.cells import chop_cells
from rich.console import RenderableType
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.cache import LRUCache
from textual.strip import Strip

from nbtui.app.kernel.model import StreamOutput
from nbtui.widgets.output_policy import clip_line

if TYPE_CHECKING:
    from nbtui.widgets.transcript_deferred import DeferredPart

__all__ = ["LAZY_ROWS", "Part", "PartHost", "RenderedPart", "StreamPart"]


class PartHost(Protocol):
    """What a part needs of the view that draws it."""

    line_cache: LRUCache[tuple[object, ...], list[Strip]]
    """Rendered stream lines, shared by every part."""
    line_limit: int
    """Characters of one line shown before its middle is held back."""

    def render_strips(self, renderable: RenderableType, width: int) -> list[Strip]:
        """`renderable` as rows of `width` columns."""
        ...

    def render_text(self, text: Text, width: int) -> list[Strip]:
        """`text` as rows of `width` columns, at least one."""
        ...

    def held_note(self, held: int, unit: str) -> Text:
        """The line saying how many `unit`s were held back."""
        ...

    def render_later(
        self, part: DeferredPart, make: Callable[[int], RenderableType], width: int
    ) -> None:
        """Lay `make(width)` out off the event loop, then hand the rows to `part.ready`."""
        ...


def _is_plain(text: str) -> bool:
    """ASCII with no colour codes and no tabs: every character is one cell, so rows can
    be counted and cut by length, without Rich."""
    return text.isascii() and "\x1b" not in text and "\t" not in text


def _measure(line: str, width: int) -> int:
    """Rows a plain or SGR-coloured line takes when wrapped at `width`."""
    if "\x1b" in line:
        line = Text.from_ansi(line).plain
    if "\t" in line:
        line = line.expandtabs()
    if line.isascii():
        return max(1, -(-len(line) // width))
    return max(1, len(chop_cells(line, width)))


def _wrap(text: Text, width: int) -> Text:
    """`text` broken into rows of `width` cells, as a terminal wraps program output.

    Rich's word wrapping would take more rows than `_measure` counts, and the last
    would be lost.
    """
    plain = text.plain
    if plain.isascii():
        offsets = list(range(width, len(plain), width))
    else:
        offsets = list(accumulate(len(row) for row in chop_cells(plain, width)))[:-1]
    if not offsets:
        return text
    wrapped = Text("\n").join(text.divide(offsets))
    wrapped.no_wrap = True
    return wrapped


class Part:
    """A run of rows in the transcript; subclasses know how to draw them."""

    key: object = None
    """What the part shows, when a later update may reuse it as it is (None: never)."""
    revision: int = 0
    """Changes when its rows change at the same width (a deferred layout arrived)."""

    def height(self, width: int) -> int:
        """Rows it takes at `width` columns."""
        raise NotImplementedError

    def strip(self, row: int, width: int) -> Strip:
        """Its row `row` (0 is its first) at `width` columns."""
        raise NotImplementedError

    @property
    def held_back(self) -> object | None:
        """The output it shows clipped (F10 opens it whole), or None."""
        return None


class RenderedPart(Part):
    """A small renderable drawn whole and cached per width (prompts, results, errors)."""

    def __init__(
        self,
        view: PartHost,
        make: Callable[[int], RenderableType],
        key: object = None,
        held: object | None = None,
    ) -> None:
        self._view = view
        self._held = held
        self._make = make
        self.key = key
        self._width = -1
        self._strips: list[Strip] = []

    def _render(self, width: int) -> list[Strip]:
        if width != self._width:
            self._strips = self._view.render_strips(self._make(width), width)
            self._width = width
        return self._strips

    @property
    def held_back(self) -> object | None:
        """The output it shows clipped, as its maker said, or None."""
        return self._held

    def height(self, width: int) -> int:
        """Rows it takes at `width` columns."""
        return len(self._render(width))

    def strip(self, row: int, width: int) -> Strip:
        """Row `row` of the part laid out at `width`."""
        return self._render(width)[row]


LAZY_ROWS = 8
"""A plain line longer than this many rows is cut into rows only as they are drawn."""


class _LazyRows:
    """A plain line's rows cut as they are drawn: `head`, then the `note` rows and the
    plain `tail` of a clipped line (None: not clipped)."""

    __slots__ = ("_head", "_head_rows", "_note", "_rows", "_style", "_tail", "_width")

    def __init__(
        self, head: str, note: list[Strip], tail: str | None, width: int, style: Style | None
    ) -> None:
        self._head = head
        self._note = note
        self._tail = tail
        self._width = width
        self._style = style
        self._head_rows = max(1, -(-len(head) // width))
        tail_rows = 0 if tail is None else max(1, -(-len(tail) // width))
        self._rows = self._head_rows + len(note) + tail_rows

    def __len__(self) -> int:
        return self._rows

    def _cut(self, text: str, row: int) -> Strip:
        piece = text[row * self._width : (row + 1) * self._width]
        return Strip([Segment(piece, self._style)], len(piece))

    def row(self, row: int) -> Strip:
        """Row `row` (0 is the line's first); blank past the last."""
        if row < self._head_rows:
            return self._cut(self._head, row)
        row -= self._head_rows
        if row < len(self._note):
            return self._note[row]
        row -= len(self._note)
        if self._tail is not None and row < self._rows - self._head_rows - len(self._note):
            return self._cut(self._tail, row)
        return Strip.blank(self._width)


class StreamPart(Part):
    """stdout or stderr: measured per line, each line rendered only when it is seen.

    A line longer than the view's `line_limit` shows its head and tail and how many
    characters were held back: a 5 MB line without a newline must not be rendered whole.
    """

    def __init__(self, view: PartHost, stream: StreamOutput, style: Style) -> None:
        self._view = view
        self.stream = stream
        self.key = ("stream", id(stream))
        self._style = style
        self._width = -1
        self._dropped = 0
        self._cum = array("q")
        """Row where each kept line ends, counted from the first line ever measured."""
        self._base = 0
        """Rows of lines trimmed from the front, subtracted from `_cum` on lookup."""
        self._scanned = 0
        """Lines ever received that were checked for length (`held_back`)."""
        self._long = False
        self._rows_drawn: LRUCache[tuple[int, int, int, int | None, int], Strip] = LRUCache(128)
        self._last_line: tuple[int, str] | None = None
        self._folds: LRUCache[tuple[int, int, int, int | None], _LazyRows | bool] = LRUCache(64)
        """Clipped lines laid out (False: drawn whole), by line, width and the line's
        length and `_version` (not the line: a growing megabyte line must not be kept)."""

    @property
    def held_back(self) -> object | None:
        """The stream, once one of its lines is longer than the view's `line_limit`."""
        stream = self.stream
        if not self._long:
            limit = self._view.line_limit
            first = max(0, self._scanned - stream.dropped)
            new = stream.lines[first:]
            self._scanned = stream.dropped + len(stream.lines)
            self._long = bool(new) and max(map(len, new)) > limit
            self._long = self._long or len(stream.visible_partial) > limit
        return stream if self._long else None

    def _rows(self, index: int, line: str, width: int) -> int:
        if len(line) > self._view.line_limit:
            folded = self._lazy(index, line, width)
            return len(folded) if folded else len(self._render(index, line, width))
        return _measure(line, width)

    def _lazy(self, index: int, line: str, width: int) -> _LazyRows | None:
        """The rows of a long plain line, or of a clipped one whose head and tail are
        plain, cut one at a time as they are drawn; None for a line drawn whole.

        A burst of megabyte lines lays out hundreds of rows a frame and shows a few:
        strips made for every row (each with its own caches) were most of a frame's
        work and of what the collector then walks.
        """
        if len(line) <= self._view.line_limit:
            if len(line) > width * LAZY_ROWS and _is_plain(line):
                return _LazyRows(line, [], None, width, self._style or None)
            return None
        key = (self.stream.dropped + index, width, len(line), self._version(index, line))
        folded = self._folds.get(key)
        if folded is None:
            clip = clip_line(line, self._view.line_limit)
            assert clip is not None
            head, held, tail = clip
            folded = False
            if _is_plain(head) and _is_plain(tail):
                note = self._view.render_text(self._view.held_note(held, "characters"), width)
                folded = _LazyRows(head, note, tail, width, self._style or None)
            self._folds[key] = folded
        return folded if isinstance(folded, _LazyRows) else None

    def _ends(self, first: int, lines: Sequence[str], width: int, end: int) -> Iterable[int]:
        """The row where each of `lines` ends (the first is line `first`), the rows before
        them ending at `end`.

        A flood is mostly short plain lines: checking a whole batch at once in C and
        counting one row each is what keeps a 100k-line chunk from costing a Python call
        per line on the thread that draws.
        """
        if (
            lines
            and max(map(len, lines)) <= min(width, self._view.line_limit)
            and _is_plain("".join(lines))
        ):
            return range(end + 1, end + 1 + len(lines))
        ends = accumulate(
            (self._rows(first + offset, line, width) for offset, line in enumerate(lines)),
            initial=end,
        )
        next(ends)  # `end` itself
        return ends

    def _sync(self, width: int) -> None:
        stream = self.stream
        if width != self._width:
            self._width = width
            self._dropped = stream.dropped
            self._cum = array("q", self._ends(0, stream.lines, width, 0))
            self._base = 0
            return
        trimmed = stream.dropped - self._dropped
        if trimmed:
            trimmed = min(trimmed, len(self._cum))
            if trimmed:
                self._base = self._cum[trimmed - 1]
                del self._cum[:trimmed]
            self._dropped = stream.dropped
        measured = len(self._cum)
        if measured < len(stream.lines):
            end = self._cum[-1] if self._cum else self._base
            self._cum.extend(self._ends(measured, stream.lines[measured:], width, end))

    def height(self, width: int) -> int:
        """Rows at `width` of the kept lines and the unfinished one, counted incrementally."""
        self._sync(width)
        rows = (self._cum[-1] - self._base) if self._cum else 0
        if self.stream.partial:
            lines = self.stream.lines
            rows += self._rows(len(lines), self.stream.visible_partial, width)
        return rows

    def line_at(self, row: int, width: int) -> int:
        """The kept line (its index; `len(lines)` for the unfinished one) that row `row`
        is part of."""
        self._sync(width)
        return bisect_right(self._cum, row + self._base)

    def line_row(self, index: int, width: int) -> int:
        """The row (0 is the part's first) where kept line `index` starts; the unfinished
        line is `len(lines)`."""
        self._sync(width)
        index = min(index, len(self._cum))
        return self._cum[index - 1] - self._base if index else 0

    def _version(self, index: int, line: str) -> int | None:
        """What tells versions of line `index` apart in a cache key beside its place and
        length: nothing for a kept line (it never changes: hashing a megabyte line for
        every new line and row was a frame's work), the hash of the unfinished one."""
        return None if index < len(self.stream.lines) else hash(line)

    def _line_text(self, index: int) -> str:
        stream = self.stream
        lines = stream.lines
        if index >= len(lines):
            return stream.visible_partial
        # Kept lines are made from the joined text when asked: a megabyte line drawn row
        # by row was copied and hashed (its cache keys) once per row, most of a frame.
        # A kept line never changes, so the last long one asked for is the same text.
        absolute = stream.dropped + index
        last = self._last_line
        if last is not None and last[0] == absolute:
            return last[1]
        line = lines[index]
        if len(line) > LAZY_ROWS * 64:
            self._last_line = (absolute, line)
        return line

    def strip(self, row: int, width: int) -> Strip:
        """Row `row`: only the line that holds it is cut into rows."""
        self._sync(width)
        absolute = row + self._base
        index = bisect_right(self._cum, absolute)
        start = self._cum[index - 1] - self._base if index else 0
        line = self._line_text(index)
        offset = row - start
        if len(line) > width * LAZY_ROWS:
            lazy = self._lazy(index, line, width)
            if lazy is not None:
                # The rows drawn are kept, a screenful or two of them: a strip kept from
                # frame to frame keeps the crops and styles each frame makes of it. Not in
                # the view's line cache: thousands of kept strips, each with its caches,
                # were most of what the collector's full passes walked.
                key = (
                    self.stream.dropped + index,
                    width,
                    len(line),
                    self._version(index, line),
                    offset,
                )
                strip = self._rows_drawn.get(key)
                if strip is None:
                    strip = self._rows_drawn[key] = lazy.row(offset)
                return strip
        strips = self._render(index, line, width)
        return strips[offset] if offset < len(strips) else Strip.blank(width)

    def _render(self, index: int, line: str, width: int) -> list[Strip]:
        clipped = len(line) > self._view.line_limit
        # A clipped line's key holds its version, not itself: the cache would otherwise
        # keep every version of a growing multi-megabyte last line alive.
        text_key: object = (len(line), self._version(index, line)) if clipped else line
        key = (id(self), self.stream.dropped + index, width, text_key)
        strips = self._view.line_cache.get(key)
        if strips is None:
            if clipped:
                strips = self._render_clipped(line, width)
            else:
                strips = self._render_line(line, width)
            self._view.line_cache[key] = strips
        return strips

    def _render_line(self, line: str, width: int) -> list[Strip]:
        if _is_plain(line):
            # A flood's every frame brings a screenful of new plain lines: cut them
            # into rows here, as Rich would, without Rich's general machinery.
            style = self._style or None
            rows = [line[start : start + width] for start in range(0, len(line), width)]
            strips = [Strip([Segment(row, style)], len(row)) for row in rows]
            return strips or [Strip([Segment("")], 0)]
        return self._view.render_text(_wrap(self._text(line), width), width)

    def _render_clipped(self, line: str, width: int) -> list[Strip]:
        clip = clip_line(line, self._view.line_limit)
        assert clip is not None
        head, held, tail = clip
        view = self._view
        # Head and tail take the plain path when they can: a burst of megabyte lines
        # brings a few new clipped lines every frame, each tens of rows through Rich.
        return [
            *self._render_line(head, width),
            *view.render_text(view.held_note(held, "characters"), width),
            *self._render_line(tail, width),
        ]

    def _text(self, line: str) -> Text:
        text = Text.from_ansi(line) if "\x1b" in line else Text(line)
        if "\t" in line:
            # Tab stops count what is shown, as `_measure` does, not the colour codes.
            text.expand_tabs()
        text.stylize(self._style)
        return text
