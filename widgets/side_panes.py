"""The side panes' container: beside the transcript when wide, an overlay when narrow."""

from __future__ import annotations

from textual.binding import Binding
from textual.containers import VerticalScroll

__all__ = ["SidePanes"]


class SidePanes(VerticalScroll):
    """The connection, liveness, resource and peers panes, one below the other.

    At 80x24 the overlay is taller than the room it has, so it scrolls and takes the
    focus while open: arrows, PageUp/PageDown and Home/End reach the lowest pane (the
    peers) with no mouse. Escape closes it, as F2 does.
    """

    BINDINGS = [Binding("escape", "app.toggle_panes", "Close", show=False)]

    HINT = "↑↓ PgUp PgDn scroll · Esc close"
    """Shown in the overlay's lower border (the side-by-side panes have none)."""

    def on_mount(self) -> None:
        """Put the key hint in the border (only the overlay layout draws one)."""
        self.border_subtitle = self.HINT
