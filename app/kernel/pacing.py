"""Loops that wait on the network: sleeping at a pace that can change while they sleep,
and stopping them without hanging on a cancel that was swallowed."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Iterable

__all__ = ["sleep_paced", "stop_tasks"]


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
