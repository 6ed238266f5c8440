"""The list of completions the kernel offered, shown above the editor."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import OptionList

from nbtui.app.kernel.sanitize import sanitize

__all__ = ["CompletionMenu"]


class CompletionMenu(OptionList, can_focus=False):
    """Never takes focus: the editor keeps typing focus and forwards the menu keys."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.start = 0
        """Offset in the editor's text where the span a match replaces begins."""
        self.end = 0
        """Offset where that span ends."""

    def show(self, matches: list[str], start: int, end: int) -> None:
        """Replace the options with the kernel's matches and show the menu, first one highlighted.

        Args:
            matches: The `matches` of a complete_reply (sanitized here, shown as plain text).
            start: Offset in the editor's text where the replaced span begins (`cursor_start`).
            end: Offset where it ends (`cursor_end`); `start`/`end` are kept for the
                caller that applies the chosen match.
        """
        self.start, self.end = start, end
        self.clear_options()
        # Matches come from the kernel: plain text, never markup.
        self.add_options([Text(sanitize(match)) for match in matches])
        self.highlighted = 0
        self.display = True

    def hide(self) -> None:
        """Hide the menu and drop its options."""
        self.display = False
        self.clear_options()

    def take(self) -> str | None:
        """The highlighted match (None for none), and hide: returned, not posted, so that
        the app applies it before the keys typed after the choice."""
        index = self.highlighted
        text = None
        if index is not None and 0 <= index < self.option_count:
            text = str(self.get_option_at_index(index).prompt)
        self.hide()
        return text
