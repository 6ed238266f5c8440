"""HTML from a kernel as terminal text: what a bundle with only HTML (an `HTML(...)`
object, a pandas Styler, `df.to_html()`) looks like without a browser.

Only what reads well as text is kept: tables (as a Rich `Table`), paragraphs, headings,
lists, links (their text and URL, never an OSC 8 hyperlink), preformatted text, line
breaks, bold and italic. Scripts, styles and what only a browser can draw are dropped.
The standard library's parser decodes entities, and every piece of text is sanitized
after decoding: `&#27;` is an escape like any other. Pure: the caller lays out what this
returns, so nothing here touches a console.

Tables are collected and laid out in :mod:`nbtui.widgets.html_table`; where a long
document is cut, in :mod:`nbtui.widgets.html_clip` (`clip_points` is re-exported here).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from html.parser import HTMLParser

from rich.console import Group, RenderableType
from rich.padding import Padding
from rich.rule import Rule
from rich.style import Style
from rich.text import Text

from nbtui.app.kernel.sanitize import sanitize
from nbtui.widgets.html_clip import clip_points
from nbtui.widgets.html_table import HtmlRow, HtmlTable, TextBuffer, cell_span, table_view

__all__ = ["HeldNote", "clip_points", "render_html"]

HeldNote = Callable[[int, str], RenderableType]
"""Makes the line that says how much was held back: (count, unit) to a renderable."""

_SGR = re.compile(r"\x1b\[[0-9;:]*m")
_SPACE = re.compile(r"[ \t\n\r\f\v]+")
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
        self._line = TextBuffer()
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
        self._table: HtmlTable | None = None
        self._table_depth = 0
        self._caption = False

    # -- where text goes ---------------------------------------------------------------

    def _target(self) -> TextBuffer | None:
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
        self._line = TextBuffer()
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
                self._table = HtmlTable()
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
            self.clipped |= table.end_row(self.max_chars)
            table.row = HtmlRow(header=table.in_head)
        else:
            self.clipped |= table.end_cell(self.max_chars)
            if table.row is None:
                table.row = HtmlRow(header=table.in_head)
            found = dict(attrs)
            table.cell = TextBuffer()
            table.cell_is_th = tag == "th"
            table.cell_span = (cell_span(found.get("colspan")), cell_span(found.get("rowspan")))

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
            self.clipped |= table.end_row(self.max_chars)
        elif tag in ("td", "th"):
            self.clipped |= table.end_cell(self.max_chars)

    def _close_table(self, table: HtmlTable) -> None:
        self.clipped |= table.end_row(self.max_chars)
        self._table = None
        self._table_depth = 0
        self._caption = False
        self._add(table_view(table))
        if table.note is not None:
            # Below the table, not its caption: a caption wraps at the table's width.
            self._add(table.note)
        self._gap = True

    # -- clipping and the end ------------------------------------------------------------

    def hold(self, held: int, unit: str) -> None:
        """The middle of the document was cut out here: say so where it was."""
        self.clipped = True
        note = self.note(held, unit)
        table = self._table
        if table is not None:
            self.clipped |= table.end_row(self.max_chars)
            table.rows.append(HtmlRow(marker=True, th_only=False))
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
