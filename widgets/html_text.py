"""HTML from a kernel as terminal text: what a bundle with only HTML (an `HTML(...)`
object, a pandas Styler, `df.to_html()`) looks like without a browser.

Only what reads well as text is kept: tables (as a Rich `Table`), paragraphs, headings,
lists, links (their text and URL, never an OSC 8 hyperlink), preformatted text, line
breaks, bold and italic. Scripts, styles and what only a browser can draw are dropped.
The standard library's parser decodes entities, and every piece of text is sanitized
after decoding: `&#27;` is an escape like any other. Pure: the caller lays out what this
returns, so nothing here touches a console.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser

from rich import box
from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.measure import Measurement
from rich.padding import Padding
from rich.rule import Rule
from rich.style import Style
from rich.table import Table
from rich.text import Text

from nbtui.app.kernel.sanitize import sanitize

__all__ = ["HeldNote", "clip_points", "render_html"]

HeldNote = Callable[[int, str], RenderableType]
"""Makes the line that says how much was held back: (count, unit) to a renderable."""

MAX_SPAN = 64
"""The largest colspan or rowspan honoured: a hostile `colspan=1000000` must not make a
million cells."""

_SGR = re.compile(r"\x1b\[[0-9;:]*m")
_SPACE = re.compile(r"[ \t\n\r\f\v]+")
_NUMBER = re.compile(r"[-+]?(?:[\d,_ ]*\.?\d[\d,_]*(?:[eE][-+]?\d+)?%?|nan|NaN|inf|-inf|<NA>|NaT)")
_BOUNDARY = re.compile(r"<(?:tr|li|p|div|br|h[1-6]|dt|dd|pre|blockquote|table|hr)[\s/>]")
"""Where a block or a table row starts (in lower case): where a long document may be cut."""
_TAG = re.compile(r"<[A-Za-z]")

TAGS_PER_BLOCK = 50
"""A document with few blocks is cut at any tag once it has this many tags per block it
may keep (parsing costs per tag, inline ones too); `max_blocks` tags are kept then."""

_DIM = Style(dim=True)
_INLINE = {
    "b": Style(bold=True),
    "strong": Style(bold=True),
    "i": Style(italic=True),
    "em": Style(italic=True),
    "cite": Style(italic=True),
    "var": Style(italic=True),
    "dfn": Style(italic=True),
    "u": Style(underline=True),
    "ins": Style(underline=True),
    "s": Style(strike=True),
    "del": Style(strike=True),
    "strike": Style(strike=True),
    "a": Style(underline=True),
}
_HEADINGS = {
    "h1": Style(bold=True, underline=True),
    "h2": Style(bold=True),
    "h3": Style(bold=True),
    "h4": Style(bold=True, italic=True),
    "h5": Style(italic=True),
    "h6": Style(italic=True),
}
_DROPPED = frozenset({"script", "style", "title", "template", "svg", "noscript", "iframe"})
"""Elements whose content is code, or only a browser's to draw."""
_BLOCKS = frozenset(
    {
        "div", "section", "article", "header", "footer", "main", "nav", "aside",
        "figure", "figcaption", "details", "summary", "address", "dl", "dt", "dd",
        "form", "fieldset", "center", "body", "html",
    }
)  # fmt: skip


def _clean(text: str) -> str:
    """Decoded text with every escape (SGR too) and control but newline and tab removed."""
    return _SGR.sub("", sanitize(text))


def _default_note(held: int, unit: str) -> RenderableType:
    return Text(f"… {held:,} {unit} held back", style=_DIM)


def clip_points(source: str, max_blocks: int) -> tuple[int, int, int, str] | None:
    """Where to cut the middle out of a long document, before it is parsed.

    Parsing and laying out cost per element (a 100,000-row table: seconds of both), so
    a document with more than `max_blocks` block starts (table rows, paragraphs, list
    items, line breaks) keeps its first and last ones only. Each cut is at a tag's `<`,
    so the parser resumes after it as if the middle had never been there.

    Returns:
        (where the head ends, where the tail starts, how many blocks lie between, their
        unit: "table rows", "blocks" or "tags"); None when it fits.
    """
    tags = source.count("<")
    if tags <= max_blocks:
        return None
    lowered = source.lower()
    marks = [mark.start() for mark in _BOUNDARY.finditer(lowered)]
    unit = "blocks"
    if len(marks) <= max_blocks:
        # Few blocks, but maybe a flood of inline tags (a coloured log as spans in one
        # <pre>): past TAGS_PER_BLOCK times the limit, cut at any tag.
        if tags <= max_blocks * TAGS_PER_BLOCK:
            return None
        marks = [mark.start() for mark in _TAG.finditer(source)]
        unit = "tags"
        if len(marks) <= max_blocks * TAGS_PER_BLOCK:
            return None
    head = (max_blocks + 1) // 2
    resume = len(marks) - (max_blocks - head)
    held = resume - head
    start = marks[head]
    end = marks[resume] if resume < len(marks) else len(source)
    if unit == "blocks" and lowered.count("<tr", start, end) == held:
        unit = "table rows"
    return start, end, held, unit


class _Buffer:
    """Text being gathered (a paragraph, a cell, a caption), knowing its last character
    without joining it: `Text.plain` copies the whole text on each call."""

    def __init__(self) -> None:
        self.text = Text()
        self.last = ""

    def append(self, text: str, style: Style | None = None) -> None:
        if text:
            self.text.append(text, style)
            self.last = text[-1]

    def newline(self) -> None:
        """End the current line, unless it is empty."""
        if self.last not in ("", "\n"):
            self.append("\n")


@dataclass
class _Row:
    cells: list[Text] = field(default_factory=list)
    header: bool = False
    """In a `<thead>`, or (decided when the table ends) a first row of `<th>` cells."""
    th_only: bool = True
    marker: bool = False
    """Stands for the rows held back."""


@dataclass
class _Table:
    rows: list[_Row] = field(default_factory=list)
    caption: _Buffer = field(default_factory=_Buffer)
    note: RenderableType | None = None
    in_head: bool = False
    row: _Row | None = None
    cell: _Buffer | None = None
    cell_is_th: bool = False
    cell_span: tuple[int, int] = (1, 1)
    spans: dict[int, int] = field(default_factory=dict)
    """Column to how many more rows a rowspan above still covers."""


_TABLE_TAGS = frozenset({"table", "caption", "thead", "tbody", "tfoot", "tr", "td", "th"})
_LISTS = frozenset({"ul", "ol", "menu"})


class _Converter(HTMLParser):
    """Builds renderables as the parser goes: `feed` it, then `finish`."""

    def __init__(self, max_lines: int, max_chars: int, note: HeldNote) -> None:
        super().__init__(convert_charrefs=True)
        self.max_lines = max_lines
        self.max_chars = max_chars
        self.note = note
        self.clipped = False
        """Something was held back."""
        self.blocks: list[RenderableType] = []
        self._line = _Buffer()
        self._styles: list[tuple[str, Style]] = []
        self._skip = 0
        self._pre = 0
        self._gap = False
        """A blank line is due before the next block."""
        self._lists: list[list[int]] = []
        """Per open list: [1 if ordered else 0, items so far]."""
        self._bullet = ""
        self._quote = 0
        self._links: list[tuple[str, list[str]]] = []
        """Per open link: its URL and its text so far."""
        self._table: _Table | None = None
        self._table_depth = 0
        self._caption = False

    # -- where text goes ---------------------------------------------------------------

    def _target(self) -> _Buffer | None:
        table = self._table
        if table is None:
            return self._line
        if self._caption:
            return table.caption
        # Text between a table's tags but outside its cells (whitespace, mostly) is
        # dropped, as a browser moves it out; a nested table's text joins the outer cell.
        return table.cell

    def _style(self) -> Style:
        style = Style()
        for _, each in self._styles:
            style += each
        return style

    def _append(self, text: str, style: Style | None = None) -> None:
        target = self._target()
        if target is None or not text:
            return
        if not self._pre:
            text = _SPACE.sub(" ", text)
            if text.startswith(" ") and target.last in ("", " ", "\n"):
                text = text[1:]
        if text:
            target.append(text, self._style() if style is None else style)
            for _, parts in self._links:
                parts.append(text)

    def _break(self) -> None:
        """A block starts or ends: a new line in a table cell, a new block elsewhere."""
        if self._table is not None:
            target = self._target()
            if target is not None:
                target.newline()
        else:
            self._flush()

    def _add(self, block: RenderableType) -> None:
        if self._gap and self.blocks:
            self.blocks.append(Text(""))
        self._gap = False
        self.blocks.append(block)

    def _flush(self) -> None:
        line = self._line.text
        self._line = _Buffer()
        if self._pre and line.plain.startswith("\n"):
            line = line[1:]  # a browser skips the newline just after <pre>
        line.rstrip()
        if not line.plain.strip():
            return  # an empty list item keeps its bullet for its first line of text
        block = self._clip_lines(line) if self._pre else self._clip_chars(line)
        indent = 2 * self._quote + 2 * max(0, len(self._lists) - 1)
        if self._lists:
            bullet, self._bullet = self._bullet, ""
            width = 4 if self._lists[-1][0] else 2
            if isinstance(block, Text):
                prefix = f"{bullet} " if bullet else " " * width
                block = Text.assemble(prefix, block)
            else:
                indent += width
        if indent:
            block = Padding(block, (0, 0, 0, indent))
        self._add(block)

    def _clip_chars(self, text: Text) -> RenderableType:
        """A paragraph longer than `max_chars` characters, as its head and tail."""
        if len(text) <= self.max_chars:
            return text
        self.clipped = True
        head = (self.max_chars + 1) // 2
        tail = self.max_chars - head
        held = len(text) - self.max_chars
        return Group(text[:head], self.note(held, "characters"), text[len(text) - tail :])

    def _clip_lines(self, text: Text) -> RenderableType:
        """Preformatted text of more than `max_lines` lines, as its head and tail."""
        if text.plain.count("\n") < self.max_lines:
            return text
        self.clipped = True
        lines = text.split("\n", allow_blank=True)
        head = (self.max_lines + 1) // 2
        tail = self.max_lines - head
        held = len(lines) - self.max_lines
        newline = Text("\n")
        return Group(
            newline.join(lines[:head]),
            self.note(held, "lines"),
            newline.join(lines[len(lines) - tail :]),
        )

    # -- the parser's callbacks ----------------------------------------------------------

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _DROPPED:
            self._skip += 1
            return
        if self._skip:
            return
        if tag in _INLINE:
            self._styles.append((tag, _INLINE[tag]))
            if tag == "a":
                href = _clean(dict(attrs).get("href") or "").strip()
                self._links.append((href, []))
        elif tag in _HEADINGS:
            self._start_block(gapped=True)
            self._styles.append((tag, _HEADINGS[tag]))
        elif tag in _TABLE_TAGS:
            self._table_start(tag, attrs)
        elif tag == "br":
            target = self._target()
            if target is not None:
                target.append("\n")
        elif tag == "hr":
            self._start_block(gapped=True)
            if self._table is None:
                self._add(Rule(style=_DIM))
                self._gap = True
        elif tag == "img":
            alt = _clean(dict(attrs).get("alt") or "").strip()
            self._append(f"[image: {alt}]" if alt else "[image]", _DIM)
        elif tag in _LISTS:
            self._start_block(gapped=not self._lists)
            self._lists.append([1 if tag == "ol" else 0, 0])
        elif tag == "li":
            self._break()
            if self._table is not None:
                self._append("• ")
            elif self._lists:
                current = self._lists[-1]
                current[1] += 1
                self._bullet = f"{current[1]}." if current[0] else "•"
        elif tag in ("blockquote", "pre", "p"):
            self._start_block(gapped=True)
            if tag == "blockquote":
                self._quote += 1
            elif tag == "pre":
                self._pre += 1
        elif tag in _BLOCKS:
            self._break()

    def _start_block(self, gapped: bool) -> None:
        self._break()
        if gapped and self._table is None:
            self._gap = True

    def _end_block(self, gapped: bool) -> None:
        self._break()
        if gapped and self._table is None:
            self._gap = True

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in ("br", "hr", "img"):
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in _DROPPED:
            self._skip = max(0, self._skip - 1)
            return
        if self._skip:
            return
        if tag in _INLINE or tag in _HEADINGS:
            self._end_inline(tag)
        elif tag in _TABLE_TAGS:
            self._table_end(tag)
        elif tag in _LISTS:
            self._break()
            if self._lists:
                self._lists.pop()
            self._end_block(gapped=not self._lists)
        elif tag == "li":
            self._break()
        elif tag in ("blockquote", "pre", "p"):
            self._break()
            if tag == "blockquote":
                self._quote = max(0, self._quote - 1)
            elif tag == "pre":
                self._pre = max(0, self._pre - 1)
            self._end_block(gapped=True)
        elif tag in _BLOCKS:
            self._break()

    def _end_inline(self, tag: str) -> None:
        for index in range(len(self._styles) - 1, -1, -1):
            if self._styles[index][0] == tag:
                break
        else:
            return  # an end tag that was never opened
        if tag in _HEADINGS:
            self._break()  # the heading's text is drawn in its style
        del self._styles[index]
        if tag in _HEADINGS:
            self._end_block(gapped=True)
        elif tag == "a" and self._links:
            href, parts = self._links.pop()
            text = "".join(parts).strip()
            if href and text != href and not href.startswith(("#", "javascript:", "data:")):
                self._append(f" ({href})", _DIM)

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self._append(_clean(data))

    # -- tables ------------------------------------------------------------------------

    def _table_start(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        table = self._table
        if tag == "table":
            self._table_depth += 1
            if table is None:
                self._start_block(gapped=True)
                self._table = _Table()
            else:
                self._break()
            return
        if table is None:
            # A cell outside any table: its text is kept, as a browser shows it.
            if tag in ("td", "th"):
                self._append(" ")
            return
        if self._table_depth > 1:
            # A table nested in a cell: its rows as lines, its cells spaced out.
            if tag == "tr":
                self._break()
            elif tag in ("td", "th"):
                self._append(" ")
            return
        if tag == "caption":
            self._caption = True
        elif tag == "thead":
            table.in_head = True
        elif tag in ("tbody", "tfoot"):
            table.in_head = False
        elif tag == "tr":
            self._end_row(table)
            table.row = _Row(header=table.in_head)
        else:
            self._end_cell(table)
            if table.row is None:
                table.row = _Row(header=table.in_head)
            found = dict(attrs)
            table.cell = _Buffer()
            table.cell_is_th = tag == "th"
            table.cell_span = (_span(found.get("colspan")), _span(found.get("rowspan")))

    def _table_end(self, tag: str) -> None:
        table = self._table
        if table is None:
            return
        if tag == "table":
            self._table_depth = max(0, self._table_depth - 1)
            if self._table_depth == 0:
                self._close_table(table)
            return
        if self._table_depth > 1:
            return
        if tag == "caption":
            self._caption = False
        elif tag == "thead":
            table.in_head = False
        elif tag == "tr":
            self._end_row(table)
        elif tag in ("td", "th"):
            self._end_cell(table)

    def _close_table(self, table: _Table) -> None:
        self._end_row(table)
        self._table = None
        self._table_depth = 0
        self._caption = False
        self._add(_build(table))
        if table.note is not None:
            # Below the table, not its caption: a caption wraps at the table's width.
            self._add(table.note)
        self._gap = True

    def _end_cell(self, table: _Table) -> None:
        buffer = table.cell
        row = table.row
        if buffer is None or row is None:
            return
        table.cell = None
        cell = buffer.text
        cell.rstrip()
        self._fill_spans(table, row)
        if len(cell) > self.max_chars:
            self.clipped = True
            cell = cell[: self.max_chars] + Text("…", style=_DIM)
        if table.cell_is_th:
            cell.stylize(Style(bold=True))
        else:
            row.th_only = False
        colspan, rowspan = table.cell_span
        for offset in range(colspan):
            if rowspan > 1:
                table.spans[len(row.cells)] = rowspan - 1
            row.cells.append(cell if offset == 0 else Text(""))

    def _fill_spans(self, table: _Table, row: _Row) -> None:
        """Empty cells where a rowspan from above covers the next column."""
        while table.spans.get(len(row.cells), 0) > 0:
            table.spans[len(row.cells)] -= 1
            row.cells.append(Text(""))

    def _end_row(self, table: _Table) -> None:
        self._end_cell(table)
        row = table.row
        if row is None:
            return
        table.row = None
        if row.cells:
            self._fill_spans(table, row)
            table.rows.append(row)

    # -- clipping and the end ------------------------------------------------------------

    def hold(self, held: int, unit: str) -> None:
        """The middle of the document was cut out here: say so where it was."""
        self.clipped = True
        note = self.note(held, unit)
        table = self._table
        if table is not None:
            self._end_row(table)
            table.rows.append(_Row(marker=True, th_only=False))
            table.note = note
        else:
            self._flush()
            self._add(note)

    def finish(self) -> list[RenderableType]:
        """Close the document: what is still open ends as a browser would end it."""
        self.close()
        if self._table is not None:
            self._close_table(self._table)
        self._flush()
        return self.blocks


def _span(value: str | None) -> int:
    try:
        return max(1, min(MAX_SPAN, int(value or 1)))
    except ValueError:
        return 1


def _numeric(cells: list[Text]) -> bool:
    filled = [cell.plain.strip() for cell in cells if cell.plain.strip()]
    return bool(filled) and all(_NUMBER.fullmatch(text) for text in filled)


def _build(table: _Table) -> RenderableType:
    """The rows as a table: the leading header rows as its header."""
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
    return _TableView(rows[:count], rows[count:], caption)


MAX_FIT_WIDTH = 40
"""A column counts as at most this wide when deciding how many columns fit: a column of
long text wraps, and need not push the others off the screen."""


class _TableView:
    """A table laid out for the width it is given: as many columns as fit (the rest
    counted in a last column, as pandas does), numbers to the right.

    A table whose cells are single lines that fit is drawn row by row directly: Rich's
    `Table` measures and wraps every cell, which for a few hundred rows is most of a
    second; other tables are Rich's."""

    def __init__(self, headers: list[_Row], body: list[_Row], caption: Text) -> None:
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

    def _cells(self, row: _Row, shown: int, more: int) -> list[Text]:
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


def render_html(
    source: str,
    max_blocks: int = 200,
    max_chars: int = 10_000,
    note: HeldNote | None = None,
) -> tuple[list[RenderableType], bool]:
    """HTML as renderables that hold no escape sequence but SGR.

    Args:
        source: The HTML as the kernel sent it (untrusted).
        max_blocks: Table rows and blocks kept of a long document, and lines of a
            preformatted block: the first half and the rest from the end, with a note
            between (see `clip_points`).
        max_chars: Characters of one paragraph, or of one table cell, kept.
        note: Makes the note that says how much was held back.

    Returns:
        (the blocks, whether anything was held back); no blocks when nothing in it
        would show.
    """
    converter = _Converter(max(1, max_blocks), max(1, max_chars), note or _default_note)
    points = clip_points(source, max(1, max_blocks))
    if points is None:
        converter.feed(source)
    else:
        head_end, tail_start, held, unit = points
        converter.feed(source[:head_end])
        converter.hold(held, unit)
        converter.feed(source[tail_start:])
    blocks = converter.finish()
    return blocks, converter.clipped
