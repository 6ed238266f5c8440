"""The console's `input()` prompt: asked, answered and closed, also before the prompt's
widget is mounted (it is mounted just after the first frame)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import on

from nbtui.app.screens.console_search import ConsoleSearch
from nbtui.widgets.stdin_prompt import StdinPrompt

if TYPE_CHECKING:
    from nbtui.app.kernel.messages import Msg

__all__ = ["ConsoleInput"]


class ConsoleInput(ConsoleSearch):
    """The console screen's base that handles the kernel's `input()` requests.
    `ConsoleScreen` composes the prompt it acts on."""

    _asking: Msg | None = None
    """An input request that came before the prompt was mounted."""

    def _input_request(self) -> Msg | None:
        """The input request whose prompt is open (or about to be)."""
        if self._asking is not None or not self.hidden_mounted:
            return self._asking
        return self.query_one(StdinPrompt).request

    def _ask_input(self, msg: Msg) -> None:
        if self.observe:
            return
        if self.hidden_mounted:
            self.query_one(StdinPrompt).ask(msg)
            return
        # A request in the first moments, before the prompt is mounted.
        self._asking = msg
        self.run_worker(self._ask_when_mounted(), group="stdin")

    async def _ask_when_mounted(self) -> None:
        await self.mount_hidden()
        msg, self._asking = self._asking, None
        if msg is not None:
            self.query_one(StdinPrompt).ask(msg)

    def _close_input(self, cell: str | None = None) -> Msg | None:
        """Close the input prompt (only if it is `cell`'s, when given): the cell that
        asked ended, was interrupted, or the kernel is gone. Focus goes back to the editor
        if it was on the prompt."""
        asking = self._asking
        if asking is not None and (cell is None or asking.parent_id == cell):
            self._asking = None
            return asking
        if not self.hidden_mounted:
            return None
        prompt = self.query_one(StdinPrompt)
        had_focus = prompt.has_focus_within
        request = prompt.close(cell)
        if request is not None and had_focus:
            self.editor.focus()
        return request

    @on(StdinPrompt.Answered)
    def _input_answered(self, event: StdinPrompt.Answered) -> None:
        self.editor.focus()
        if not self.observe:
            self.session.answer_input(event.request, event.value)
            self._frames.schedule()
