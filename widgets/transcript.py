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

from rich.console import Group, RenderableType
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.cache import LRUCache
from textual.geometry import Region, Size
from textual.message import Message
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
    StreamOutput,
)
from nbtui.app.kernel.search import Hit, Query
from nbtui.widgets.images import KEPT_IMAGE_SIZE
from nbtui.widgets.mime import picture_of, render_data, render_traceback
from nbtui.widgets.output_policy import clipped_data, data_is_clipped
from nbtui.widgets.palette import PEER_CLASSES, peer_class
from nbtui.widgets.transcript_entries import (
    CODE_CLASSES,
    catchup_lines,
    cell_header,
    cell_output_text,
    notice_line,
)
from nbtui.widgets.transcript_parts import ImagePart, Part, RenderedPart, StreamPart
from nbtui.widgets.transcript_search import SearchState, mark_strip

__all__ = ["TranscriptView"]


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
        "transcript--queued",
        "transcript--catchup",
        "transcript--match",
        "transcript--match-current",
        "transcript--selected",
        *PEER_CLASSES,
        *CODE_CLASSES,
    }

    DEFAULT_CSS = """
    TranscriptView {
        height: 1fr;
        overflow-x: hidden;
        overflow-y: auto;
    }
    """

    BINDINGS = [
        # Out of the footer: the cell keys need its room while the transcript has focus.
        Binding("home", "scroll_home", "Top", show=False),
        Binding("end", "scroll_end", "Bottom", show=False),
        Binding("slash", "app.search", "Search", show=False, tooltip="Find in the transcript"),
        Binding("j", "select_cell(1)", "Next cell", tooltip="Select the next cell"),
        Binding("k", "select_cell(-1)", "Prev cell", tooltip="Select the previous cell"),
        Binding("y", "copy_cell('code')", "Copy code", tooltip="Copy the cell's code (OSC 52)"),
        Binding("o", "copy_cell('output')", "Copy output", tooltip="Copy the cell's output"),
        # Both names: a terminal with the kitty keyboard protocol may report shift+y.
        Binding("Y,shift+y", "copy_cell('both')", "Copy both", show=False, tooltip="Code, output"),
        Binding("e,enter", "edit_cell", "Edit", tooltip="Put the cell's code in the editor"),
        Binding("n", "step_search(True)", "Next match", show=False),
        Binding("N,shift+n", "step_search(False)", "Previous match", show=False),
        Binding("escape", "leave", "", show=False),
    ]

    class SearchCounted(Message):
        """The search's matches changed: `status` says `3 of 17`, none, or a bad regex."""

        def __init__(self, status: str) -> None:
            super().__init__()
            self.status = status

    class EditRequested(Message):
        """The reader asked to put a cell's code in the editor (`e`), not to run it."""

        def __init__(self, code: str) -> None:
            super().__init__()
            self.code = code

    class SearchLeft(Message):
        """Escape in the transcript with a search open: close it, staying where it is."""

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
        self._parts: dict[int, list[Part]] = {}
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
        self.waiting: dict[str, str] = {}
        """Cell key to what it waits behind ("queued behind alice's In [12] …"), for
        cells sent and not started; set by the console (app/kernel/queue.py)."""
        self._row_style: Style | None = None
        self._index_of: dict[int, int] = {}
        """Entry id to its position in `_entries`."""
        self._search: SearchState | None = None
        self._search_status = ""
        self.selected: Cell | None = None
        """The cell the copy and edit keys act on, marked while the transcript has focus."""

    # -- model to parts ------------------------------------------------------------------

    def _style(self, component: str) -> Style:
        return self.get_component_rich_style(component, partial=True)

    def render_strips(self, renderable: RenderableType, width: int) -> list[Strip]:
        """`renderable` as rows of `width` columns."""
        console = self.app.console
        options = console.options.update_width(width)
        lines = console.render_lines(renderable, options, pad=False)
        return [Strip(line) for line in lines]

    def render_text(self, text: Text, width: int) -> list[Strip]:
        """`text` as rows of `width` columns, at least one."""
        console = self.app.console
        lines = console.render_lines(text, console.options.update_width(width), pad=False)
        return [Strip(line) for line in lines] or [Strip.blank(width)]

    def _parts_for(self, entry: Entry, reuse: bool = False) -> list[Part]:
        """The parts that draw `entry`.

        Args:
            reuse: Keep the parts of its outputs that have not changed: a cell that
                streams gets new output every frame, and new parts would measure every
                kept line again and miss the line cache on every row.
        """
        if isinstance(entry, Cell):
            kept = self._parts.get(id(entry), []) if reuse else []
            parts = self._cell_parts(entry, {part.key: part for part in kept if part.key})
            return self._note_held_back(parts)
        if isinstance(entry, Catchup):
            return [RenderedPart(self, lambda width: catchup_lines(entry, self._style))]
        return [RenderedPart(self, lambda width: notice_line(entry, self._style))]

    def _cell_parts(self, cell: Cell, kept: dict[object, Part]) -> list[Part]:
        parts: list[Part] = []
        if cell.is_self or self.show_peer_inputs:
            # A running cell changes with every frame of output; its header rarely does.
            shown: object = (
                "header",
                cell.state,
                cell.execution_count,
                cell.code is None,
                self.peer_colours.get(cell.session),
                self.waiting.get(cell.key, ""),
            )
            parts.append(kept.get(shown) or RenderedPart(self, self._header_of(cell), shown))
        if not cell.is_self and not self.show_peer_outputs:
            return parts
        if cell.dropped_outputs:
            parts.append(RenderedPart(self, partial(self._dropped_outputs_line, cell)))
        for output in cell.outputs:
            # Parts hold their outputs, so an id in a key cannot be reused by another.
            if isinstance(output, StreamOutput):
                if output.dropped:
                    parts.append(RenderedPart(self, partial(self._dropped_line, output)))
                part = kept.get(("stream", id(output)))
                if part is None:
                    stderr = output.name == "stderr"
                    style = self._style("transcript--stderr") if stderr else Style()
                    part = StreamPart(self, output, style)
                parts.append(part)
            elif isinstance(output, DataOutput):
                shown = ("data", id(output), output.version, output.execution_count)
                part = kept.get(shown)
                if part is None:
                    # Never wider than its kept pixels: the view's width bounds it further.
                    image = picture_of(output.data, KEPT_IMAGE_SIZE[0])
                    part = (
                        ImagePart(self, image, self._out_prompt(output), shown)
                        if image
                        else RenderedPart(
                            self,
                            partial(self._data, cell, output),
                            shown,
                            held=output if self._is_clipped(output) else None,
                        )
                    )
                parts.append(part)
            elif isinstance(output, ErrorOutput):
                shown = ("error", id(output))
                parts.append(
                    kept.get(shown) or RenderedPart(self, partial(self._error, output), shown)
                )
            else:
                shown = ("input", id(output))
                parts.append(
                    kept.get(shown) or RenderedPart(self, partial(self._input, output), shown)
                )
        return parts

    def _input(self, output: InputOutput, width: int) -> RenderableType:
        """`prompt answer`, the answer in the colour of what you typed."""
        prompt = Text.from_ansi(output.prompt) if "\x1b" in output.prompt else Text(output.prompt)
        return Text.assemble(prompt, Text(output.answer, style=self._style("transcript--self")))

    def _dropped_outputs_line(self, cell: Cell, width: int) -> Text:
        noun = "output" if cell.dropped_outputs == 1 else "outputs"
        return Text(
            f"… {cell.dropped_outputs:,} earlier {noun} not kept (scrollback limit)",
            style=self._style("transcript--dropped"),
        )

    def _dropped_line(self, output: StreamOutput, width: int) -> Text:
        return Text(
            f"… {output.dropped:,} earlier lines not kept (scrollback limit)",
            style=self._style("transcript--dropped"),
        )

    def _who(self, cell: Cell) -> Text:
        if cell.is_self:
            return Text("you ", style=self._style("transcript--self"))
        colour = peer_class(self.peer_colours.get(cell.session, 0))
        style = self._style("transcript--peer") + self._style(colour)
        return Text(f"{cell.username}@{short_session(cell.session)} ", style=style)

    def _header_of(self, cell: Cell) -> Callable[[int], RenderableType]:
        # ansi_dark's terminal colours are made for a dark background; a light theme gets
        # its own colours, made readable on it.
        code_style = None if self.app.current_theme.dark else self._style
        return lambda width: cell_header(
            cell,
            self._who(cell),
            self.language,
            self._style,
            self.waiting.get(cell.key, ""),
            code_style=code_style,
        )

    def _data(self, cell: Cell, output: DataOutput, width: int) -> RenderableType:
        shown = clipped_data(
            output, width, self.output_limit, self.line_limit, self.held_note
        ) or render_data(output.data, output.metadata, width)
        prompt = self._out_prompt(output)
        if prompt is None:
            return shown
        if isinstance(shown, Text) and "\n" not in shown.plain:
            return Text.assemble(prompt, shown)
        return Group(prompt, shown)

    def _is_clipped(self, output: DataOutput) -> bool:
        return data_is_clipped(output, self.output_limit, self.line_limit)

    def _out_prompt(self, output: DataOutput) -> Text | None:
        if output.execution_count is None:
            return None
        return Text(f"Out[{output.execution_count}]: ", style=self._style("transcript--prompt-out"))

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

    def _note_held_back(self, parts: list[Part]) -> list[Part]:
        """Note the outputs `parts` show clipped, so F10 can open them: read from the
        parts when they are made or updated, never while drawing."""
        for part in parts:
            output = part.held_back
            if isinstance(output, DataOutput | StreamOutput) and not any(
                known is output for known in self.long_outputs
            ):
                self.long_outputs.append(output)
        return parts

    def held_note(self, held: int, unit: str) -> Text:
        """The line saying how many `unit`s of an output were held back."""
        return Text(
            f"… {held:,} {unit} held back (F10 shows the whole output, and saves it)",
            style=self._style("transcript--dropped"),
        )

    def _error(self, output: ErrorOutput, width: int) -> RenderableType:
        if not output.traceback:
            return Text.from_ansi(output.text)
        return render_traceback(output.traceback, folded=self.fold_tracebacks)

    def toggle_tracebacks(self) -> None:
        """Fold or unfold every long traceback (F7), re-laying out the cells that have one."""
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
        # A match on screen holds the view where it is while output streams in.
        was_at_end = self.follow and not self._pinned
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
        self._index_of = {id(entry): index for index, entry in enumerate(self._entries)}
        self._offsets = list(accumulate((height for _, height in heights), initial=0))
        self._height = self._offsets[-1]
        self.virtual_size = Size(width, self._height)
        if self.selected is not None and id(self.selected) not in self._index_of:
            self.selected = None
        if self._search is not None:
            self._search_again()

    def on_resize(self) -> None:
        """Lay the transcript out again for a new width, staying at the end if following."""
        if self._content_width() != self._layout_width:
            self.line_cache.clear()
            self._relayout()
            if self.follow:
                self.scroll_end(animate=False, immediate=True, x_axis=False)

    def _stick_to_end(self) -> None:
        if self.follow:
            self.scroll_end(animate=False, immediate=True, x_axis=False)

    def watch_scroll_y(self, old: float, new: float) -> None:
        """Follow new output while at the end; stop when the reader scrolls up."""
        super().watch_scroll_y(old, new)
        # Only a move up (the reader's) stops following; reaching the end resumes it.
        if new >= self.max_scroll_y and not self._pinned:
            self.follow = True
        elif new < old:
            self.follow = False

    def notify_style_update(self) -> None:
        """Rebuild the styled parts after a style or theme change."""
        super().notify_style_update()
        self.line_cache.clear()
        # Rendered parts hold styled strips: rebuild them with the new styles.
        for entry in self._all_entries:
            self._parts[id(entry)] = self._parts_for(entry)
        if self._all_entries:
            self._relayout()

    def on_mount(self) -> None:
        """Listen for theme changes."""
        # A new theme updates the component styles (prompts, the peer palette) only after
        # notify_style_update has run with the old ones: rebuild once more when it is done.
        self.app.theme_changed_signal.subscribe(self, lambda _theme: self.notify_style_update())

    # -- drawing -------------------------------------------------------------------------

    def render_lines(self, crop: Region) -> list[Strip]:
        """Draw the rows in `crop`, working the base style out once for all of them."""
        # The style behind every row: working it out walks the widget's ancestors, which
        # was most of the cost of a row when done per row.
        self._row_style = self.rich_style
        try:
            return super().render_lines(crop)
        finally:
            self._row_style = None

    def render_line(self, y: int) -> Strip:
        """Draw screen row `y`: the row of the part that holds it, or a blank."""
        width = self.size.width
        row = round(self.scroll_y) + y
        base = self._row_style or self.rich_style
        if row >= self._height or not self._entries:
            return Strip.blank(width, base)
        index = bisect_right(self._offsets, row) - 1
        entry = self._entries[index]
        row -= self._offsets[index]
        content_width = self._layout_width
        if entry is self.selected and self.has_focus:
            base = base + self._style("transcript--selected")
        parts = self._parts.get(id(entry), [])
        for part in parts:
            height = part.height(content_width)
            if row < height:
                strip = part.strip(row, content_width)
                if self._search is not None:
                    marks = self._search.marks(part, row, content_width, self.line_limit)
                    if marks:
                        strip = mark_strip(
                            strip,
                            marks,
                            self._style("transcript--match"),
                            self._style("transcript--match-current"),
                        )
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

    # -- search --------------------------------------------------------------------------

    @property
    def _pinned(self) -> bool:
        """A match is shown: the view stays on it, whatever streams in."""
        return self._search is not None and self._search.current is not None

    @property
    def searching(self) -> bool:
        """Whether a search is open."""
        return self._search is not None

    def open_search(self) -> None:
        """Start searching from here: Escape (`close_search(restore=True)`) comes back."""
        if self._search is None:
            self._search = SearchState((self.scroll_y, self.follow))

    def search_for(self, query: Query) -> None:
        """Find `query` and show the match nearest above the bottom of where the search
        opened (the newest output before what was on screen)."""
        state = self._search
        if state is None:
            return
        state.index.set_query(query)
        state.current = None
        self._search_again()
        if state.hits:
            origin_y, following = state.origin
            bottom = self._height if following else origin_y + self.scrollable_content_region.height
            # Matches are in row order: the last that starts above the bottom.
            low, high = 0, len(state.hits)
            while low < high:
                middle = (low + high) // 2
                if self._row_of(state.hits[middle]) < bottom:
                    low = middle + 1
                else:
                    high = middle
            state.current = max(0, low - 1)
            self._show_current()
        else:
            self._back_to_origin()
        self._post_search_status()
        self.refresh()

    def step_search(self, forward: bool) -> None:
        """Go to the next (or previous) match, round the ends."""
        state = self._search
        if state is None or not state.hits:
            return
        if state.current is None:
            state.current = 0 if forward else len(state.hits) - 1
        else:
            state.current = (state.current + (1 if forward else -1)) % len(state.hits)
        self._show_current()
        self._post_search_status()
        self.refresh()

    def close_search(self, restore: bool) -> None:
        """Close the search; with `restore`, back to where the reader was when it opened."""
        state = self._search
        if state is None:
            return
        self._search = None
        self._search_status = ""
        if restore:
            self._search = state  # _back_to_origin reads the origin from it
            state.current = None
            self._back_to_origin()
            self._search = None
        self.refresh()

    def action_step_search(self, forward: bool) -> None:
        """Next (n) or previous (N) match, while a search is open."""
        self.step_search(forward)

    def _back_to_origin(self) -> None:
        state = self._search
        if state is None:
            return
        origin_y, following = state.origin
        self.follow = following
        if following:
            self.scroll_end(animate=False, immediate=True, x_axis=False)
        else:
            self.scroll_to(y=origin_y, animate=False, immediate=True)

    def _search_again(self) -> None:
        """Search the parts as laid out now (new output, a new width, a new query)."""
        state = self._search
        if state is None:
            return
        sources = state.sources(
            self._entries, lambda entry: self._parts.get(id(entry), []), self._layout_width
        )
        state.update(sources)
        self._post_search_status()

    def _post_search_status(self) -> None:
        state = self._search
        status = state.status() if state is not None else ""
        if status != self._search_status:
            self._search_status = status
            self.post_message(self.SearchCounted(status))

    def _row_of(self, hit: Hit) -> int:
        """The first row of the transcript a match is on."""
        state = self._search
        assert state is not None
        entry, part_index = state.place_of(hit)
        width = self._layout_width
        row = self._offsets[self._index_of[id(entry)]]
        parts = self._parts.get(id(entry), [])
        row += sum(part.height(width) for part in parts[:part_index])
        return state.rows_of(hit, row, width, self.line_limit)[0][0]

    def _show_current(self) -> None:
        """Scroll the current match into view, a third of the way down when it was off
        screen; the view then stays there while output streams in."""
        state = self._search
        if state is None or state.current is None:
            return
        row = self._row_of(state.hits[state.current])
        height = self.scrollable_content_region.height or self.size.height
        self.follow = False
        top = round(self.scroll_y)
        if not top <= row < top + height:
            self.scroll_to(y=max(0, row - height // 3), animate=False, immediate=True, force=True)

    # -- cells ---------------------------------------------------------------------------

    def _cells(self) -> list[int]:
        return [index for index, entry in enumerate(self._entries) if isinstance(entry, Cell)]

    def action_select_cell(self, step: int) -> None:
        """Select the next (`step` 1) or previous (-1) cell; the first press selects the
        last cell that starts on screen."""
        cells = self._cells()
        if not cells:
            return
        selected = self.selected
        at = self._index_of.get(id(selected)) if selected is not None else None
        if at is None or at not in cells:
            bottom = round(self.scroll_y) + self.scrollable_content_region.height
            above = [index for index in cells if self._offsets[index] < bottom]
            choice = above[-1] if above else cells[0]
        else:
            position = cells.index(at) + step
            choice = cells[max(0, min(len(cells) - 1, position))]
        entry = self._entries[choice]
        assert isinstance(entry, Cell)
        self.selected = entry
        row = self._offsets[choice]
        height = self.scrollable_content_region.height or self.size.height
        top = round(self.scroll_y)
        if not top <= row < top + height:
            self.follow = False
            self.scroll_to(y=max(0, row - 1), animate=False, immediate=True, force=True)
        self.refresh()

    def _cell_label(self, cell: Cell) -> str:
        count = cell.execution_count
        return f"In [{count}]" if count is not None else "the cell"

    def action_copy_cell(self, what: str) -> None:
        """Copy the selected cell's code as its author typed it (`code`), its output as
        shown (`output`), or both, to the clipboard (OSC 52: works over SSH, in tmux)."""
        cell = self.selected
        if cell is None:
            self.notify("select a cell first (j / k)", timeout=2)
            return
        label = self._cell_label(cell)
        code = cell.source
        output = cell_output_text(cell)
        if what == "code":
            if code is None:
                self.notify(f"{label} ran before you joined: its code was never seen", timeout=3)
                return
            text, told = code, "code"
        elif what == "output":
            if not output:
                self.notify(f"{label} has no output", timeout=2)
                return
            text, told = output, "output"
        else:
            text = "\n\n".join(part for part in ((code or "").rstrip("\n"), output) if part)
            told = "code and output"
        self.app.copy_to_clipboard(text)
        lines = text.count("\n") + 1
        self.notify(
            f"copied {label}'s {told} ({lines:,} line{'s' if lines != 1 else ''})", timeout=2
        )

    def action_edit_cell(self) -> None:
        """Put the selected cell's code (anyone's) in the editor, to change or run again."""
        cell = self.selected
        if cell is None:
            self.notify("select a cell first (j / k)", timeout=2)
            return
        if cell.source is None:
            label = self._cell_label(cell)
            self.notify(f"{label} ran before you joined: its code was never seen", timeout=3)
            return
        self.post_message(self.EditRequested(cell.source))

    def action_leave(self) -> None:
        """Escape: close an open search where it is; else let go of the selected cell."""
        if self._search is not None:
            self.post_message(self.SearchLeft())
        elif self.selected is not None:
            self.selected = None
            self.refresh()

    def on_focus(self, event: events.Focus) -> None:
        """Show the selected cell's mark."""
        self.refresh()

    def on_blur(self, event: events.Blur) -> None:
        """Hide the selected cell's mark: the keys that use it work only here."""
        self.refresh()
