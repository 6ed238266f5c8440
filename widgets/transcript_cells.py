"""The transcript's cell keys: select a cell (j, k), copy its code or output (OSC 52),
put its code in the editor."""

from __future__ import annotations

from textual import events
from textual.message import Message
from textual.scroll_view import ScrollView

from nbtui.app.kernel.model import Cell, Entry
from nbtui.widgets.transcript_entries import cell_output_text

__all__ = ["CellKeys"]


class CellKeys(ScrollView):
    """The transcript view's base that selects cells and copies or edits them."""

    # Namespaced as the view's own, as it was when the view defined it.
    class EditRequested(Message, namespace="transcript_view"):
        """The reader asked to put a cell's code in the editor (`e`), not to run it."""

        def __init__(self, code: str) -> None:
            super().__init__()
            self.code = code

    # The view's, declared for the type checker (TranscriptView.__init__ sets them).
    selected: Cell | None
    _entries: list[Entry]
    _offsets: list[int]
    _index_of: dict[int, int]
    follow: bool

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

    def on_focus(self, event: events.Focus) -> None:
        """Show the selected cell's mark."""
        self.refresh()

    def on_blur(self, event: events.Blur) -> None:
        """Hide the selected cell's mark: the keys that use it work only here."""
        self.refresh()
