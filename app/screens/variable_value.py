"""One variable's whole value, from the kernel's richInspectVariables, drawn by the same
mime renderers as the transcript's outputs."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Footer, Label, Static

from nbtui.widgets.mime import render_data

if TYPE_CHECKING:
    from nbtui.app.kernel.variables import RichValue, VariableRow

__all__ = ["VariableValueScreen"]


class VariableValueScreen(ModalScreen[None]):
    """A variable's name and type over its value (the richest bundle the terminal can
    show), or the one line saying why there is none.

    Args:
        row: The variable as the table showed it.
        value: What richInspectVariables answered.
    """

    BINDINGS = [Binding("escape,q", "close", "Close")]

    DEFAULT_CSS = """
    VariableValueScreen { background: $background; }
    VariableValueScreen > Label { width: 1fr; padding: 0 1; background: $panel; }
    VariableValueScreen > VerticalScroll { height: 1fr; padding: 0 1; }
    """

    def __init__(self, row: VariableRow, value: RichValue) -> None:
        super().__init__()
        self.row = row
        self.value = value

    def compose(self) -> ComposeResult:
        """The title line, the value, and the footer."""
        yield Label(Text(f"{self.row.name} · {self.row.type} · escape closes"))
        with VerticalScroll(id="variable-value"):
            yield Static(id="variable-value-body")
        yield Footer()

    def on_mount(self) -> None:
        """Render the bundle at the screen's width (or the reason there is none)."""
        body = self.query_one("#variable-value-body", Static)
        if self.value.data:
            width = max(20, self.size.width - 2)
            body.update(render_data(self.value.data, self.value.metadata, width))
        else:
            # The table's (sanitized, pydevd-capped) repr is better than nothing.
            body.update(Text(f"{self.value.message}\n\n{self.row.value}"))
        self.query_one(VerticalScroll).focus()

    def action_close(self) -> None:
        """Back to the console."""
        self.dismiss(None)
