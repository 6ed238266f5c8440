"""Loops that wait on the network: sleeping at a pace that can change while they sleep,
keeping them alive through a listener's bug, and stopping them without hanging on a
cancel that was swallowed."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Iterable

from nbtui.app.kernel.errors import NbtuiError

__all__ = [
    "RESTART_PAUSE",
    "PacedPoller",
    "log_error",
    "sleep_paced",
    "stop_tasks",
    "supervised",
]

RESTART_PAUSE = 1.0
"""Seconds `supervised` waits before it runs a loop that died again: one that fails at
once must not spin."""


def log_error(error: BaseException) -> None:
    """The default report of a probe loop's unexpected exception: the `nbtui` logger."""
    logging.getLogger("nbtui").error("a probe loop failed", exc_info=error)


async def supervised(
    loop: Callable[[], Awaitable[None]], on_error: Callable[[BaseException], None] = log_error
) -> None:
    """Run `loop` until it returns; when it dies of an unexpected exception, tell
    `on_error` and run it again.

    A probe loop is a plain asyncio task: an exception in it (a listener's bug, an
    answer nobody foresaw) ended it silently, and the UI showed its last word for ever,
    a kernel "unresponsive" or "restarting" that answered. It costs one report now.

    An `NbtuiError` (the client is closed) ends it, as it always did.

    Args:
        loop: Makes the coroutine to run; called again after each failure.
        on_error: Called with each exception that ended the loop.
    """
    while True:
        try:
            await loop()
            return
        except NbtuiError:
            return  # the client says it is closed: the loop's end, as a return would be
        except Exception as error:  # noqa: BLE001 - reported, and the loop goes on
            on_error(error)
        await asyncio.sleep(RESTART_PAUSE)


async def sleep_paced(wake: asyncio.Event, pace: Callable[[], float]) -> None:
    """Sleep `pace()` seconds. Each time `wake` is set, the end moves to `pace()` from then
    if that is sooner: a cell that starts brings a quiet probe forward to the full pace,
    but never to right now, where it would compete with the cell (ipykernel answers a
    usage_request by reading its own smaps, holding the GIL: measured as 5 % on a
    500k-line flood when polled at its first moment)."""
    deadline = time.monotonic() + pace()
    while (left := deadline - time.monotonic()) > 0:
        try:
            await asyncio.wait_for(wake.wait(), left)
        except asyncio.TimeoutError:
            return
        wake.clear()
        deadline = min(deadline, time.monotonic() + pace())


async def stop_tasks(tasks: Iterable[asyncio.Task[None]], grace: float = 5.0) -> None:
    """Cancel probe loops and wait for them to end, but not for ever.

    Before Python 3.12 a cancel that lands just as `wait_for`'s inner wait completes (a
    probe woken at that moment) is swallowed, and awaiting that task hung nbtui's exit:
    the cancel is repeated until each task ends, and one still running after `grace`
    seconds is left behind.
    """
    tasks = list(tasks)
    deadline = time.monotonic() + grace
    pending = {task for task in tasks if not task.done()}
    while pending and time.monotonic() < deadline:
        for task in pending:
            task.cancel()
        _, pending = await asyncio.wait(pending, timeout=0.05)
    for task in tasks:
        if task.done() and not task.cancelled():
            with contextlib.suppress(Exception):
                task.result()  # retrieved: no "exception was never retrieved" at exit


class PacedPoller(ABC):
    """The life cycle of a probe loop whose pace follows whether a cell runs: one task,
    started once, kept alive by `supervised`, stopped by `stop_tasks`; `busy` set by
    whoever knows (the transcript), `_wake` set to cut a sleep short.

    Subclasses write `_run` (one loop; it returns to end) and may react to a change of
    `busy` in `_busy_changed`.
    """

    TASK_NAME = "nbtui-poller"
    """The asyncio task's name (seen in a debugger and in asyncio's warnings)."""

    def __init__(self) -> None:
        self._busy = False
        self._wake = asyncio.Event()
        """Set to end the loop's current wait early (a cell started, a refresh)."""
        self._stopping = False
        self._task: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        """Whether the poll loop runs."""
        return self._task is not None and not self._task.done()

    @property
    def busy(self) -> bool:
        """Set by whoever knows (the app's transcript): a cell runs, anyone's."""
        return self._busy

    @busy.setter
    def busy(self, busy: bool) -> None:
        if busy != self._busy:
            self._busy = busy
            self._busy_changed(busy)

    def _busy_changed(self, busy: bool) -> None:
        """`busy` just changed: by default wake the loop, whose pace may follow it."""
        self._wake.set()

    def start(self) -> None:
        """Run the loop (needs a running event loop); a second call does nothing."""
        if self._task is None:
            self._stopping = False
            self._task = asyncio.create_task(supervised(self._run), name=self.TASK_NAME)

    async def stop(self) -> None:
        """Stop the loop and wait for it to end; never touches the kernel."""
        task, self._task = self._task, None
        self._stopping = True
        if task is not None:
            await stop_tasks([task])

    @abstractmethod
    async def _run(self) -> None:
        """The loop: poll, wait, again, until `_stopping` (or return to end)."""
