"""Sleeping between probes whose pace can change while they sleep."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

__all__ = ["sleep_paced"]


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
