"""One output in full, in a screen of its own, with a key to save it to a file."""

from __future__ import annotations

import time
from pathlib import Path

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import ModalScreen
from textual.widgets import Footer, Label, Log

__all__ = ["PagerScreen"]


class PagerScreen(ModalScreen[None]):
    """Shows a long output whole (Textual's Log draws only what is visible)."""

    BINDINGS = [
        Binding("escape,q", "close", "Close"),
        Binding("s", "save", "Save to a file"),
    ]

    DEFAULT_CSS = """
    PagerScreen { background: $background; }
    PagerScreen > Label { width: 1fr; padding: 0 1; background: $panel; }
    PagerScreen > Log { height: 1fr; }
    """

    def __init__(self, title: str, text: str, directory: Path | None = None) -> None:
        super().__init__()
        self.title_text = title
        # The text is already sanitized; only its SGR colours are left, and a Log shows
        # plain lines.
        self.text = Text.from_ansi(text).plain if "\x1b" in text else text
        self.directory = directory or Path.cwd()
        self.saved: Path | None = None

    def compose(self) -> ComposeResult:
        """The title, the output, and the footer."""
        lines = self.text.count("\n") + 1
        yield Label(f"{self.title_text} · {lines:,} lines · s saves · escape closes")
        yield Log(id="pager-log", highlight=False)
        yield Footer()

    def on_mount(self) -> None:
        """Fill the log with the output."""
        log = self.query_one(Log)
        log.write_lines(self.text.split("\n"), scroll_end=False)
        log.focus()

    def action_close(self) -> None:
        """Back to the console."""
        self.dismiss(None)

    def action_save(self) -> None:
        """Save the output to a file."""
        stamp = time.strftime("%Y%m%d-%H%M%S")
        path = self.directory / f"nbtui-output-{stamp}.txt"
        try:
            path.write_text(self.text, encoding="utf-8")
        except OSError as error:
            self.notify(f"could not save: {error}", severity="error")
            return
        self.saved = path
        self.notify(f"saved to {path}")
