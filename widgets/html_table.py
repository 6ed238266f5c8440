"""HTML tables as terminal text: the cells the parser collects, and their layout.

:mod:`nbtui.widgets.html_text` parses the document and fills an :class:`HtmlTable` as
its tags go by; :func:`table_view` then makes the table a :class:`TableView`, laid out
for whatever width it is drawn at: as many columns as fit (the rest counted, as pandas
does), numbers to the right. Pure: nothing here touches a console but to measure.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from rich import box
from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, RenderableType, RenderResult
from rich.measure import Measurement
from rich.style import Style
from rich.table import Table
from rich.text import Text

__all__ = [
    "MAX_FIT_WIDTH",
    "MAX_SPAN",
    "HtmlRow",
    "HtmlTable",
    "TableView",
    "TextBuffer",
    "cell_span",
    "table_view",
]

MAX_SPAN = 64
"""The largest colspan or rowspan honoured: a hostile `colspan=1000000` must not make a
million cells."""

_NUMBER = re.compile(r"[-+]?(?:[\d,_ ]*\.?\d[\d,_]*(?:[eE][-+]?\d+)?%?|nan|NaN|inf|-inf|<NA>|NaT)")
_DIM = Style(dim=True)


class TextBuffer:
    """Text being gathered (a paragraph, a cell, a caption), knowing its last character
    without joining it: `Text.plain` copies the whole text on each call."""

    def __init__(self) -> None:
        self.text = Text()
        self.last = ""

    def append(self, text: str, style: Style | None = None) -> None:
        """Add `text` in `style` (none: the text's own)."""
        if text:
            self.text.append(text, style)
            self.last = text[-1]

    def newline(self) -> None:
        """End the current line, unless it is empty."""
        if self.last not in ("", "\n"):
            self.append("\n")


@dataclass
class HtmlRow:
    """One row of a table as the parser collected it."""

    cells: list[Text] = field(default_factory=list)
    header: bool = False
    """In a `<thead>`, or (decided when the table ends) a first row of `<th>` cells."""
    th_only: bool = True
    marker: bool = False
    """Stands for the rows held back."""


@dataclass
class HtmlTable:
    """A table being collected: its rows, and the row and cell open now."""

    rows: list[HtmlRow] = field(default_factory=list)
    caption: TextBuffer = field(default_factory=TextBuffer)
    note: RenderableType | None = None
    in_head: bool = False
    row: HtmlRow | None = None
    cell: TextBuffer | None = None
    cell_is_th: bool = False
    cell_span: tuple[int, int] = (1, 1)
    spans: dict[int, int] = field(default_factory=dict)
    """Column to how many more rows a rowspan above still covers."""

    def end_cell(self, max_chars: int) -> bool:
        """Close the open cell into the open row, spanning as its colspan and rowspan say.

        Returns:
            Whether the cell was cut to `max_chars` characters.
        """
        buffer = self.cell
        row = self.row
        if buffer is None or row is None:
            return False
        self.cell = None
        cell = buffer.text
        cell.rstrip()
        self.fill_spans(row)
        clipped = len(cell) > max_chars
        if clipped:
            cell = cell[:max_chars] + Text("…", style=_DIM)
        if self.cell_is_th:
            cell.stylize(Style(bold=True))
        else:
            row.th_only = False
        colspan, rowspan = self.cell_span
        for offset in range(colspan):
            if rowspan > 1:
                self.spans[len(row.cells)] = rowspan - 1
            row.cells.append(cell if offset == 0 else Text(""))
        return clipped

    def fill_spans(self, row: HtmlRow) -> None:
        """Empty cells where a rowspan from above covers the next column."""
        while self.spans.get(len(row.cells), 0) > 0:
            self.spans[len(row.cells)] -= 1
            row.cells.append(Text(""))

    def end_row(self, max_chars: int) -> bool:
        """Close the open cell and row; a row with cells joins the table.

        Returns:
            Whether the cell was cut to `max_chars` characters.
        """
        clipped = self.end_cell(max_chars)
        row = self.row
        if row is None:
            return clipped
        self.row = None
        if row.cells:
            self.fill_spans(row)
            self.rows.append(row)
        return clipped


def cell_span(value: str | None) -> int:
    """A colspan or rowspan attribute as a count: 1 when absent or not a number, at most
    `MAX_SPAN`."""
    try:
        return max(1, min(MAX_SPAN, int(value or 1)))
    except ValueError:
        return 1


def _numeric(cells: list[Text]) -> bool:
    filled = [cell.plain.strip() for cell in cells if cell.plain.strip()]
    return bool(filled) and all(_NUMBER.fullmatch(text) for text in filled)


def table_view(table: HtmlTable) -> RenderableType:
    """The rows as a `TableView`: the leading header rows as its header."""
    rows = table.rows
    if not rows:
        return Text("")
    if not any(row.header for row in rows) and len(rows) > 1:
        rows[0].header = rows[0].th_only
    count = 0
    while count < len(rows) and rows[count].header and not rows[count].marker:
        count += 1
    caption = table.caption.text
    caption.rstrip()
    return TableView(rows[:count], rows[count:], caption)


MAX_FIT_WIDTH = 40
"""A column counts as at most this wide when deciding how many columns fit: a column of
long text wraps, and need not push the others off the screen."""


class TableView:
    """A table laid out for the width it is given: as many columns as fit (the rest
    counted in a last column, as pandas does), numbers to the right.

    A table whose cells are single lines that fit is drawn row by row directly: Rich's
    `Table` measures and wraps every cell, which for a few hundred rows is most of a
    second; other tables are Rich's."""

    def __init__(self, headers: list[HtmlRow], body: list[HtmlRow], caption: Text) -> None:
        self.body = body
        self.caption = caption
        total = max((len(row.cells) for row in [*headers, *body]), default=0)
        newline = Text("\n")
        self.headers = [
            newline.join(row.cells[column] for row in headers if column < len(row.cells))
            for column in range(total)
        ]
        self.show_header = bool(headers)
        self.widths = [
            max(
                (_cell_width(row.cells[column]) for row in body if column < len(row.cells)),
                default=0,
            )
            for column in range(total)
        ]
        if headers:
            self.widths = [
                max(width, _cell_width(self.headers[column]))
                for column, width in enumerate(self.widths)
            ]
        self.right = [
            _numeric([row.cells[column] for row in body if column < len(row.cells)])
            for column in range(total)
        ]
        self.simple = all("\n" not in cell.plain for row in body for cell in row.cells)

    def _fitting(self, width: int) -> int:
        """How many columns fit in `width` (at least one), leaving room for the column
        that counts the others."""
        total = len(self.widths)
        used = -1
        for column, natural in enumerate(self.widths):
            used += min(natural, MAX_FIT_WIDTH) + 3
            room = width - (0 if column == total - 1 else len(f"… {total} more") + 3)
            if used > room:
                return max(1, column)
        return total

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        width = options.max_width
        shown = self._fitting(width)
        more = len(self.widths) - shown
        label = len(f"… {more} more") if more else None
        if self.simple and _spread([*self.widths[:shown], *([label] if label else [])]) <= width:
            yield from self._direct(shown, more)
        else:
            yield self._rich(shown, more)

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        return Measurement(1, options.max_width)

    def _cells(self, row: HtmlRow, shown: int, more: int) -> list[Text]:
        if row.marker:
            return [Text("…", style=_DIM)] * (shown + (1 if more else 0))
        cells = row.cells[:shown]
        return cells + [Text("")] * (shown - len(cells)) + ([Text("…", style=_DIM)] if more else [])

    def _rich(self, shown: int, more: int) -> Table:
        out = Table(
            box=box.SIMPLE_HEAD,
            show_header=self.show_header,
            header_style=Style(bold=True),
            title=self.caption if self.caption.plain else None,
            show_edge=False,
            expand=False,
        )
        for column in range(shown):
            out.add_column(
                self.headers[column],
                justify="right" if self.right[column] else "left",
                overflow="fold",
            )
        if more:
            out.add_column(Text(f"… {more} more", style=_DIM), no_wrap=True)
        for row in self.body:
            out.add_row(*self._cells(row, shown, more))
        return out

    def _direct(self, shown: int, more: int) -> Iterator[Text]:
        widths = self.widths[:shown]
        right = self.right[:shown]
        if more:
            label = Text(f"… {more} more", style=_DIM)
            widths = [*widths, label.cell_len]
            right = [*right, False]
        total = _spread(widths)
        if self.caption.plain:
            caption = self.caption.copy()
            caption.no_wrap = True
            caption.overflow = "ellipsis"
            if caption.cell_len < total:
                caption.align("center", total)
            yield caption

        def line(cells: list[Text], style: Style | None = None) -> Text:
            out = Text(no_wrap=True, overflow="crop", end="\n")
            for column, cell in enumerate(cells):
                pad = widths[column] - cell.cell_len
                out.append(" " + " " * pad if right[column] else " ")
                out.append_text(cell)
                out.append(" " if right[column] else " " * pad + " ")
                if column < len(cells) - 1:
                    out.append(" ")
            if style is not None:
                out.stylize(style)
            out.rstrip()
            return out

        if self.show_header:
            heads = [*self.headers[:shown], *([label] if more else [])]
            split = [head.split("\n", allow_blank=True) for head in heads]
            height = max(len(lines) for lines in split)
            for index in range(height):
                # Header rows line up at the bottom, as Rich's table aligns them.
                offset = [index - (height - len(lines)) for lines in split]
                yield line(
                    [
                        lines[at] if at >= 0 else Text("")
                        for lines, at in zip(split, offset, strict=True)
                    ],
                    Style(bold=True),
                )
            yield Text("─" * total, no_wrap=True, overflow="crop", end="\n")
        for row in self.body:
            yield line(self._cells(row, shown, more))


def _spread(widths: list[int]) -> int:
    """Columns a row of cells this wide takes: a space either side of each, and one
    between (Rich's SIMPLE_HEAD box without its edges)."""
    return sum(widths) + 3 * len(widths) - 1


def _cell_width(cell: Text) -> int:
    return max((cell_len(line) for line in cell.plain.split("\n")), default=0)
