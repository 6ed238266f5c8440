"""The cell editor: multi-line, with history and kernel completion."""

from __future__ import annotations

from dataclasses import dataclass

from textual import events
from textual.binding import Binding
from textual.message import Message
from textual.widgets import TextArea

__all__ = ["CellEditor"]


class CellEditor(TextArea):
    """A TextArea that runs cells, walks history and asks for completions.

    Enter does not decide by itself whether a cell is finished: it posts `RunRequested`
    and the app asks the kernel (`is_complete_request`), answering with `run` or
    `insert_newline`, then `decided()`. The editor knows nothing about kernels.

    Keys typed before that answer (type-ahead: a fast typist, or keys that an SSH
    session delivers in one packet) are held and applied after it, in order, as a
    console that waits for its answer would: typed into the editor at once, they would
    be wiped with the cell that ran, or land in the wrong cell.
    """

    BINDINGS = [
        Binding("ctrl+r", "run(True)", "Run", tooltip="Run the cell as it is"),
        Binding("ctrl+j", "newline", "Newline", show=False),
    ]

    @dataclass
    class RunRequested(Message):
        """The user pressed Enter (force=False) or the run key (force=True)."""

        editor: CellEditor
        code: str
        force: bool

    @dataclass
    class CompletionRequested(Message):
        editor: CellEditor
        code: str
        cursor_offset: int

    @dataclass
    class MenuKey(Message):
        """A key meant for the completion menu while it is open (enter, tab, arrows,
        escape), or any other key, which closes it."""

        editor: CellEditor
        key: str

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(
            id=id,
            classes=classes,
            soft_wrap=True,
            tab_behavior="indent",
            show_line_numbers=False,
            compact=True,
            highlight_cursor_line=False,
        )
        # A blinking cursor redraws twice a second forever: bytes over SSH for nothing.
        self.cursor_blink = False
        self.cell_history: list[str] = []
        self._history_index: int | None = None
        self._draft = ""
        self.menu_open = False
        """Set by the app while the completion menu is shown: Enter and arrows go there."""
        self.awaiting = False
        """A cell was submitted and the app has not yet `decided()` what it was."""
        self._held: list[events.Key] = []

    # -- history -------------------------------------------------------------------------

    def set_history(self, entries: list[str]) -> None:
        """Replace the history (the kernel's inputs at attach), keeping cells run since."""
        self.cell_history = [entry for entry in entries if entry.strip()]
        self._history_index = None

    def remember(self, code: str) -> None:
        if code.strip() and (not self.cell_history or self.cell_history[-1] != code):
            self.cell_history.append(code)
        self._history_index = None

    def _show_history(self, index: int | None) -> None:
        self._history_index = index
        text = self._draft if index is None else self.cell_history[index]
        self.load_text(text)
        self.move_cursor(self.document.end)

    def history_previous(self) -> bool:
        if not self.cell_history:
            return False
        if self._history_index is None:
            self._draft = self.text
            self._show_history(len(self.cell_history) - 1)
        elif self._history_index > 0:
            self._show_history(self._history_index - 1)
        return True

    def history_next(self) -> bool:
        if self._history_index is None:
            return False
        if self._history_index < len(self.cell_history) - 1:
            self._show_history(self._history_index + 1)
        else:
            self._show_history(None)
        return True

    # -- keys ----------------------------------------------------------------------------

    def cursor_offset(self) -> int:
        row, column = self.cursor_location
        lines = self.text.split("\n")
        return sum(len(line) + 1 for line in lines[:row]) + column

    def action_run(self, force: bool = True) -> None:
        if self.awaiting:
            return  # the run key pressed twice: the first is still being decided
        self.awaiting = True
        self.post_message(self.RunRequested(self, self.text, force))

    HELD_KEYS = ("enter", "backspace", "tab", "ctrl+r", "ctrl+j")
    """Besides printable characters, the keys type-ahead is made of; any other key
    (arrows, history, bindings) acts at once: unlikely within milliseconds of Enter."""

    def decided(self) -> None:
        """The app has run the cell, continued it on a new line, or dropped it: apply the
        keys typed meanwhile. An Enter among them submits again, and holds the rest."""
        self.awaiting = False
        while self._held and not self.awaiting:
            event = self._held.pop(0)
            if event.key in ("enter", "ctrl+r"):
                self.action_run(event.key == "ctrl+r")
            elif event.key == "ctrl+j":
                self.insert_newline()
            elif event.key == "backspace":
                self.action_delete_left()
            elif event.key == "tab" and not self._complete_at_cursor():
                # At the start of a line: to the next tab stop, as TextArea does a typed Tab.
                column = self.cursor_location[1]
                self.insert(" " * (self.indent_width - column % self.indent_width))
            elif event.character is not None:
                self.insert(event.character)

    def _complete_at_cursor(self) -> bool:
        """After text on the line, Tab asks for completions (True); at its start it
        indents (False, and left to the caller)."""
        row, column = self.cursor_location
        if not self.document.get_line(row)[:column].strip():
            return False
        self.post_message(self.CompletionRequested(self, self.text, self.cursor_offset()))
        return True

    def action_newline(self) -> None:
        self.insert_newline()

    def insert_newline(self) -> None:
        """Newline keeping the current indentation, one level more after a colon."""
        row, column = self.cursor_location
        line = self.document.get_line(row)[:column]
        indent = line[: len(line) - len(line.lstrip())]
        if line.rstrip().endswith((":", "(", "[", "{")):
            indent += "    "
        self.insert("\n" + indent)

    async def _on_key(self, event: events.Key) -> None:
        key = event.key
        if self.awaiting and (event.is_printable or key in self.HELD_KEYS):
            event.stop()
            event.prevent_default()
            self._held.append(event)
            return
        if self.menu_open:
            self.post_message(self.MenuKey(self, key))
            if key in ("enter", "tab", "up", "down", "escape"):
                event.stop()
                event.prevent_default()
                return
        if key == "enter":
            event.stop()
            event.prevent_default()
            self.action_run(False)
            return
        if key == "tab" and self._complete_at_cursor():
            event.stop()
            event.prevent_default()
            return
        if key == "up" and self.cursor_at_first_line and self.history_previous():
            event.stop()
            event.prevent_default()
            return
        if key == "down" and self.cursor_at_last_line and self.history_next():
            event.stop()
            event.prevent_default()
            return
        await super()._on_key(event)
