"""Surviving a dropped link: an SSH tunnel that exited, a WebSocket that closed.

A lost link is not a dead kernel: the kernel runs on at the other end, and the way to it
can be made again. A `Link` is that way (the ssh process, the WebSocket); a `LinkKeeper`
waits for it to go down, says so, restores it with backoff until it is back, and says how
long the gap was. Whether the kernel itself lived through the gap is the liveness
monitor's to tell once the link is back (`LivenessMonitor.link_restored`).

No network here and no clock of its own: the link, the clock and the sleep are given, so
the states, the backoff and the gap are tested with a scripted link and a fake clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal, Protocol

from nbtui.app.kernel.errors import NbtuiError

__all__ = ["Backoff", "Link", "LinkKeeper", "Restored", "Retry"]

Restored = Literal["up", "silent", "refused"]
"""How a restored link finds the kernel: its heartbeat answers through it ("up"), nothing
answers ("silent": not known why), or the kernel's ports refuse connections at the other
end ("refused": nothing listens there any more, which a kernel that died leaves)."""


class Link(Protocol):
    """The way to a kernel that can break and be made again."""

    what: str
    """The link in a few words: "the ssh tunnel to gpu", "the WebSocket to http://…"."""

    @property
    def up(self) -> bool:
        """Whether the link is there now (the ssh process runs, the socket is open)."""

    async def wait_down(self) -> str | None:
        """Wait until the link goes down; why, in a few words. None once it is closed."""

    async def restore(self) -> Restored:
        """Make the link again.

        Raises:
            NbtuiError: It could not be made (host unreachable, refused login, ...).
        """

    def close(self) -> None:
        """Stop watching; the link's owner closes the link itself."""


@dataclass
class Backoff:
    """Seconds between attempts: doubling from `first` up to `most`."""

    first: float = 0.5
    """The wait after the first failed attempt."""
    most: float = 30.0
    """The longest wait: a link down for an hour is still tried twice a minute."""

    def delay(self, attempt: int) -> float:
        """The wait after failed attempt number `attempt` (1 for the first)."""
        return float(min(self.most, self.first * 2 ** max(0, attempt - 1)))


@dataclass(frozen=True)
class Retry:
    """One failed attempt to restore the link."""

    attempt: int
    """1 for the first attempt."""
    reason: str
    """Why it failed."""
    delay: float
    """Seconds until the next attempt."""


class LinkKeeper:
    """Watches a `Link` and restores it when it drops.

    Args:
        link: The link.
        on_lost: Called with why the link went down.
        on_retry: Called after each failed attempt.
        on_restored: Called with the gap in seconds and how the kernel was found.
        clock: `time.monotonic`, or a test's fake clock.
        sleep: `asyncio.sleep`, or a test's that moves the fake clock.
        backoff: The waits between attempts.
    """

    def __init__(
        self,
        link: Link,
        *,
        on_lost: Callable[[str], None],
        on_retry: Callable[[Retry], None],
        on_restored: Callable[[float, Restored], None],
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        backoff: Backoff | None = None,
    ) -> None:
        self.link = link
        self.on_lost = on_lost
        self.on_retry = on_retry
        self.on_restored = on_restored
        self.clock = clock
        self.sleep = sleep
        self.backoff = backoff or Backoff()
        self.lost_at: float | None = None
        """`clock()` when the link went down; None while it is up."""
        self.gaps: list[float] = []
        """Every gap so far, in seconds."""
        self._task: asyncio.Task[None] | None = None

    @property
    def reconnecting(self) -> bool:
        """Whether the link is down and being restored."""
        return self.lost_at is not None

    def start(self) -> None:
        """Start watching; needs a running event loop."""
        if self._task is None:
            self._task = asyncio.create_task(self.run(), name="nbtui-link-keeper")

    async def stop(self) -> None:
        """Stop watching and restoring; the link is left as it is."""
        task, self._task = self._task, None
        self.link.close()
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def run(self) -> None:
        """Watch, and restore after every drop, until the link is closed."""
        while True:
            reason = await self.link.wait_down()
            if reason is None:
                return
            await self.restore(reason)

    async def restore(self, reason: str) -> Restored:
        """Say the link is lost, then try to make it again until it is back."""
        self.lost_at = self.clock()
        self.on_lost(reason)
        attempt = 0
        while True:
            attempt += 1
            try:
                found = await self.link.restore()
            except NbtuiError as error:
                delay = self.backoff.delay(attempt)
                self.on_retry(Retry(attempt, str(error), delay))
                await self.sleep(delay)
                continue
            gap = self.clock() - self.lost_at
            self.lost_at = None
            self.gaps.append(gap)
            self.on_restored(gap, found)
            return found
