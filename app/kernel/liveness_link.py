"""The link's part of `LivenessMonitor`: the transport's link watch (a `kill -9` seen in
milliseconds as a dropped connection) and a link that drops and is restored (`LinkKeeper`:
"reconnecting", no verdict until it is back, then a judgement through it). It lives here
to keep each file readable, and uses the monitor's state.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from nbtui.app.kernel.liveness_state import LivenessSnapshot, LivenessState
    from nbtui.app.kernel.transports import LinkWatch
    from nbtui.app.kernel.transports.reconnect import Restored

__all__ = ["LinkFollowing"]


class LinkFollowing:
    """What the link to the kernel says: its watch's events and its drops."""

    # The monitor's, declared for the type checker.
    disconnected_at: float | None
    hb_connected: bool
    link_check: Callable[[], bool] | None
    _link_down: bool
    _hb_silent: bool
    _suspect: bool
    _consecutive: int
    _answered: int
    _stopping: bool
    _last_answer: float
    _ping_task: asyncio.Task[float | None] | None
    _wake: asyncio.Event
    _snapshot: LivenessSnapshot

    def _update(self, **changes: Any) -> None:
        raise NotImplementedError

    def _silent(self, state: LivenessState, detail: str) -> None:
        raise NotImplementedError

    def link_lost(self, detail: str) -> None:
        """The way to the kernel dropped (`LinkKeeper`): "reconnecting", and no probe or
        verdict until `link_restored`."""
        self._link_down = True
        self._hb_silent = True
        self._suspect = False
        self._consecutive = 0
        self._answered = 0
        if self._ping_task is not None:
            self._ping_task.cancel()
        self._update(state="reconnecting", hb_rtt=None, control_latency=None, detail=detail)

    def link_retry(self, detail: str) -> None:
        """An attempt to restore the link failed: the detail says so."""
        if self._link_down:
            self._update(detail=detail)

    def link_restored(self, found: Restored) -> None:
        """The link is back: judge the kernel through it. "up": its heartbeat answered,
        so ask who answers (the same kernel, or a restarted one); "refused": nothing
        listens on its ports at the other end any more; "silent": no answer, no reason."""
        self._link_down = False
        self._last_answer = time.monotonic()
        if found == "refused":
            self._silent(
                "dead",
                "its ports refuse connections at the other end of the restored link: "
                "it ended while the link was down",
            )
        elif found == "silent":
            self._silent("unresponsive", "the link is back; the heartbeat does not answer")
        self._wake.set()

    def _link_ok(self) -> bool:
        return not self._link_down and (self.link_check is None or self.link_check())

    async def _watch(self, watch: LinkWatch) -> None:
        while not self._stopping:
            event = await watch.next_event()
            if event is None:
                return
            if event == "down" and self._link_down:
                self.hb_connected = False
            elif event == "down":
                self.hb_connected = False
                self.disconnected_at = time.monotonic()
                self._answered = 0
                if self._snapshot.state not in ("dead", "restarting"):
                    self._suspect = True
                    # A periodic ping in flight would hold the heartbeat for up to
                    # `ping_timeout`: cancel it and confirm with a short one at once.
                    if self._ping_task is not None:
                        self._ping_task.cancel()
                    self._wake.set()
            elif event == "up":
                self.hb_connected = True
                if self._hb_silent:
                    # Something listens on the heartbeat port again: ping it now.
                    self._wake.set()
