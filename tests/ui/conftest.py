"""Pilot fixtures: the real app attached to a real kernel, in the test's event loop."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from jupyter_client import BlockingKernelClient, KernelManager
from textual.pilot import Pilot

from nbtui.app.nbtui_app import NbtuiApp


@contextmanager
def peer(kernel: KernelManager, username: str = "analyst",
         session: str | None = None) -> Iterator[BlockingKernelClient]:
    """Another client on the same kernel: a raw jupyter_client, as a colleague would be."""
    other = kernel.blocking_client()
    other.session.username = username
    if session is not None:
        other.session.session = session
    other.start_channels()
    try:
        yield other
    finally:
        other.stop_channels()


async def until(pilot: Pilot[None], predicate: Callable[[], bool], timeout: float = 15.0) -> None:
    """Let the app run until `predicate` holds, failing after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await pilot.pause(0.02)


async def run_and_wait(pilot: Pilot[None], app: NbtuiApp, code: str) -> None:
    """Type a cell, press Enter, and wait until the kernel is idle again."""
    before = len(app.model.cells)
    await pilot.press(*code.replace("\n", ""))
    await pilot.press("enter")
    await until(pilot, lambda: len(app.model.cells) > before)
    await until(pilot, lambda: not app.model.busy and app.kernel_state == "idle"
                and all(c.state != "queued" for c in app.model.cells.values()))
    await asyncio.sleep(0)
