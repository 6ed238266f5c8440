"""What the transcript says when the link to the kernel (a tunnel, a WebSocket) drops
and comes back: the part of `KernelSession` that hears the `LinkKeeper`'s news, says
"reconnecting", and afterwards tells what ran and ended during the gap (from history).
It lives here to keep each file readable, and uses the session's client, model, monitor,
state and changes.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

from nbtui.app.kernel.notices import ended_during_gap, link_back, link_lost, ran_during_gap

if TYPE_CHECKING:
    from nbtui.app.kernel.changes import SessionChanges
    from nbtui.app.kernel.client import KernelClient
    from nbtui.app.kernel.liveness import LivenessMonitor
    from nbtui.app.kernel.model import Transcript
    from nbtui.app.kernel.transports.reconnect import LinkKeeper, Restored, Retry

__all__ = ["LinkTelling"]


class LinkTelling:
    """Says the link dropped, each failed attempt, and what happened while it was down."""

    # The session's, declared for the type checker.
    client: KernelClient
    model: Transcript
    monitor: LivenessMonitor | None
    state: str
    closing: bool
    base_count: int
    on_change: Callable[[], None]
    _changes: SessionChanges

    def __init__(self) -> None:
        self.keeper: LinkKeeper | None = None
        """Restores the link to the kernel (a tunnel, a WebSocket) when it drops, for a
        transport that has one."""
        self._gap_after = 0
        """The last execution count known when the link dropped."""
        self._gap_running: list[str] = []
        """The cells running when the link dropped."""

    def _spawn(self, work: Coroutine[Any, Any, Any]) -> None:
        raise NotImplementedError

    def _take_in(self) -> None:
        raise NotImplementedError

    def next_count(self) -> int:
        """The execution count the next cell will probably get (the session's)."""
        raise NotImplementedError

    def link_lost(self, reason: str) -> None:
        """The keeper's news: the link dropped. "reconnecting", not a death."""
        self._take_in()
        self._gap_after = self.next_count() - 1
        self._gap_running = list(self.model.running)
        self.model.add_notice(*link_lost(reason))
        if self.monitor is not None:
            self.monitor.link_lost(f"connection lost: {reason}")
        self.state = "reconnecting"
        self._changes.liveness = True
        self.on_change()

    def link_retry(self, retry: Retry) -> None:
        """The keeper's news: an attempt failed; the next comes after `retry.delay`."""
        if self.monitor is not None:
            self.monitor.link_retry(
                f"reconnecting: attempt {retry.attempt} failed ({retry.reason}); "
                f"next in {retry.delay:g} s"
            )

    def link_restored(self, gap: float, found: Restored) -> None:
        """The keeper's news: the link is back after `gap` seconds. Say so, then fetch
        the inputs run during the gap (if the kernel answers through it)."""
        link = self.keeper.link if self.keeper is not None else None
        what = link.what if link is not None else "the link"
        replays = bool(getattr(link, "replays", False))
        self.model.add_notice(*link_back(gap, what, found == "up", replays))
        if self.monitor is not None:
            self.monitor.link_restored(found)
        if found == "up":
            self._spawn(self._fetch_gap())
        self.on_change()

    GAP_HISTORY_WAIT = 3600.0
    """Seconds the history of the gap may wait behind a cell still running on shell."""

    async def _fetch_gap(self) -> None:
        """The inputs run during the gap, from history: read on shell, so the reply also
        says the shell is free, and the cells running at the drop have ended (their
        idle was lost with the link)."""
        numbered = await self.client.numbered_history(self.GAP_HISTORY_WAIT)
        if self.closing:
            return
        self._take_in()
        for cell in self.model.end_unseen(self._gap_running):
            self.model.add_notice(*ended_during_gap(cell.execution_count))
        self._gap_running = []
        seen = {cell.execution_count for cell in self.model.cells.values()}
        for count, code in numbered:
            if count > self._gap_after and count not in seen:
                self.model.add_notice(*ran_during_gap(count, code))
        self.base_count = max(self.base_count, max((c for c, _ in numbered), default=0))
        self.on_change()
