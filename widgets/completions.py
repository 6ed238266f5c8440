"""The list of completions the kernel offered, shown above the editor."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.message import Message
from textual.widgets import OptionList

from nbtui.app.kernel.sanitize import sanitize

__all__ = ["CompletionMenu"]


class CompletionMenu(OptionList, can_focus=False):
    """Never takes focus: the editor keeps typing focus and forwards the menu keys."""

    @dataclass
    class Chosen(Message):
        menu: CompletionMenu
        text: str

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.start = 0
        self.end = 0

    def show(self, matches: list[str], start: int, end: int) -> None:
        self.start, self.end = start, end
        self.clear_options()
        # Matches come from the kernel: plain text, never markup.
        self.add_options([Text(sanitize(match)) for match in matches])
        self.highlighted = 0
        self.display = True

    def hide(self) -> None:
        self.display = False
        self.clear_options()

    def choose(self) -> None:
        index = self.highlighted
        if index is not None and 0 <= index < self.option_count:
            self.post_message(self.Chosen(self, str(self.get_option_at_index(index).prompt)))
        self.hide()
