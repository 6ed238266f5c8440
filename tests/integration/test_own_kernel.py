"""A kernel nbtui started: a restart that fails is a notice, never a crash (issue 13).

The app runs in Pilot on a real kernel started by `OwnKernel`, as `nbtui` alone starts
one. The user-level F9 paths that work are in tests/e2e/test_own_kernel_tmux.py.
"""

from __future__ import annotations

import os
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from nbtui.app.kernel.client import KernelClient
from nbtui.app.kernel.connection import load_connection_file
from nbtui.app.kernel.launcher import OwnKernel
from nbtui.app.nbtui_app import NbtuiApp
from tests.ui.conftest import run_and_wait, until, until_shown


@pytest.fixture
async def own(isolated_jupyter: Path) -> AsyncIterator[OwnKernel]:
    """A kernel of nbtui's own, shut down (connection file and log removed) afterwards."""
    kernel = await OwnKernel.start()
    try:
        yield kernel
    finally:
        await kernel.shutdown()
        assert list(isolated_jupyter.glob("kernel-*.json")) == []


@pytest.mark.timeout(120)
async def test_failed_restart_is_a_notice_and_nbtui_carries_on(own: OwnKernel) -> None:
    client = KernelClient(load_connection_file(own.connection_file), username="tester")
    await client.attach()
    try:
        app = NbtuiApp(client, own_kernel=own)
        async with app.run_test(size=(100, 30)) as pilot:
            await until(pilot, lambda: app.kernel_state == "idle")
            # The kernel's log cannot be opened for the new kernel (a directory stands
            # where it was: a cleaned-up runtime dir does the like).
            own.log_path.unlink()
            own.log_path.mkdir()
            try:
                await pilot.press("f9")
                await pilot.press("y")
                text = await until_shown(pilot, app, "could not restart the kernel:")
                assert "Is a directory" in text
                assert app.is_running
                # The kernel was never shut down: it still runs cells.
                await run_and_wait(pilot, app, "41 + 1")
                assert "42" in await until_shown(pilot, app, "42")
            finally:
                own.log_path.rmdir()
    finally:
        await client.close()


async def test_restart_after_the_kernel_died(own: OwnKernel) -> None:
    process = own.manager.provisioner.process  # type: ignore[union-attr]
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=10)
    assert not await own.manager.is_alive()
    await own.restart()
    assert await own.manager.is_alive()
    assert own.manager.provisioner.process.pid != process.pid  # type: ignore[union-attr]
