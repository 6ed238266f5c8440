"""Where to export the session: a one-line path prompt over the console."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label

__all__ = ["ExportPrompt"]


class ExportPrompt(ModalScreen[str | None]):
    """Asks for the file to export to; dismisses with the path typed, or None (Escape).

    Args:
        default: The path offered, selected so that typing replaces it.
        what: What is exported, for the title ("notebook", "Markdown").
    """

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    DEFAULT_CSS = """
    ExportPrompt { align: center middle; }
    ExportPrompt > Vertical { width: 80%; max-width: 100; height: auto; padding: 0 1;
                              border: round $accent; }
    ExportPrompt Input { width: 100%; }
    """

    def __init__(self, default: str, what: str = "notebook") -> None:
        super().__init__()
        self.default = default
        self.what = what

    def compose(self) -> ComposeResult:
        """The title, the path and the keys."""
        with Vertical():
            yield Label(f"Export the session as a {self.what} to:")
            yield Input(value=self.default, id="export-path", select_on_focus=False)
            yield Label("Enter writes (.md: Markdown, else .ipynb) · Escape cancels")

    def on_mount(self) -> None:
        """The cursor at the end of the offered path, ready to edit its name."""
        path = self.query_one(Input)
        path.focus()
        path.cursor_position = len(path.value)

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        value = event.value.strip()
        self.dismiss(value or None)

    def action_cancel(self) -> None:
        """Dismiss without a path."""
        self.dismiss(None)
