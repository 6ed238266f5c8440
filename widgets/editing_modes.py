"""vi and emacs editing modes for the cell editor, with the keys IPython users have.

A mode sees each key the editor applies, in order, before the editor's own handling
(`CellEditor._apply_key`), and returns whether it took the key: the editor applies every
key itself, in arrival order (a key bubbled to a binding was overtaken by later ones), and
a mode keeps that by acting at once, never through a binding.

- `default`: TextArea's keys (ctrl+a/ctrl+e line start/end, ctrl+k kill, ctrl+z undo).
- `emacs`: readline's: ctrl+a ctrl+e, ctrl+b ctrl+f (a character), alt+b alt+f (a word),
  ctrl+d (delete forward), ctrl+k (kill to the end of the line) and ctrl+y (yank the last
  kill). ctrl+f is the search key elsewhere: in the editor, in emacs mode, it moves
  forward, as emacs users' fingers expect; search stays on the palette and on the keys of
  the transcript. A key the app binds with priority never reaches the editor at all.
- `vi`: insert mode first; Escape to normal mode, where h j k l w b 0 $ move (k and j at
  the first and last line walk the history), x deletes a character, dd the line, u undoes,
  i a A I o O go back to insert. Enter runs the cell from either mode.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, ClassVar, Final

if TYPE_CHECKING:
    from textual import events

    from nbtui.widgets.editor import CellEditor

__all__ = ["EDITING_MODES", "EditingMode", "EmacsMode", "ViMode", "make_mode"]

EDITING_MODES: Final = ("default", "vi", "emacs")
"""The names `--editing-mode` and the config file's `editing-mode` take."""


_APP_KEY: Final = re.compile(r"ctrl\+.*|f\d+")
"""Keys that are the app's in every mode (ctrl+c, F2, ...): never a vi command."""


class EditingMode:
    """The default mode: takes no key (TextArea's and the editor's own keys apply)."""

    name: ClassVar[str] = "default"
    """The mode's name, one of `EDITING_MODES`."""

    @property
    def label(self) -> str:
        """What the status line shows about the mode ("" for nothing)."""
        return ""

    def claims(self, key: str) -> bool:
        """Whether `key` is the mode's to apply (held with the editor's own while a cell
        is being decided, so it lands in order)."""
        return False

    def handle(self, editor: CellEditor, event: events.Key) -> bool:
        """Apply `event` to `editor` if it is the mode's; True when it was."""
        return False

    def reset(self, editor: CellEditor) -> None:
        """A new cell: back to the mode's first state."""


class EmacsMode(EditingMode):
    """readline's keys, with a one-entry kill ring (ctrl+k kills, ctrl+y yanks)."""

    name: ClassVar[str] = "emacs"

    MOVES: ClassVar[dict[str, str]] = {
        "ctrl+a": "cursor_line_start",
        "ctrl+e": "cursor_line_end",
        "ctrl+b": "cursor_left",
        "ctrl+f": "cursor_right",
        "alt+b": "cursor_word_left",
        "alt+f": "cursor_word_right",
        "ctrl+d": "delete_right",
    }
    """Keys that are one TextArea action each."""

    def __init__(self) -> None:
        self.killed = ""
        """The last text ctrl+k killed, for ctrl+y."""

    def claims(self, key: str) -> bool:
        """Its keys: the moves, ctrl+k and ctrl+y."""
        return key in self.MOVES or key in ("ctrl+k", "ctrl+y")

    def handle(self, editor: CellEditor, event: events.Key) -> bool:
        """Move, kill or yank."""
        key = event.key
        if key in self.MOVES:
            action = self.MOVES[key]
            if action == "delete_right" and editor.read_only:
                return True
            getattr(editor, f"action_{action}")()
            return True
        if editor.read_only:
            return False
        if key == "ctrl+k":
            row, column = editor.cursor_location
            line = editor.document.get_line(row)
            if column < len(line):
                end = (row, len(line))
            elif row + 1 < editor.document.line_count:
                end = (row + 1, 0)  # at the end of a line: kill the line break
            else:
                return True
            self.killed = editor.get_text_range((row, column), end)
            editor.delete((row, column), end, maintain_selection_offset=False)
            return True
        if key == "ctrl+y":
            if self.killed:
                editor.insert(self.killed)
            return True
        return False


class ViMode(EditingMode):
    """vi's insert and normal modes; the editor shows which (`label`, class `-vi-normal`)."""

    name: ClassVar[str] = "vi"

    MOVES: ClassVar[dict[str, str]] = {
        "h": "cursor_left",
        "left": "cursor_left",
        "l": "cursor_right",
        "right": "cursor_right",
        "w": "cursor_word_right",
        "b": "cursor_word_left",
        "0": "cursor_line_start",
        "home": "cursor_line_start",
    }
    """Normal-mode keys that are one TextArea action each."""

    def __init__(self) -> None:
        self.normal = False
        """In normal mode (keys are commands), else insert mode (keys are typed)."""
        self._pending = ""

    @property
    def label(self) -> str:
        """`vi normal` or `vi insert`."""
        return "vi normal" if self.normal else "vi insert"

    def claims(self, key: str) -> bool:
        """Escape always; every key but the app's (ctrl and function keys) in normal mode."""
        return key == "escape" or (self.normal and not _APP_KEY.fullmatch(key))

    def _set(self, editor: CellEditor, normal: bool) -> None:
        self._pending = ""
        if normal != self.normal:
            self.normal = normal
            editor.mode_changed()

    def reset(self, editor: CellEditor) -> None:
        """A new cell starts in insert mode, as in IPython."""
        self._set(editor, False)

    def handle(self, editor: CellEditor, event: events.Key) -> bool:
        """Escape to normal mode; in normal mode, the commands."""
        key = event.key
        if not self.normal:
            if key != "escape":
                return False
            if editor.cursor_location[1] > 0:
                editor.action_cursor_left()  # vi leaves the cursor on the last character typed
            self._set(editor, True)
            return True
        if key == "enter" or _APP_KEY.fullmatch(key):
            return False  # Enter runs; the app's keys act
        pending, self._pending = self._pending, ""
        if key in self.MOVES:
            getattr(editor, f"action_{self.MOVES[key]}")()
        elif key in ("dollar_sign", "end"):
            editor.action_cursor_line_end()
            if editor.cursor_location[1] > 0:
                editor.action_cursor_left()  # on the last character, as vi's $
        elif key in ("k", "up"):
            if not (editor.cursor_at_first_line and editor.history_previous()):
                editor.action_cursor_up()
        elif key in ("j", "down"):
            if not (editor.cursor_at_last_line and editor.history_next()):
                editor.action_cursor_down()
        elif editor.read_only:
            return True
        elif key == "x":
            row, column = editor.cursor_location
            if column < len(editor.document.get_line(row)):
                editor.action_delete_right()
        elif key == "d":
            if pending == "d":
                editor.action_delete_line()
            else:
                self._pending = "d"
        elif key == "u":
            editor.action_undo()
        else:
            return self._to_insert(editor, key)
        return True

    def _to_insert(self, editor: CellEditor, key: str) -> bool:
        """i a A I o O; any other key is swallowed (normal mode types nothing)."""
        row, column = editor.cursor_location
        line = editor.document.get_line(row)
        if key == "a" and column < len(line):
            editor.action_cursor_right()
        elif key == "A":
            editor.action_cursor_line_end()
        elif key == "I":
            editor.move_cursor((row, len(line) - len(line.lstrip())))
        elif key == "o":
            editor.action_cursor_line_end()
            editor.insert("\n" + line[: len(line) - len(line.lstrip())])
        elif key == "O":
            indent = line[: len(line) - len(line.lstrip())]
            editor.move_cursor((row, 0))
            editor.insert(indent + "\n")
            editor.move_cursor((row, len(indent)))
        elif key != "i":
            return True
        self._set(editor, False)
        return True


def make_mode(name: str) -> EditingMode:
    """The editing mode called `name` (one of `EDITING_MODES`), in its first state."""
    modes: dict[str, type[EditingMode]] = {
        "default": EditingMode,
        "vi": ViMode,
        "emacs": EmacsMode,
    }
    return modes[name]()
