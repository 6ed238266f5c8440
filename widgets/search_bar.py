"""The search bar: one line above the editor, `find: epoch  3 of 17  Aa  .*`.

It only says what the reader asks for (a query, next, previous, back); the console
screen tells the transcript, which finds and shows the matches, and sends the count back.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import Input, Label

if TYPE_CHECKING:
    from nbtui.app.kernel.search import Query


__all__ = ["SearchBar"]

HINTS = (
    (110, "alt+c alt+r · ⏎ next · esc back · tab to it"),
    (70, "⏎ next · esc back"),
    (0, ""),
)
"""The keys the bar names, by the least width (columns) that leaves the query room: at 80
columns the whole hint left 8 columns to type in."""


class SearchBar(Horizontal):
    """Where the query is typed; hidden until ctrl+f or `/` opens it."""

    # Out of the footer: the bar says its keys itself, and the footer has no room for them.
    BINDINGS = [
        Binding(
            "escape",
            "close(True)",
            "Back",
            show=False,
            tooltip="Close the search, back where you were",
        ),
        Binding(
            "tab", "stay", "Stay", show=False, tooltip="To the transcript at the match (n / N step)"
        ),
        Binding("shift+enter", "step(False)", "Previous", show=False, tooltip="The previous match"),
        Binding("alt+c", "toggle_case", "Case", show=False, tooltip="Match case exactly, or not"),
        Binding(
            "alt+r",
            "toggle_regex",
            "Regex",
            show=False,
            tooltip="A regular expression, or plain text",
        ),
    ]

    class Changed(Message):
        """The query or its toggles changed: search again."""

        def __init__(self, query: Query) -> None:
            super().__init__()
            self.query = query

    class Stepped(Message):
        """Enter (`forward`) or shift+Enter: the next or previous match."""

        def __init__(self, forward: bool) -> None:
            super().__init__()
            self.forward = forward

    class Stayed(Message):
        """Tab: to the transcript, the search open at the match (n / N step, Escape
        closes it there)."""

    class Closed(Message):
        """Escape: close, back to where the search opened (`restore`)."""

        def __init__(self, restore: bool) -> None:
            super().__init__()
            self.restore = restore

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.case = False
        self.regex = False

    def compose(self) -> ComposeResult:
        """`find:`, the query, the count, and the two toggles."""
        yield Label("find:", id="search-label")
        yield Input(id="search-input", placeholder="text to find")
        yield Label("", id="search-count")
        yield Label("Aa", id="search-case")
        yield Label(".*", id="search-regex")
        yield Label(HINTS[0][1], id="search-hint")

    def on_resize(self) -> None:
        """Name as many keys as leave the query room."""
        width = self.size.width
        hint = next(text for least, text in HINTS if width >= least)
        label = self.query_one("#search-hint", Label)
        label.update(hint)
        label.display = bool(hint)

    @property
    def search_query(self) -> Query:
        """What is typed, with the toggles."""
        from nbtui.app.kernel.search import Query  # noqa: PLC0415 - startup

        return Query(self.query_one(Input).value, case=self.case, regex=self.regex)

    def open(self) -> None:
        """Show the bar and focus the query, all of it selected to type over."""
        self.display = True
        field = self.query_one(Input)
        # At once, not with `focus()`'s deferred call: keys typed with the search key wait
        # in the app's queue behind this action (a priority binding), and must find the
        # query focused when they are forwarded.
        self.screen.set_focus(field)
        field.select_all()

    def show_status(self, status: str) -> None:
        """`3 of 17`, `no matches`, or a bad regex (marked as an error)."""
        count = self.query_one("#search-count", Label)
        count.update(status)
        count.set_class(status.startswith("bad regex") or status == "no matches", "-error")

    @on(Input.Changed, "#search-input")
    def _changed(self, event: Input.Changed) -> None:
        event.stop()
        self.post_message(self.Changed(self.search_query))

    @on(Input.Submitted, "#search-input")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.post_message(self.Stepped(True))

    def action_step(self, forward: bool) -> None:
        """The next or previous match."""
        self.post_message(self.Stepped(forward))

    def action_stay(self) -> None:
        """To the transcript, at the match."""
        self.post_message(self.Stayed())

    def action_close(self, restore: bool) -> None:
        """Close the bar."""
        self.post_message(self.Closed(restore))

    def action_toggle_case(self) -> None:
        """Match case exactly, or not."""
        self.case = not self.case
        self.query_one("#search-case", Label).set_class(self.case, "-on")
        self.post_message(self.Changed(self.search_query))

    def action_toggle_regex(self) -> None:
        """Read the query as a regular expression, or as plain text."""
        self.regex = not self.regex
        self.query_one("#search-regex", Label).set_class(self.regex, "-on")
        self.post_message(self.Changed(self.search_query))
