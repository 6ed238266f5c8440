"""Output drawn at the frame rate, however fast it arrives."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from nbtui.app import gc_pacing

if TYPE_CHECKING:
    from textual.dom import DOMNode
    from textual.timer import Timer

    from nbtui.app.kernel.deadlines import Deadlines

__all__ = ["FRAME", "FramePump"]

FRAME = 1 / 30
"""Output is drawn at most this often, however fast it arrives."""


class FramePump:
    """Coalesces "something changed" into at most one `draw` per FRAME.

    Args:
        owner: The node whose timers and message queue the pump uses.
        draw: Draws a frame.
    """

    def __init__(self, owner: DOMNode, draw: Callable[[], None]) -> None:
        self._owner = owner
        self._draw = draw
        self._pending = False
        self._timer: Timer | None = None
        self._at = 0.0
        self._last = 0.0
        self._wake: Timer | None = None
        self._wake_at = 0.0

    def schedule(self) -> None:
        """Something changed: draw within a frame."""
        if self._pending:
            return
        self._pending = True
        # Readers may run outside the app's context (they can start before it), so the
        # timer is set from a message the owner itself handles.
        self._owner.call_next(self._due, FRAME)

    def cell_ended(self) -> None:
        """A cell's output is complete: show it after half a frame at most, not a whole
        one. A quick cell's output (ours or a colleague's) comes a few milliseconds after
        the frame that showed it start, and would otherwise wait out the rest of that
        frame; cells ending faster than that still cost no more than 2 frames per FRAME."""
        self._pending = True
        self._owner.call_next(self._due, FRAME / 2)

    async def _due(self, interval: float) -> None:
        at = self._last + interval
        if self._timer is not None:
            if at >= self._at:
                return
            self._timer.stop()
            self._timer = None
        delay = at - time.monotonic()
        if delay > 0.001:
            self._at = at
            self._timer = self._owner.set_timer(delay, self._timed)
        else:
            await self._yield_then_draw()

    async def _timed(self) -> None:
        self._timer = None
        await self._yield_then_draw()

    async def _yield_then_draw(self) -> None:
        # Textual's message pump runs every queued message in one step of the event loop:
        # a late frame, its timer and the next frame's call would otherwise be one stall
        # of several frames, with no keystroke read between them.
        await asyncio.sleep(0)
        self._draw()

    def drawing(self) -> None:
        """A frame is being drawn now: what was pending is in it."""
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        self._pending = False
        self._last = time.monotonic()
        if gc_pacing.pacer is not None:
            gc_pacing.pacer.frame(self._owner.set_timer)

    def wake_for(self, deadlines: Deadlines) -> None:
        """Run `deadlines` when the next is due (an interrupt to check, say), then draw."""
        due = deadlines.next_due()
        if due is None or (self._wake is not None and due >= self._wake_at):
            return
        if self._wake is not None:
            self._wake.stop()

        def run_due() -> None:
            self._wake = None
            deadlines.run_due()
            self.schedule()
            self.wake_for(deadlines)

        self._wake_at = due
        self._wake = self._owner.set_timer(max(due - deadlines.clock(), 0.0), run_due)
