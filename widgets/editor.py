"""The cell editor: multi-line, with history, kernel completion and syntax colours."""

from __future__ import annotations

from dataclasses import dataclass
from inspect import isawaitable
from typing import ClassVar

from pygments.lexer import Lexer
from textual import events
from textual.actions import parse as parse_action
from textual.binding import Binding, BindingsMap, BindingType
from textual.message import Message
from textual.widgets import TextArea

from nbtui.widgets.editing_modes import EditingMode, make_mode
from nbtui.widgets.editor_syntax import SyntaxTextArea
from nbtui.widgets.syntax import SYNTAX

__all__ = ["CellEditor"]


def _editor_bindings() -> list[BindingType]:
    """TextArea's bindings without F6 (select line) and F7 (select all): those keys are
    the app's (focus, tracebacks), and from the editor, where focus lives, TextArea's took
    them (F7 then a letter replaced the whole cell)."""
    return [
        binding
        for binding in TextArea.BINDINGS
        if not (isinstance(binding, Binding) and binding.key in ("f6", "f7"))
    ]


class CellEditor(SyntaxTextArea, inherit_bindings=False):
    """A TextArea that runs cells, walks history and asks for completions.

    Enter does not decide by itself whether a cell is finished: it posts `RunRequested`
    and the app asks the kernel (`is_complete_request`), answering with `run` or
    `insert_newline`, then `decided()`. The editor knows nothing about kernels.

    Keys typed before that answer (type-ahead: a fast typist, or keys that an SSH
    session delivers in one packet) are held and applied after it, in order, as a
    console that waits for its answer would: typed into the editor at once, they would
    be wiped with the cell that ran, or land in the wrong cell. Keys the editor does not
    act on (the app's F-keys, ctrl+c) act at once.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        *_editor_bindings(),
        Binding("ctrl+r", "run(True)", "Run", tooltip="Run the cell as it is", id="run"),
        Binding(
            "ctrl+j",
            "newline",
            "Newline",
            show=False,
            tooltip="A new line in the cell, without running it",
            id="newline",
        ),
    ]

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        f"cell-editor--{name}" for name in set(SYNTAX.values())
    }

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """A read-only editor (observing) has no cell to run: the footer leaves Run out."""
        if self.read_only and action == "run":
            return False
        return super().check_action(action, parameters)

    @dataclass
    class RunRequested(Message):
        """The user pressed Enter (force=False) or the run key (force=True)."""

        editor: CellEditor
        code: str
        force: bool

    @dataclass
    class CompletionRequested(Message):
        """Tab after text on the line: the app asks the kernel to complete `code` at
        `cursor_offset` (a character offset into `code`)."""

        editor: CellEditor
        code: str
        cursor_offset: int

    @dataclass
    class ModeChanged(Message):
        """The editing mode's state changed (vi: normal or insert); `label` is what the
        status line shows, "" for nothing."""

        editor: CellEditor
        label: str

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
        """Cells walked by up/down at the edges of the cell, oldest first, no blanks and
        no immediate repeats."""
        self._history_index: int | None = None
        self._draft = ""
        self.menu_open = False
        """Set by the app while the completion menu is shown: Enter and arrows go there."""
        self.awaiting = False
        """A cell was submitted (or a completion chosen) and the app has not yet
        `decided()` what it was: keys for the editor are held."""
        self._held: list[events.Key | events.Paste] = []
        self._keyed_bindings = self._bindings
        self._mode: EditingMode = make_mode("default")
        self._keymap_seen: object = None
        self._lexer: Lexer | None = None
        self._lexed = False
        self.highlight_language = "python3"

    def on_mount(self) -> None:
        """Take the app's editing mode (`NbtuiApp.editing_mode`, from the config file or
        `--editing-mode`), if it has one."""
        name = getattr(self.app, "editing_mode", "default")
        if name != self._mode.name:
            self.editing_mode = name

    @property
    def editing_mode(self) -> str:
        """`default`, `vi` or `emacs` (widgets/editing_modes.py)."""
        return self._mode.name

    @editing_mode.setter
    def editing_mode(self, name: str) -> None:
        self._mode = make_mode(name)
        self.mode_changed()

    def mode_changed(self) -> None:
        """The mode's state changed: show it (class `-vi-normal`, `ModeChanged`)."""
        self.set_class(self._mode.label == "vi normal", "-vi-normal")
        self.post_message(self.ModeChanged(self, self._mode.label))

    # -- syntax colours: editor_syntax.py (SyntaxTextArea) ----------------------------

    # -- history -------------------------------------------------------------------------

    def set_history(self, entries: list[str]) -> None:
        """Replace the history (the kernel's inputs at attach), keeping cells run since."""
        self.cell_history = [entry for entry in entries if entry.strip()]
        self._history_index = None

    def remember(self, code: str) -> None:
        """Append a cell that was run to the history (blank ones and a repeat of the last
        are skipped), and stop walking the history."""
        if code.strip() and (not self.cell_history or self.cell_history[-1] != code):
            self.cell_history.append(code)
        self._history_index = None

    def _show_history(self, index: int | None) -> None:
        self._history_index = index
        text = self._draft if index is None else self.cell_history[index]
        self.load_text(text)
        self.move_cursor(self.document.end)

    def history_previous(self) -> bool:
        """Show the previous history entry, saving the unsent draft on the first step.

        Returns:
            False when the history is empty (the key then moves the cursor as usual).
        """
        if not self.cell_history:
            return False
        if self._history_index is None:
            self._draft = self.text
            self._show_history(len(self.cell_history) - 1)
        elif self._history_index > 0:
            self._show_history(self._history_index - 1)
        return True

    def history_next(self) -> bool:
        """Show the next history entry, or the saved draft after the newest.

        Returns:
            False when not walking the history (the key then moves the cursor as usual).
        """
        if self._history_index is None:
            return False
        if self._history_index < len(self.cell_history) - 1:
            self._show_history(self._history_index + 1)
        else:
            self._show_history(None)
        return True

    # -- keys ----------------------------------------------------------------------------

    def cursor_offset(self) -> int:
        """The cursor as a character offset into `text` (what complete_request's
        `cursor_pos` expects)."""
        row, column = self.cursor_location
        lines = self.text.split("\n")
        return sum(len(line) + 1 for line in lines[:row]) + column

    def action_run(self, force: bool = True) -> None:
        """Post `RunRequested` for the whole cell and hold further keys until `decided()`.

        Args:
            force: Run as it is (the run key); False for Enter, where the app may
                continue an incomplete cell on a new line instead.
        """
        if self.awaiting:
            return  # the run key pressed twice: the first is still being decided
        self.awaiting = True
        self._mode.reset(self)
        self.post_message(self.RunRequested(self, self.text, force))

    OWN_KEYS = frozenset({"enter", "tab", "escape", "up", "down"})
    """Keys the editor handles itself besides printable ones and its bindings."""

    def _for_editor(self, event: events.Key) -> bool:
        """Whether the editor acts on `event`; other keys (the app's F-keys) go on to the
        app, also while keys are held: what they do does not touch the cell."""
        key = event.key
        return (
            event.is_printable
            or key in self.OWN_KEYS
            or key in self._keyed().key_to_bindings
            or self._mode.claims(key)
        )

    def claims(self, key: str) -> bool:
        """Whether the editing mode makes `key` the editor's (emacs: ctrl+f), before any
        binding of the app's."""
        return self._mode.claims(key)

    def _keyed(self) -> BindingsMap:
        """The editor's bindings with the app's keymap (the config file's `[keys]`) applied,
        as Textual applies it to the bindings it dispatches."""
        keymap = self.app._keymap
        if self._keymap_seen is not keymap:
            bindings = self._bindings.copy()
            if keymap:
                bindings.apply_keymap(keymap)
            self._keyed_bindings, self._keymap_seen = bindings, keymap
        return self._keyed_bindings

    def decided(self) -> None:
        """The app has run the cell, continued it on a new line, or dropped it (or applied
        the chosen completion): apply the keys typed meanwhile, in order. An Enter among
        them submits again, and holds the rest."""
        self.awaiting = False
        while self._held and not self.awaiting:
            held = self._held.pop(0)
            if isinstance(held, events.Paste):
                self._paste(held.text)
            else:
                self._apply_key(held)

    async def _on_key(self, event: events.Key) -> None:
        if self.awaiting and self._for_editor(event):
            event.stop()
            event.prevent_default()
            self._held.append(event)
            return
        if self._apply_key(event):
            event.stop()
            event.prevent_default()

    async def _on_paste(self, event: events.Paste) -> None:
        event.stop()
        event.prevent_default()
        if self.awaiting:
            self._held.append(event)
        else:
            self._paste(event.text)

    def _paste(self, text: str) -> None:
        if self.read_only:
            return
        result = self.replace(text, *self.selection, maintain_selection_offset=False)
        self.move_cursor(result.end_location)

    def _apply_key(self, event: events.Key) -> bool:
        """Act on one key, now; False for a key that is not the editor's (it goes on to the
        app's bindings).

        Every key the editor acts on is applied here, synchronously, bindings included.
        TextArea inserts printable keys in `_on_key` but leaves bound keys (backspace,
        ctrl+j, delete, arrows) to bubble through the message queue of every ancestor
        up to the app, which only then runs the binding: keys that arrived after them
        were typed first, and Enter could run a cell before its backspaces applied
        (Textual #6605)."""
        key = event.key
        if self.menu_open:
            self.post_message(self.MenuKey(self, key))
            if key in ("enter", "tab"):
                # The app applies the match, then `decided()`: keys typed after the
                # choice are held until then, to land after it.
                self.awaiting = True
                return True
            if key in ("up", "down", "escape"):
                return True
        if self._mode.handle(self, event):
            return True
        if key == "escape":
            # TextArea moves focus on (tab_behavior="indent"): what is typed next would
            # go nowhere. Escape closes the menu (above), and otherwise does nothing.
            return True
        if key == "enter":
            self.action_run(False)
            return True
        if key == "tab":
            if not self._complete_at_cursor() and not self.read_only:
                # At the start of a line: to the next tab stop, as TextArea does a Tab.
                column = self.cursor_location[1]
                self.insert(" " * (self.indent_width - column % self.indent_width))
            return True
        if key == "up" and self.cursor_at_first_line and self.history_previous():
            return True
        if key == "down" and self.cursor_at_last_line and self.history_next():
            return True
        if self._run_binding(key):
            return True
        if event.is_printable and event.character is not None and not self.read_only:
            self.replace(event.character, *self.selection, maintain_selection_offset=False)
            return True
        return False

    def _run_binding(self, key: str) -> bool:
        """Run the editor's own binding for `key` at once, as the app would after the
        key bubbled up to it."""
        for binding in self._keyed().key_to_bindings.get(key, ()):
            namespace, name, parameters = parse_action(binding.action)
            method = getattr(self, f"action_{name}", None)
            if namespace or method is None or not self.check_action(name, parameters):
                continue
            result = method(*parameters)
            if isawaitable(result):
                # No binding of the editor's is a coroutine today; one would still run,
                # if no longer strictly in order.
                self.run_worker(result, group="editor-action")
            return True
        return False

    def _complete_at_cursor(self) -> bool:
        """After text on the line, Tab asks for completions (True); at its start it
        indents (False, and left to the caller)."""
        row, column = self.cursor_location
        if not self.document.get_line(row)[:column].strip():
            return False
        self.post_message(self.CompletionRequested(self, self.text, self.cursor_offset()))
        return True

    def action_newline(self) -> None:
        """Insert an indented newline without running the cell (ctrl+j)."""
        if not self.read_only:  # observing: nothing is typed into the cell
            self.insert_newline()

    def insert_newline(self) -> None:
        """Newline keeping the current indentation, one level more after a colon."""
        row, column = self.cursor_location
        line = self.document.get_line(row)[:column]
        indent = line[: len(line) - len(line.lstrip())]
        if line.rstrip().endswith((":", "(", "[", "{")):
            indent += "    "
        self.insert("\n" + indent)

    # -- readline's kills, on logical lines ----------------------------------------------
    # TextArea's ctrl+u and ctrl+k stop at the edge of the visual row: on a soft-wrapped
    # line they deleted a piece of it. readline (and every shell) kills to the start or
    # end of the whole line.

    def action_delete_to_start_of_line(self) -> None:
        """Delete from the cursor to the start of its line (at the start, join the line
        with the one before)."""
        if self.read_only:
            return
        start, end = self.selection
        row, column = end
        if column == 0:
            if start == end:
                start = self.get_cursor_left_location()
            self.delete(start, end, maintain_selection_offset=False)
        else:
            self.delete((row, 0), end, maintain_selection_offset=False)

    def action_delete_to_end_of_line(self) -> None:
        """Delete from the cursor to the end of its line."""
        if self.read_only:
            return
        row, column = self.selection.end
        self.delete(
            (row, column), (row, len(self.document.get_line(row))), maintain_selection_offset=False
        )

    def action_delete_to_end_of_line_or_delete_line(self) -> None:  # type: ignore[override]
        """ctrl+k: delete to the end of the line; at its end, join the next line; on an
        empty line, delete the line."""
        row, column = self.selection.end
        line = self.document.get_line(row)
        if not line:
            self.action_delete_line()
        elif self.selection.is_empty and column == len(line):
            self.action_delete_right()
        else:
            self.action_delete_to_end_of_line()
