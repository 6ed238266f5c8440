"""The transcript: every cell and its output, drawn with Textual's Line API.

One widget draws everything, however many cells and lines there are: each entry of
the model becomes a few parts, and a part renders only the lines that are on screen.
Stream output (where floods happen) is measured and rendered line by line, lazily, so
a million-line print costs a split and a count, not a million Rich renders.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Iterable
from functools import partial
from itertools import accumulate

from rich.cells import chop_cells
from rich.console import Group, RenderableType
from rich.segment import Segment
from rich.style import Style
from rich.syntax import Syntax
from rich.text import Span, Text
from textual.cache import LRUCache
from textual.geometry import Region, Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from nbtui.app.kernel.messages import short_session
from nbtui.app.kernel.model import (
    Catchup,
    Cell,
    DataOutput,
    Entry,
    ErrorOutput,
    InputOutput,
    Notice,
    StreamOutput,
)
from nbtui.widgets.mime import (
    KEPT_IMAGE_SIZE,
    HalfBlockImage,
    clip_line,
    clip_markdown,
    picture_of,
    render_data,
    render_html_bundle,
    render_traceback,
    shows_html,
)
from nbtui.widgets.palette import PEER_CLASSES, peer_class

__all__ = ["TranscriptView"]

RICHER = ("text/markdown", "application/json", "text/latex")
"""Types that render_data prefers to text/plain: those outputs are not clipped as text.
(A picture that opens is an `_ImagePart`'s; one that does not is shown as the rest.)"""

INVISIBLE_MARK = r"<U\+[0-9A-F]{4,6}>"
"""How `sanitize_code` shows a character that would hide or reorder code."""


def _without_background(style: str | Style) -> Style:
    parsed = Style.parse(style) if isinstance(style, str) else style
    if parsed.bgcolor is None:
        return parsed
    return Style(
        color=parsed.color,
        bold=parsed.bold,
        italic=parsed.italic,
        underline=parsed.underline,
        dim=parsed.dim,
    )


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


class _Part:
    """A run of rows in the transcript; subclasses know how to draw them."""

    key: object = None
    """What the part shows, when a later update may reuse it as it is (None: never)."""

    def height(self, width: int) -> int:
        raise NotImplementedError

    def strip(self, row: int, width: int) -> Strip:
        raise NotImplementedError


class _RenderedPart(_Part):
    """A small renderable drawn whole and cached per width (prompts, results, errors)."""

    def __init__(
        self, view: TranscriptView, make: Callable[[int], RenderableType], key: object = None
    ) -> None:
        self._view = view
        self._make = make
        self.key = key
        self._width = -1
        self._strips: list[Strip] = []

    def _render(self, width: int) -> list[Strip]:
        if width != self._width:
            console = self._view.app.console
            options = console.options.update_width(width)
            lines = console.render_lines(self._make(width), options, pad=False)
            self._strips = [Strip(line) for line in lines]
            self._width = width
        return self._strips

    def height(self, width: int) -> int:
        return len(self._render(width))

    def strip(self, row: int, width: int) -> Strip:
        return self._render(width)[row]


class _ImagePart(_RenderedPart):
    """A picture and its Out[n] prompt, laid out from the image's header and decoded only
    when a row of it is drawn: a burst of plots decodes only those scrolled to."""

    def __init__(
        self, view: TranscriptView, image: HalfBlockImage, prompt: Text | None, key: object
    ) -> None:
        super().__init__(view, lambda width: Group(prompt, image) if prompt else image, key)
        self._image = image
        self._prompt = prompt

    def height(self, width: int) -> int:
        prompt_rows = len(self._view.render_text(self._prompt, width)) if self._prompt else 0
        return prompt_rows + self._image.rows(width)

    def strip(self, row: int, width: int) -> Strip:
        strips = self._render(width)
        return strips[row] if row < len(strips) else Strip.blank(width)


class _StreamPart(_Part):
    """stdout or stderr: measured per line, each line rendered only when it is seen.

    A line longer than the view's `line_limit` shows its head and tail and how many
    characters were held back: a 5 MB line without a newline must not be rendered whole.
    """

    def __init__(self, view: TranscriptView, stream: StreamOutput, style: Style) -> None:
        self._view = view
        self.stream = stream
        self.key = ("stream", id(stream))
        self._style = style
        self._width = -1
        self._dropped = 0
        self._cum: list[int] = []
        """Row where each kept line ends, counted from the first line ever measured."""
        self._base = 0
        """Rows of lines trimmed from the front, subtracted from `_cum` on lookup."""

    def _rows(self, index: int, line: str, width: int) -> int:
        if len(line) > self._view.line_limit:
            return len(self._render(index, line, width))
        return _measure(line, width)

    def _ends(self, first: int, lines: list[str], width: int, end: int) -> Iterable[int]:
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
            self._cum = list(self._ends(0, stream.lines, width, 0))
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
        self._sync(width)
        rows = (self._cum[-1] - self._base) if self._cum else 0
        if self.stream.partial:
            lines = self.stream.lines
            rows += self._rows(len(lines), self.stream.visible_partial, width)
        return rows

    def _line_text(self, index: int) -> str:
        lines = self.stream.lines
        return lines[index] if index < len(lines) else self.stream.visible_partial

    def strip(self, row: int, width: int) -> Strip:
        self._sync(width)
        absolute = row + self._base
        index = bisect_right(self._cum, absolute)
        start = self._cum[index - 1] - self._base if index else 0
        strips = self._render(index, self._line_text(index), width)
        offset = row - start
        return strips[offset] if offset < len(strips) else Strip.blank(width)

    def _render(self, index: int, line: str, width: int) -> list[Strip]:
        clipped = len(line) > self._view.line_limit
        # A clipped line's key holds its hash, not itself: the cache would otherwise keep
        # every version of a growing multi-megabyte last line alive.
        text_key: object = (len(line), hash(line)) if clipped else line
        key = (id(self), self.stream.dropped + index, width, text_key)
        strips = self._view.line_cache.get(key)
        if strips is None:
            if clipped:
                strips = self._render_clipped(line, width)
            elif _is_plain(line):
                # A flood's every frame brings a screenful of new plain lines: cut them
                # into rows here, as Rich would, without Rich's general machinery.
                style = self._style or None
                rows = [line[start : start + width] for start in range(0, len(line), width)]
                strips = [Strip([Segment(row, style)], len(row)) for row in rows]
                strips = strips or [Strip([Segment("")], 0)]
            else:
                strips = self._view.render_text(_wrap(self._text(line), width), width)
            self._view.line_cache[key] = strips
        return strips

    def _render_clipped(self, line: str, width: int) -> list[Strip]:
        clip = clip_line(line, self._view.line_limit)
        assert clip is not None
        head, held, tail = clip
        self._view.held_back(self.stream)
        view = self._view
        return [
            *view.render_text(_wrap(self._text(head), width), width),
            *view.render_text(view.held_note(held, "characters"), width),
            *view.render_text(_wrap(self._text(tail), width), width),
        ]

    def _text(self, line: str) -> Text:
        text = Text.from_ansi(line) if "\x1b" in line else Text(line)
        if "\t" in line:
            # Tab stops count what is shown, as `_measure` does, not the colour codes.
            text.expand_tabs()
        text.stylize(self._style)
        return text


class TranscriptView(ScrollView, can_focus=True):
    """Cells and outputs in arrival order; keeps the reader's place while they scroll back."""

    COMPONENT_CLASSES = {
        "transcript--prompt-in",
        "transcript--prompt-out",
        "transcript--self",
        "transcript--peer",
        "transcript--stderr",
        "transcript--notice",
        "transcript--warning",
        "transcript--error",
        "transcript--dropped",
        "transcript--running",
        "transcript--catchup",
        *PEER_CLASSES,
    }

    DEFAULT_CSS = """
    TranscriptView {
        height: 1fr;
        overflow-x: hidden;
        overflow-y: auto;
    }
    """

    BINDINGS = [
        ("home", "scroll_home", "Top"),
        ("end", "scroll_end", "Bottom"),
    ]

    def __init__(
        self,
        *,
        language: str = "python",
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.language = language
        self.line_cache: LRUCache[tuple[object, ...], list[Strip]] = LRUCache(2048)
        self._parts: dict[int, list[_Part]] = {}
        self._entries: list[Entry] = []
        """Entries that take rows, in order."""
        self._all_entries: list[Entry] = []
        self._offsets: list[int] = []
        self._height = 0
        self._layout_width = -1
        self.follow = True
        """Stick to the newest output; off while the reader scrolls back."""
        self.peer_colours: dict[str, int] = {}
        """Session id to palette index, filled by the app from the model's peers."""
        self.output_limit = 2000
        """Lines of one text result shown before its middle is held back."""
        self.line_limit = 10_000
        """Characters of one line shown before its middle is held back."""
        self.long_outputs: list[DataOutput | StreamOutput] = []
        """Outputs shown clipped, newest last: F10 opens the newest in full."""
        self.fold_tracebacks = True
        """Long tracebacks show their last frames; F7 unfolds them all."""
        self.show_peer_inputs = True
        self.show_peer_outputs = True
        self._row_style: Style | None = None

    # -- model to parts ------------------------------------------------------------------

    def _style(self, component: str) -> Style:
        return self.get_component_rich_style(component, partial=True)

    def render_text(self, text: Text, width: int) -> list[Strip]:
        console = self.app.console
        lines = console.render_lines(text, console.options.update_width(width), pad=False)
        return [Strip(line) for line in lines] or [Strip.blank(width)]

    def _parts_for(self, entry: Entry, reuse: bool = False) -> list[_Part]:
        """The parts that draw `entry`.

        Args:
            reuse: Keep the parts of its outputs that have not changed: a cell that
                streams gets new output every frame, and new parts would measure every
                kept line again and miss the line cache on every row.
        """
        if isinstance(entry, Cell):
            kept = self._parts.get(id(entry), []) if reuse else []
            return self._cell_parts(entry, {part.key: part for part in kept if part.key})
        if isinstance(entry, Catchup):
            return [_RenderedPart(self, partial(self._catchup, entry))]
        return [_RenderedPart(self, partial(self._notice, entry))]

    def _cell_parts(self, cell: Cell, kept: dict[object, _Part]) -> list[_Part]:
        parts: list[_Part] = []
        if cell.is_self or self.show_peer_inputs:
            # A running cell changes with every frame of output; its header rarely does.
            shown: object = (
                "header",
                cell.state,
                cell.execution_count,
                cell.code is None,
                self.peer_colours.get(cell.session),
            )
            parts.append(
                kept.get(shown) or _RenderedPart(self, partial(self._cell_header, cell), shown)
            )
        if not cell.is_self and not self.show_peer_outputs:
            return parts
        if cell.dropped_outputs:
            parts.append(_RenderedPart(self, partial(self._dropped_outputs_line, cell)))
        for output in cell.outputs:
            # Parts hold their outputs, so an id in a key cannot be reused by another.
            if isinstance(output, StreamOutput):
                if output.dropped:
                    parts.append(_RenderedPart(self, partial(self._dropped_line, output)))
                part = kept.get(("stream", id(output)))
                if part is None:
                    stderr = output.name == "stderr"
                    style = self._style("transcript--stderr") if stderr else Style()
                    part = _StreamPart(self, output, style)
                parts.append(part)
            elif isinstance(output, DataOutput):
                shown = ("data", id(output), output.version, output.execution_count)
                part = kept.get(shown)
                if part is None:
                    # Never wider than its kept pixels: the view's width bounds it further.
                    image = picture_of(output.data, KEPT_IMAGE_SIZE[0])
                    part = (
                        _ImagePart(self, image, self._out_prompt(output), shown)
                        if image
                        else _RenderedPart(self, partial(self._data, cell, output), shown)
                    )
                parts.append(part)
            elif isinstance(output, ErrorOutput):
                shown = ("error", id(output))
                parts.append(
                    kept.get(shown) or _RenderedPart(self, partial(self._error, output), shown)
                )
            else:
                shown = ("input", id(output))
                parts.append(
                    kept.get(shown) or _RenderedPart(self, partial(self._input, output), shown)
                )
        return parts

    def _input(self, output: InputOutput, width: int) -> RenderableType:
        """`prompt answer`, the answer in the colour of what you typed."""
        prompt = Text.from_ansi(output.prompt) if "\x1b" in output.prompt else Text(output.prompt)
        return Text.assemble(prompt, Text(output.answer, style=self._style("transcript--self")))

    def _dropped_line(self, output: StreamOutput, width: int) -> Text:
        return Text(
            f"… {output.dropped:,} earlier lines not kept (scrollback limit)",
            style=self._style("transcript--dropped"),
        )

    def _dropped_outputs_line(self, cell: Cell, width: int) -> Text:
        noun = "output" if cell.dropped_outputs == 1 else "outputs"
        return Text(
            f"… {cell.dropped_outputs:,} earlier {noun} not kept (scrollback limit)",
            style=self._style("transcript--dropped"),
        )

    def _who(self, cell: Cell) -> Text:
        if cell.is_self:
            return Text("you ", style=self._style("transcript--self"))
        colour = peer_class(self.peer_colours.get(cell.session, 0))
        style = self._style("transcript--peer") + self._style(colour)
        return Text(f"{cell.username}@{short_session(cell.session)} ", style=style)

    def _cell_header(self, cell: Cell, width: int) -> RenderableType:
        """`In [n] who  code`, continuation lines aligned under the code."""
        count = cell.execution_count
        prefix = Text.assemble(
            Text(
                f"In [{count if count is not None else ' '}] ",
                style=self._style("transcript--prompt-in"),
            ),
            self._who(cell),
            " ",
        )
        state = Text()
        if cell.state == "running":
            state = Text("  ⏵ running", style=self._style("transcript--running"))
        elif cell.state == "aborted":
            state = Text("  ■ interrupted", style=self._style("transcript--warning"))
        if cell.code is None:
            note = Text("(started before you joined)", style=self._style("transcript--notice"))
            return Text.assemble(prefix, note, state)
        source = cell.code.rstrip("\n")
        code = Syntax(
            source, self.language, theme="ansi_dark", background_color="default"
        ).highlight(source)
        # The theme's background ("default": the terminal's own) would paint a box
        # behind the code; keep only the token colours and attributes.
        code.style = ""
        code.spans = [
            Span(span.start, span.end, _without_background(span.style)) for span in code.spans
        ]
        code.rstrip()
        code.highlight_regex(INVISIBLE_MARK, self._style("transcript--warning"))
        lines = code.split("\n", allow_blank=True)
        indent = " " * prefix.cell_len
        out = Text.assemble(prefix, lines[0], state)
        for line in lines[1:]:
            out.append("\n" + indent)
            out.append_text(line)
        return out

    def _data(self, cell: Cell, output: DataOutput, width: int) -> RenderableType:
        shown = self._clipped(output, width) or render_data(output.data, output.metadata, width)
        prompt = self._out_prompt(output)
        if prompt is None:
            return shown
        if isinstance(shown, Text) and "\n" not in shown.plain:
            return Text.assemble(prompt, shown)
        return Group(prompt, shown)

    def _out_prompt(self, output: DataOutput) -> Text | None:
        if output.execution_count is None:
            return None
        return Text(f"Out[{output.execution_count}]: ", style=self._style("transcript--prompt-out"))

    def _clipped(self, output: DataOutput, width: int) -> RenderableType | None:
        """A text result with more than `output_limit` lines, or a line longer than
        `line_limit` characters, or a long markdown document, as head and tail; None when
        it fits. HTML shown as text is returned whole or clipped, never None: it is
        clipped before it is parsed."""
        markdown = output.data.get("text/markdown")
        if isinstance(markdown, str):
            return self._clipped_markdown(output, markdown, width)
        if shows_html(output.data):
            # A tenth, not markdown's quarter: each table row is laid out against every
            # other (column widths), and help or a report rarely has 200 blocks.
            shown, clipped = render_html_bundle(
                output.data, max(1, self.output_limit // 10), self.line_limit, self.held_note
            )
            if clipped:
                self.held_back(output)
            return shown
        plain = output.data.get("text/plain")
        if not isinstance(plain, str) or any(kind in output.data for kind in RICHER):
            return None
        many = plain.count("\n") >= self.output_limit
        if not many and not (
            len(plain) > self.line_limit
            and any(len(line) > self.line_limit for line in plain.split("\n"))
        ):
            return None
        self.held_back(output)
        lines = output.text.split("\n")
        if not many:
            return Group(*self._clipped_lines(lines))
        head = (self.output_limit + 1) // 2
        tail = self.output_limit - head
        held = len(lines) - head - tail
        return Group(
            *self._clipped_lines(lines[:head]),
            self.held_note(held, "lines"),
            *self._clipped_lines(lines[-tail:]),
        )

    def _clipped_markdown(
        self, output: DataOutput, markdown: str, width: int
    ) -> RenderableType | None:
        """Markdown longer than a quarter of `output_limit` source lines, as its ends:
        laying it out costs tens of times what plain text does."""
        clip = clip_markdown(markdown, max(1, self.output_limit // 4))
        if clip is None:
            return None
        self.held_back(output)
        head, held, tail = clip
        return Group(
            render_data({"text/markdown": head}, {}, width),
            self.held_note(held, "lines"),
            render_data({"text/markdown": tail}, {}, width),
        )

    def _clipped_lines(self, lines: list[str]) -> list[RenderableType]:
        """Text lines with each one longer than `line_limit` shown as head and tail."""
        shown: list[RenderableType] = []
        run: list[str] = []
        for line in lines:
            clip = clip_line(line, self.line_limit)
            if clip is None:
                run.append(line)
                continue
            head, held, tail = clip
            run.append(head)
            shown.append(render_data({"text/plain": "\n".join(run)}, {}, 0))
            shown.append(self.held_note(held, "characters"))
            run = [tail]
        shown.append(render_data({"text/plain": "\n".join(run)}, {}, 0))
        return shown

    def output_to_open(self) -> DataOutput | StreamOutput | None:
        """The clipped output F10 opens: the newest one on screen, else the newest."""
        if not self.long_outputs:
            return None
        top = round(self.scroll_y)
        first = max(0, bisect_right(self._offsets, top) - 1)
        last = bisect_right(self._offsets, top + self.size.height)
        shown = {
            id(output)
            for entry in self._entries[first:last]
            if isinstance(entry, Cell)
            for output in entry.outputs
        }
        for output in reversed(self.long_outputs):
            if id(output) in shown:
                return output
        return self.long_outputs[-1]

    def held_back(self, output: DataOutput | StreamOutput) -> None:
        """Note that `output` is shown clipped, so F10 can open it."""
        if not any(known is output for known in self.long_outputs):
            self.long_outputs.append(output)

    def held_note(self, held: int, unit: str) -> Text:
        return Text(
            f"… {held:,} {unit} held back (F10 shows the whole output, and saves it)",
            style=self._style("transcript--dropped"),
        )

    def _error(self, output: ErrorOutput, width: int) -> RenderableType:
        if not output.traceback:
            return Text.from_ansi(output.text)
        return render_traceback(output.traceback, folded=self.fold_tracebacks)

    def _catchup(self, catchup: Catchup, width: int) -> RenderableType:
        count = len(catchup.inputs)
        style = self._style("transcript--catchup")
        noun = "input" if count == 1 else "inputs"
        if not catchup.expanded:
            return Text(f"── before you joined: {count} {noun} (F5 to show) ──", style=style)
        out = Text(f"── before you joined: {count} {noun} (F5 to hide) ──", style=style)
        for number, code in catchup.inputs:
            prefix = f"In [{number}] "
            lines = code.rstrip("\n").split("\n")
            out.append("\n" + prefix + lines[0], style=style)
            for line in lines[1:]:
                out.append("\n" + " " * len(prefix) + line, style=style)
        out.append("\n── now ──", style=style)
        return out

    def toggle_tracebacks(self) -> None:
        self.fold_tracebacks = not self.fold_tracebacks
        for entry in self._all_entries:
            if isinstance(entry, Cell) and any(isinstance(o, ErrorOutput) for o in entry.outputs):
                self._parts[id(entry)] = self._parts_for(entry)
        self._relayout()
        self.refresh()

    def set_peer_visibility(self, inputs: bool, outputs: bool) -> None:
        """Show or hide other clients' inputs and outputs, keeping our own."""
        self.show_peer_inputs = inputs
        self.show_peer_outputs = outputs
        for entry in self._all_entries:
            if isinstance(entry, Cell) and not entry.is_self:
                self._parts[id(entry)] = self._parts_for(entry)
        self._relayout()
        if self.follow:
            self.scroll_end(animate=False, immediate=True, x_axis=False)
        self.refresh()

    def _notice(self, notice: Notice, width: int) -> RenderableType:
        component = {
            "info": "transcript--notice",
            "warning": "transcript--warning",
            "error": "transcript--error",
        }[notice.level]
        return Text(f"── {notice.text}", style=self._style(component))

    # -- updates -------------------------------------------------------------------------

    def update_entries(
        self, all_entries: list[Entry], removed: Iterable[Entry], changed: Iterable[Entry]
    ) -> None:
        """Bring the view up to date with the model after a batch of messages.

        Args:
            all_entries: The model's entries, in order.
            removed: Entries the model dropped for scrollback.
            changed: Entries that are new or changed since the last update.
        """
        was_at_end = self.follow
        removed_rows = 0
        width = self._content_width()
        gone: set[int] = set()
        for entry in removed:
            parts = self._parts.pop(id(entry), None)
            if parts:
                removed_rows += sum(part.height(width) for part in parts)
            if isinstance(entry, Cell):
                gone.update(id(output) for output in entry.outputs)
        if gone:
            # Scrollback let them go: holding them here would keep them in memory.
            self.long_outputs = [o for o in self.long_outputs if id(o) not in gone]
        for entry in changed:
            self._parts[id(entry)] = self._parts_for(entry, reuse=True)
        self._all_entries = list(all_entries)
        self._entries = list(all_entries)
        self._relayout()
        if was_at_end:
            # Forced: output that first overflows the view has no scrollbar yet, and an
            # unforced scroll would wait for the next layout, a whole frame later.
            self.scroll_end(animate=False, immediate=True, x_axis=False, force=True)
            # Scroll limits settle after the next layout: stick to the end then too.
            self.call_after_refresh(self._stick_to_end)
        elif removed_rows:
            # Keep the rows the reader is looking at under their eyes.
            self.scroll_to(y=max(0, self.scroll_y - removed_rows), animate=False, immediate=True)
        self.refresh()

    def _content_width(self) -> int:
        return max(10, self.scrollable_content_region.width or self.size.width or 80)

    def _relayout(self) -> None:
        width = self._content_width()
        self._layout_width = width
        heights = []
        for entry in self._all_entries:
            parts = self._parts.get(id(entry))
            if not parts:
                continue
            heights.append((entry, sum(part.height(width) for part in parts)))
        self._entries = [entry for entry, _ in heights]
        self._offsets = list(accumulate((height for _, height in heights), initial=0))
        self._height = self._offsets[-1]
        self.virtual_size = Size(width, self._height)

    def on_resize(self) -> None:
        if self._content_width() != self._layout_width:
            self.line_cache.clear()
            self._relayout()
            if self.follow:
                self.scroll_end(animate=False, immediate=True, x_axis=False)

    def _stick_to_end(self) -> None:
        if self.follow:
            self.scroll_end(animate=False, immediate=True, x_axis=False)

    def watch_scroll_y(self, old: float, new: float) -> None:
        super().watch_scroll_y(old, new)
        # Only a move up (the reader's) stops following; reaching the end resumes it.
        if new >= self.max_scroll_y:
            self.follow = True
        elif new < old:
            self.follow = False

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self.line_cache.clear()
        # Rendered parts hold styled strips: rebuild them with the new styles.
        for entry in self._all_entries:
            self._parts[id(entry)] = self._parts_for(entry)
        if self._all_entries:
            self._relayout()

    def on_mount(self) -> None:
        # A new theme updates the component styles (prompts, the peer palette) only after
        # notify_style_update has run with the old ones: rebuild once more when it is done.
        self.app.theme_changed_signal.subscribe(self, lambda _theme: self.notify_style_update())

    # -- drawing -------------------------------------------------------------------------

    def render_lines(self, crop: Region) -> list[Strip]:
        # The style behind every row: working it out walks the widget's ancestors, which
        # was most of the cost of a row when done per row.
        self._row_style = self.rich_style
        try:
            return super().render_lines(crop)
        finally:
            self._row_style = None

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        row = round(self.scroll_y) + y
        base = self._row_style or self.rich_style
        if row >= self._height or not self._entries:
            return Strip.blank(width, base)
        index = bisect_right(self._offsets, row) - 1
        entry = self._entries[index]
        row -= self._offsets[index]
        content_width = self._layout_width
        for part in self._parts.get(id(entry), []):
            height = part.height(content_width)
            if row < height:
                strip = part.strip(row, content_width)
                return strip.crop_extend(0, width, base).apply_style(base)
            row -= height
        return Strip.blank(width, base)

    def plain_text(self) -> str:
        """Everything currently laid out, as plain text (for tests and for saving)."""
        rows = []
        width = self._layout_width
        for entry in self._entries:
            for part in self._parts.get(id(entry), []):
                for row in range(part.height(width)):
                    rows.append("".join(s.text for s in part.strip(row, width)).rstrip())
        return "\n".join(rows)
