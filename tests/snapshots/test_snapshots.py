"""The main screen's looks, at the two sizes the design names, against a real kernel.

Versions and names that differ between machines are fixed before the first frame, so a
snapshot changes only when the looks do.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jupyter_client import KernelManager
from textual.pilot import Pilot

from nbtui.app.kernel.client import KernelClient
from nbtui.app.kernel.connection import load_connection_file
from nbtui.app.nbtui_app import NbtuiApp
from tests.ui.conftest import until

OWN_SESSION = "3f2a9b10-0000-4000-8000-000000000000"
PEER_SESSION = "91c0a7e2-0000-4000-8000-000000000000"


class SnapshotApp(NbtuiApp):
    """The real app with the machine-dependent parts of kernel_info fixed."""

    def _attached(self) -> None:
        info = self.client.kernel_info
        info["implementation_version"] = "8.0.0"
        info.setdefault("language_info", {})["version"] = "3.11.0"
        super()._attached()

    async def on_unmount(self) -> None:
        await super().on_unmount()
        await self.client.close()


@pytest.fixture
def named_kernel(isolated_jupyter: Path) -> Iterator[KernelManager]:
    km = KernelManager(kernel_name="python3")
    km.connection_file = str(isolated_jupyter / "kernel-4342f625.json")
    km.start_kernel(stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    client = km.blocking_client()
    client.start_channels()
    try:
        client.wait_for_ready(timeout=60)
    finally:
        client.stop_channels()
    try:
        yield km
    finally:
        km.shutdown_kernel(now=True)


def make_app(km: KernelManager) -> SnapshotApp:
    info = load_connection_file(Path(km.connection_file))
    client = KernelClient(info, username="you")
    client.session.session = OWN_SESSION
    return SnapshotApp(client)


async def session(pilot: Pilot[Any], km: KernelManager, peer: bool) -> None:
    app = pilot.app
    assert isinstance(app, SnapshotApp)
    await until(pilot, lambda: app.kernel_state == "idle")
    await until(pilot, lambda: bool(app.editor.cell_history) or True)
    for code in ("print(6*7)", "{'rows': 1_200_000, 'cols': 12}", "1/0"):
        before = len(app.model.cells)
        app.run_cell(code)
        await until(pilot, lambda b=before: len(app.model.cells) > b)
        await until(pilot, lambda: not app.model.busy and all(
            c.finished for c in app.model.cells.values()))
    if peer:
        other = km.blocking_client()
        other.session.username = "analyst"
        other.session.session = PEER_SESSION
        other.start_channels()
        try:
            other.execute("for epoch in range(3): print(f'epoch {epoch + 1}/3 done')")
            await until(pilot, lambda: "epoch 3/3 done" in app.transcript.plain_text())
            await until(pilot, lambda: not app.model.busy)
        finally:
            other.stop_channels()
    app.editor.load_text("df.describe()")
    await pilot.pause(0.1)


def test_main_screen_80x24(snap_compare: Any, named_kernel: KernelManager) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        await session(pilot, named_kernel, peer=False)

    assert snap_compare(make_app(named_kernel), terminal_size=(80, 24), run_before=run_before)


def test_main_screen_200x50(snap_compare: Any, named_kernel: KernelManager) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        await session(pilot, named_kernel, peer=True)

    assert snap_compare(make_app(named_kernel), terminal_size=(200, 50), run_before=run_before)
