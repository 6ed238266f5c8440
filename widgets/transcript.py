"""The transcript: every cell and its output, drawn with Textual's Line API.

One widget draws everything, however many cells and lines there are: each entry of
the model becomes a few parts, and a part renders only the lines that are on screen.
Stream output (where floods happen) is measured and rendered line by line, lazily, so
a million-line print costs a split and a count, not a million Rich renders.

The view lays the parts out and draws them; its bases make the parts
(transcript_build.py), search it (transcript_find.py) and act on its cells
(transcript_cells.py).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Iterable
from itertools import accumulate
from typing import TYPE_CHECKING

from rich.style import Style
from textual.binding import Binding
from textual.cache import LRUCache
from textual.geometry import Region, Size
from textual.scrollbar import ScrollBar
from textual.strip import Strip

from nbtui.app.kernel.model import (
    Cell,
    DataOutput,
    Entry,
    ErrorOutput,
    StreamOutput,
)
from nbtui.widgets.graphics import graphics
from nbtui.widgets.palette import PEER_CLASSES
from nbtui.widgets.scrollbar import KeptScrollBar
from nbtui.widgets.sixel import layer as sixel_layer
from nbtui.widgets.transcript_build import PartsBuilder
from nbtui.widgets.transcript_cells import CellKeys
from nbtui.widgets.transcript_entries import CODE_CLASSES
from nbtui.widgets.transcript_find import SearchKeys
from nbtui.widgets.transcript_parts import Part

if TYPE_CHECKING:
    from nbtui.widgets.transcript_search import SearchState

__all__ = ["LINE_CACHE_SCREENS", "TranscriptView"]

LINE_CACHE_SCREENS = 4
"""Lines whose rows are kept drawn (`line_cache`): this many screens' worth, at least
`_LINE_CACHE_MIN`. Each entry holds a few Strips, each with seven small caches of its own
(~3 KB an entry): 2,048 entries were 7 MiB of a flood's peak RSS, for lines not on screen."""
_LINE_CACHE_MIN = 64


class TranscriptView(SearchKeys, CellKeys, PartsBuilder, can_focus=True):
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
        self.line_cache: LRUCache[tuple[object, ...], list[Strip]] = LRUCache(_LINE_CACHE_MIN)
        self._parts: dict[int, list[Part]] = {}
        self._entries: list[Entry] = []
        """Entries that take rows, in order."""
        self._all_entries: list[Entry] = []
        self._offsets: list[int] = []
        self._height = 0
        self._layout_width = -1
        self._after_drawn: list[Callable[[], object]] = []
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

    # -- model to parts (the parts themselves: transcript_build.py) --------------------

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

    def on_transcript_view_part_laid_out(self, event: PartsBuilder.PartLaidOut) -> None:
        """Swap the rows in: the transcript is laid out again (a document's height is
        known only now) and stays at the end if it followed it."""
        event.stop()
        self._laying_out -= 1
        if not event.part.ready(event.width, event.strips):
            return
        self._relayout()
        if self.follow and not self._pinned:
            self.scroll_end(animate=False, immediate=True, x_axis=False, force=True)
            self.call_after_refresh(self._stick_to_end)
        self.refresh()

    def on_resize(self) -> None:
        """Lay the transcript out again for a new width, staying at the end if following."""
        size = max(_LINE_CACHE_MIN, LINE_CACHE_SCREENS * self.size.height)
        if size != self.line_cache.maxsize:
            # Once full, Textual's LRUCache evicts one entry per insertion whatever its
            # new maxsize: only an empty one takes a new size.
            self.line_cache.clear()
            self.line_cache.maxsize = size
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

    @property
    def vertical_scrollbar(self) -> ScrollBar:
        """The vertical scrollbar, one that keeps its rows (`KeptScrollBar`); made as
        Textual's own property makes its plain one, on first use."""
        if self._vertical_scrollbar is None:
            bar = KeptScrollBar(
                vertical=True, name="vertical", thickness=self.scrollbar_size_vertical
            )
            bar.display = False
            self._vertical_scrollbar = bar
            self.app._start_widget(self, bar)
        return self._vertical_scrollbar

    def render_lines(self, crop: Region) -> list[Strip]:
        """Draw the rows in `crop`, working the base style out once for all of them."""
        # The style behind every row: working it out walks the widget's ancestors, which
        # was most of the cost of a row when done per row.
        self._row_style = self.rich_style
        try:
            lines = super().render_lines(crop)
        finally:
            self._row_style = None
        if graphics.mode == "sixel":
            # Where the pictures' rows landed: drawn over the frame that writes them.
            sixel_layer.note(self, crop, lines)
        if self._after_drawn:
            callbacks, self._after_drawn = self._after_drawn, []
            for callback in callbacks:
                self.call_next(callback)
        return lines

    def after_drawn(self, callback: Callable[[], object]) -> None:
        """Call `callback` in a later step of the event loop, once the view's rows were
        next drawn: what else changes then is drawn in a screen update of its own."""
        self._after_drawn.append(callback)

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
                        from nbtui.widgets.transcript_search import mark_strip  # noqa: PLC0415

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
