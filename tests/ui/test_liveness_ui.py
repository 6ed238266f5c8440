"""What the app says about the kernel's life, with a real kernel: a stopped process is
not a dead one, a restart is "restarting" (not "dead restarting"), and who asked for it."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from jupyter_client import KernelManager
from textual.widgets import Static

from nbtui.app.kernel.client import KernelClient
from nbtui.app.kernel.liveness import LivenessSnapshot
from nbtui.app.kernel.messages import short_session
from nbtui.app.nbtui_app import NbtuiApp
from nbtui.widgets.picker import KernelPickerApp
from tests.ui.conftest import run_and_wait, until


@contextmanager
def sigstopped(kernel: KernelManager) -> Iterator[int]:
    """The kernel process stopped with SIGSTOP; resumed whatever happens."""
    pid = kernel.provisioner.process.pid  # type: ignore[union-attr]
    os.kill(pid, signal.SIGSTOP)
    try:
        yield pid
    finally:
        os.kill(pid, signal.SIGCONT)


def record_status(app: NbtuiApp) -> list[tuple[str, str]]:
    """Every (state word, detail) the status line shows after each liveness change."""
    seen: list[tuple[str, str]] = []
    monitor = app._monitor
    assert monitor is not None and monitor.on_change is not None
    original = monitor.on_change

    def spy(snapshot: LivenessSnapshot) -> None:
        original(snapshot)
        seen.append((app.status.state, app.status.detail))

    monitor.on_change = spy
    return seen


async def test_a_stopped_kernel_is_shown_stopped_not_dead_and_answers_again(
    kernel: KernelManager, client: KernelClient
) -> None:
    app = NbtuiApp(client)
    async with app.run_test(size=(200, 50)) as pilot:
        await run_and_wait(pilot, app, "print('before the stop')")
        await until(pilot, lambda: app._monitor is not None and app._liveness is not None)
        seen = record_status(app)
        with sigstopped(kernel) as pid:
            await until(pilot, lambda: app.status.state == "stopped", timeout=30)
            assert f"process {pid} is stopped" in app.status.detail
            assert "SIGSTOP" in app.status.detail
            # The notice line reaches the transcript on the next frame, after the status.
            await until(pilot, lambda: "stopped" in app.transcript.plain_text(), timeout=30)
            assert "kernel is dead" not in app.transcript.plain_text()
        await until(
            pilot, lambda: "the kernel answers again" in app.transcript.plain_text(), timeout=30
        )
        await until(pilot, lambda: app.kernel_state == "idle", timeout=30)
        assert all(state != "dead" for state, _ in seen), seen
        assert app._liveness is not None and app._liveness.restarts == 0
        await run_and_wait(pilot, app, "print('after the stop')")
        assert app.transcript.plain_text().splitlines()[-1] == "after the stop"


async def test_a_restart_by_the_kernels_owner_is_restarting_and_worded_plainly(
    kernel: KernelManager, client: KernelClient
) -> None:
    app = NbtuiApp(client)
    async with app.run_test(size=(200, 50)) as pilot:
        await run_and_wait(pilot, app, "x = 41")
        await until(pilot, lambda: app._monitor is not None and app._liveness is not None)
        seen = record_status(app)
        # A graceful restart: the owner's KernelManager sends shutdown_request(restart=True)
        # from its own session, and the kernel publishes the reply on iopub.
        await asyncio.to_thread(kernel.restart_kernel, now=False)
        await until(
            pilot, lambda: "restarted on the same ports" in app.transcript.plain_text(), timeout=60
        )
        assert ("restarting", "") in seen, seen
        assert not any(state == "dead" for state, _ in seen), seen
        text = app.transcript.plain_text()
        assert "its server says so" not in text
        assert "the kernel is restarting (its owner restarts it)" in text
        assert "the kernel's owner asked it to restart" in text
        # The manager's session is no client here: no made-up user@session for it.
        assert f"@{short_session(kernel.session.session)}" not in text
        assert kernel.session.session not in app.model.peers
        style = app.status.get_component_rich_style("status--restarting", partial=True)
        assert style != app.status.get_component_rich_style("status--dead", partial=True)


async def test_the_pickers_title_names_its_files_plainly(tmp_path: Path) -> None:
    given = KernelPickerApp(dirs=[tmp_path], only=[tmp_path / "kernel-a.json"], interval=60)
    async with given.run_test(size=(120, 20)) as pilot:
        await pilot.pause()
        title = str(given.picker.query_one("#picker-title", Static).render())
        assert title == "Pick a kernel: the given connection files"
    listed = KernelPickerApp(dirs=[tmp_path], interval=60)
    async with listed.run_test(size=(120, 20)) as pilot:
        await pilot.pause()
        title = str(listed.picker.query_one("#picker-title", Static).render())
        assert title == f"Pick a kernel: connection files in {tmp_path}"
