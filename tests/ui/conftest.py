"""Pilot fixtures: the real app attached to a real kernel, in the test's event loop."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from jupyter_client import BlockingKernelClient, KernelManager
from textual._xterm_parser import XTermParser
from textual.app import App
from textual.pilot import Pilot

from nbtui.app.nbtui_app import NbtuiApp


@contextmanager
def peer(
    kernel: KernelManager, username: str = "analyst", session: str | None = None
) -> Iterator[BlockingKernelClient]:
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


def burst(app: NbtuiApp, data: str) -> None:
    """Deliver terminal input in one go, as the driver does with what one read() returned
    (a paste, a fast typist, keys over SSH): every key is queued before any is handled."""
    for event in XTermParser().feed(data):
        app.post_message(event)


async def until(pilot: Pilot[None], predicate: Callable[[], bool], timeout: float = 15.0) -> None:
    """Let the app run until `predicate` holds, failing after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await pilot.pause(0.02)


def screen_text(app: App[object]) -> str:
    """What the screen shows, as the SVG screenshot's text (non-breaking spaces made plain)."""
    return app.export_screenshot().replace("&#160;", " ")


async def until_shown(
    pilot: Pilot[None], app: App[object], *texts: str, timeout: float = 15.0
) -> str:
    """Let the app run until every text is on the screen; returns the screen's text.

    A screenshot taken as soon as the model holds the data can predate the repaint that
    shows it (a loaded machine is slow to get there), so wait for the screen itself."""
    deadline = time.monotonic() + timeout
    while True:
        text = screen_text(app)
        missing = [needle for needle in texts if needle not in text]
        if not missing:
            return text
        if time.monotonic() > deadline:
            raise AssertionError(f"not on the screen after {timeout:g} s: {missing}")
        await pilot.pause(0.02)


async def run_and_wait(pilot: Pilot[None], app: NbtuiApp, code: str) -> None:
    """Type a cell, press Enter, and wait until the kernel is idle again."""
    before = len(app.model.cells)
    await pilot.press(*code.replace("\n", ""))
    await pilot.press("enter")
    await until(pilot, lambda: len(app.model.cells) > before)
    await until(
        pilot,
        lambda: (
            not app.model.busy
            and app.kernel_state == "idle"
            and all(c.state != "queued" for c in app.model.cells.values())
        ),
    )
    await asyncio.sleep(0)
