"""The transcript's search, on screen: where each match is drawn and how it is marked.

`nbtui.app.kernel.search` finds the matches in lines; this turns the transcript's parts
into its sources (a stream's kept lines, a rendered part's rows) and a match back into
the rows and cells it covers. The view asks for the marks of a row only when it draws
it, and an entry's marks are worked out once per layout.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from rich.cells import cell_len, chop_cells
from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip

from nbtui.app.kernel.model import Entry
from nbtui.app.kernel.search import Hit, Query, SearchIndex, Source, shown_text
from nbtui.widgets.transcript_deferred import ImagePart
from nbtui.widgets.transcript_parts import Part, StreamPart

__all__ = ["Mark", "SearchState", "mark_strip"]

Mark = tuple[int, int, bool]
"""A marked run of one row: first cell, cell after the last, whether it is the current
match."""


def mark_strip(strip: Strip, marks: Sequence[Mark], match: Style, current: Style) -> Strip:
    """`strip` with the cells of each mark in `match` (or `current`) style, over the
    colours it had."""
    cuts = sorted({cut for start, end, _ in marks for cut in (start, end)} | {strip.cell_length})
    pieces = strip.divide(cuts)
    segments: list[Segment] = []
    position = 0
    for piece, cut in zip(pieces, cuts, strict=False):
        style = None
        for start, end, is_current in marks:
            if start <= position < end:
                style = current if is_current else match
                break
        if style is None:
            segments.extend(piece)
        else:
            segments.extend(Segment.apply_style(list(piece), post_style=style))
        position = cut
    return Strip(segments, strip.cell_length)


def _rows_of_line(line: str, width: int, start: int, end: int) -> list[tuple[int, int, int]]:
    """The (row within the line, first cell, cell after) that characters `start:end` of
    `line` (as shown) cover when it is wrapped at `width`, as the stream part wraps it."""
    if line.isascii():
        rows = []
        position = start
        while position < end:
            row, column = divmod(position, width)
            stop = min(end, (row + 1) * width)
            rows.append((row, column, column + stop - position))
            position = stop
        return rows
    rows = []
    offset = 0
    for row, piece in enumerate(chop_cells(line, width) or [""]):
        piece_end = offset + len(piece)
        if piece_end > start and offset < end:
            lo, hi = max(start, offset) - offset, min(end, piece_end) - offset
            rows.append((row, cell_len(piece[:lo]), cell_len(piece[:hi])))
        offset = piece_end
    return rows


@dataclass
class _Place:
    entry: Entry
    index: int
    """The part's position among its entry's parts."""


class SearchState:
    """An open search: the query, its matches in the view's order, the current one, and
    where the reader was when it opened (Escape returns there)."""

    def __init__(self, origin: tuple[float, bool]) -> None:
        self.index = SearchIndex()
        self.origin = origin
        """(scroll_y, following) when the search opened."""
        self.hits: list[Hit] = []
        self.current: int | None = None
        self._places: dict[int, _Place] = {}
        self._by_line: dict[tuple[int, int], list[int]] = {}
        """(part id, line) to the numbers of the matches on that line."""

    @property
    def query(self) -> Query:
        """What is looked for."""
        return self.index.query

    def status(self) -> str:
        """`3 of 17`, `no matches`, or why the query cannot be searched."""
        if self.index.error:
            return self.index.error
        if not self.query.text:
            return ""
        total = f"{len(self.hits):,}{'+' if self.index.more else ''}"
        if not self.hits:
            return "no matches"
        if self.current is None:
            return f"{total} matches"
        return f"{self.current + 1:,} of {total}"

    def sources(
        self, entries: Sequence[Entry], parts_of: Callable[[Entry], list[Part]], width: int
    ) -> list[Source]:
        """The view's parts as sources, in drawing order; pictures are not searched."""
        sources: list[Source] = []
        places: dict[int, _Place] = {}
        for entry in entries:
            for index, part in enumerate(parts_of(entry)):
                if isinstance(part, ImagePart):
                    continue
                if isinstance(part, StreamPart):
                    stream = part.stream
                    source = Source(part, stream.lines, stream.dropped, stream.visible_partial)
                else:
                    source = Source(part, _rows_reader(part, width), version=(width, part.revision))
                sources.append(source)
                places[id(part)] = _Place(entry, index)
        self._places = places
        return sources

    def update(self, sources: list[Source]) -> None:
        """Search again (new query or new output), keeping the current match if it is
        still there."""
        kept = self.hits[self.current] if self.current is not None else None
        hits = self.index.search(sources)
        if hits == self.hits:
            return  # the same matches (the index reuses them): a flood past them costs this
        self.hits = hits
        self._by_line = {}
        for number, hit in enumerate(hits):
            self._by_line.setdefault((id(hit.owner), hit.line), []).append(number)
        if kept is None or not hits:
            self.current = None
            return
        same = [n for n in self._by_line.get((id(kept.owner), kept.line), []) if hits[n] == kept]
        self.current = same[0] if same else min(self.current or 0, len(hits) - 1)

    def place_of(self, hit: Hit) -> tuple[Entry, int]:
        """The entry a match is in, and its part's position there."""
        place = self._places[id(hit.owner)]
        return place.entry, place.index

    def rows_of(
        self, hit: Hit, part_row: int, width: int, line_limit: int
    ) -> list[tuple[int, int, int]]:
        """(row, first cell, cell after) the match covers; `part_row` is its part's first row."""
        part = hit.owner
        if isinstance(part, StreamPart):
            index = hit.line - part.stream.dropped
            lines = part.stream.lines
            text = lines[index] if index < len(lines) else part.stream.visible_partial
            first = part_row + part.line_row(index, width)
            if len(text) > line_limit:
                return [(first, 0, 0)]  # clipped: its row is found, not marked
            return [
                (first + row, start, end)
                for row, start, end in _rows_of_line(shown_text(text), width, hit.start, hit.end)
            ]
        assert isinstance(part, Part)
        text = _row_text(part, hit.line, width)
        return [(part_row + hit.line, cell_len(text[: hit.start]), cell_len(text[: hit.end]))]

    def marks(self, part: Part, row: int, width: int, line_limit: int) -> list[Mark]:
        """The marks on row `row` of `part`: only the matches on the line drawn there are
        looked at, so a row costs the same with ten matches or ten thousand."""
        if isinstance(part, StreamPart):
            index = part.line_at(row, width)
            numbers = self._by_line.get((id(part), part.stream.dropped + index))
        else:
            numbers = self._by_line.get((id(part), row))
        if not numbers:
            return []
        marks: list[Mark] = []
        for number in numbers:
            for at, start, end in self.rows_of(self.hits[number], 0, width, line_limit):
                if at == row and end > start:
                    marks.append((start, end, number == self.current))
        return marks


def _row_text(part: Part, row: int, width: int) -> str:
    return "".join(segment.text for segment in part.strip(row, width))


def _rows_reader(part: Part, width: int) -> Callable[[], list[str]]:
    return lambda: [_row_text(part, row, width) for row in range(part.height(width))]
