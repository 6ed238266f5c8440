"""The kernel's `input()` prompt: one line under the transcript while a cell waits."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import Input, Label

from nbtui.app.kernel.sanitize import sanitize

if TYPE_CHECKING:
    from nbtui.app.kernel.messages import Msg

__all__ = ["StdinPrompt"]


class StdinPrompt(Horizontal):
    """The prompt's text and a field for the answer; shown (class `-active`) while a
    request is open. Posts `Answered` on Enter."""

    class Answered(Message):
        """The user answered `request` with `value`."""

        def __init__(self, request: Msg, value: str) -> None:
            super().__init__()
            self.request = request
            self.value = value

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.request: Msg | None = None
        """The input_request whose prompt is open."""

    def compose(self) -> ComposeResult:
        """The prompt, then the field."""
        yield Label("", id="stdin-prompt")
        yield Input(id="stdin-input")

    def ask(self, request: Msg) -> None:
        """Open the prompt for `request` and take the focus."""
        self.request = request
        # The prompt is the kernel's text: untrusted like any output.
        prompt = sanitize(str(request.content.get("prompt", ""))).strip()
        self.query_one(Label).update(Text(prompt or "input:"))
        field = self.query_one(Input)
        field.password = bool(request.content.get("password"))
        field.value = ""
        self.add_class("-active")
        field.focus()

    def close(self, cell: str | None = None) -> Msg | None:
        """Close the prompt (only if it is `cell`'s, when given); returns the request it
        was open for, None if it was not open."""
        request = self.request
        if request is None or (cell is not None and request.parent_id != cell):
            return None
        self.request = None
        self.query_one(Input).value = ""
        self.remove_class("-active")
        return request

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        request = self.close()
        if request is not None:
            self.post_message(self.Answered(request, event.value))
