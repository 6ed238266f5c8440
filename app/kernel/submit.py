"""Sending cells and what comes of them: Enter's verdict, the replies, `input()`, ctrl+c.

`CellSubmission` is the part of `KernelSession` that sends; it lives here to keep each
file readable, and uses the session's client, model, state and deadlines.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, Literal

from nbtui.app.kernel.cells import calls_exit, locally_complete, only_exit, plainly_complete
from nbtui.app.kernel.notices import (
    asked_exit,
    exit_refused,
    interrupt_ignored,
    not_sent_while,
)

if TYPE_CHECKING:
    from nbtui.app.kernel.changes import SessionChanges
    from nbtui.app.kernel.client import KernelClient
    from nbtui.app.kernel.deadlines import Deadlines
    from nbtui.app.kernel.messages import Msg
    from nbtui.app.kernel.model import Transcript
    from nbtui.app.kernel.target import OwnedKernel

__all__ = ["CellSubmission", "Verdict"]

Verdict = Literal["empty", "exit", "more", "refused", "run"]
"""What Enter does with a cell: nothing, leave nbtui, a new line (more to come), keep it
in the editor (a notice says why), run it."""


class CellSubmission:
    """Sends cells and `input()` answers, interrupts, and reads what came of them."""

    INTERRUPT_GRACE = 3.0
    """Seconds after an interrupt before saying the kernel ignored it."""
    JUST_STARTED = 1.0
    """Seconds after a cell's busy within which an ignored interrupt may have landed as
    the cell started (see `interrupt_ignored`)."""

    # The session's, declared for the type checker.
    client: KernelClient
    model: Transcript
    own_kernel: OwnedKernel | None
    state: str
    language: str
    closing: bool
    deadlines: Deadlines
    on_change: Callable[[], None]
    _changes: SessionChanges
    _interrupted_cells: set[str]
    _interrupted_input: Msg | None

    def _spawn(self, work: Coroutine[Any, Any, Any]) -> None:
        raise NotImplementedError

    async def judge(self, code: str, force: bool) -> Verdict:
        """What Enter does with `code` (`force`: run it even if incomplete)."""
        if not code.strip():
            return "empty"
        if only_exit(code, self.language):
            # jupyter console's `exit` shuts down an attached kernel; ours only leaves.
            return "exit"
        if self.state in ("dead", "restarting", "reconnecting"):
            own = self.own_kernel is not None
            join = self.client.info.join_command()
            return self._refuse(not_sent_while(self.state, own, join))
        if self.language.startswith("python") and calls_exit(code):
            return self._refuse(exit_refused(self.own_kernel is not None))
        if not force and not plainly_complete(code, self.language):
            verdict = await self.client.is_complete(code)
            if verdict is None:
                complete = locally_complete(code, self.language)
            else:
                complete = verdict != "incomplete"
            if not complete:
                return "more"
        await self._interrupt_taken()
        return "run"

    def _refuse(self, why: str) -> Verdict:
        """Say why the cell was not sent; it stays in the editor, to edit or resend."""
        self.model.add_notice(f"not sent: {why}", "warning")
        return "refused"

    async def _interrupt_taken(self) -> None:
        """Wait (a little) for the cells ctrl+c interrupted to end: ipykernel aborts every
        request queued behind a cell that fails, so a cell typed just after ctrl+c, sent
        before the KeyboardInterrupt lands, would be aborted with it."""
        waiting = [key for key in self._interrupted_cells if not self.client.replied(key)]
        if waiting:
            replies = asyncio.gather(*(self.client.execute_reply(key) for key in waiting))
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(replies, self.INTERRUPT_GRACE)

    def execute(self, code: str) -> str:
        """Send a cell to the kernel and put it in the transcript; returns its msg_id."""
        msg_id = self.client.execute(code)
        self.model.add_own_cell(msg_id, code, self.client.username)
        return msg_id

    async def await_reply(self, msg_id: str) -> bool:
        """Wait for our cell's end (its execute_reply) and act on the kernel's `ask_exit`
        payload; True when the console should leave."""
        reply = await self.client.execute_reply(msg_id)
        if reply is None or self.closing:
            return False
        payloads = reply.content.get("payload")
        asked = [
            payload
            for payload in (payloads if isinstance(payloads, list) else [])
            if isinstance(payload, dict) and payload.get("source") == "ask_exit"
        ]
        if not asked:
            return False
        if asked[0].get("keepkernel") or self.own_kernel is not None:
            # `exit(keep_kernel=True)`: the kernel stays, the console leaves (as jupyter
            # console does); our own kernel is going anyway, and so do we.
            return True
        # Reading the code could not see it coming (`eval("exit()")`): say what happened.
        cell = self.model.cells.get(msg_id)
        self.model.add_notice(*asked_exit(cell.execution_count if cell else None))
        self.on_change()
        return False

    def answer_input(self, request: Msg, value: str) -> None:
        """Answer the kernel's `input()`, and keep prompt and answer in the cell's output
        (the kernel echoes neither); not once the cell has ended."""
        if self.client.replied(request.parent_id):
            return
        self.client.input_reply(value, request)
        self.model.add_input(request, value)

    async def interrupt(self, waiting_input: Msg | None = None) -> bool:
        """Interrupt what runs (False: nothing runs, nor waits for `waiting_input`, the
        open `input()` prompt); says so if the kernel ignores it, and gives the prompt
        back then."""
        if not self.model.busy and waiting_input is None:
            return False
        running = set(self.model.running)
        # Message times are time.monotonic's, not `clock`'s.
        now = time.monotonic()
        just_started = any(
            cell.started is not None and now - cell.started < self.JUST_STARTED
            for cell in self.model.running.values()
        )
        self._interrupted_cells = {key for key, cell in self.model.running.items() if cell.is_self}
        if self.own_kernel is not None:
            await self.own_kernel.interrupt()
        else:
            self._spawn(self.client.interrupt())
        # The kernel raises KeyboardInterrupt in a pending input(): what is typed next is
        # for the editor. Should the interrupt not take, the prompt comes back.
        self._interrupted_input = waiting_input
        self.deadlines.after(
            self.INTERRUPT_GRACE, lambda: self._check_interrupted(running, just_started)
        )
        return True

    def _check_interrupted(self, running: set[str], just_started: bool = False) -> None:
        asked, self._interrupted_input = self._interrupted_input, None
        self._interrupted_cells = set()
        if running & set(self.model.running):
            self.model.add_notice(*interrupt_ignored(self.INTERRUPT_GRACE, just_started))
        if (
            asked is not None
            and not self.client.replied(asked.parent_id)
            and self.state not in ("dead", "restarted")
        ):
            self._changes.ask_again = asked
        self.on_change()
