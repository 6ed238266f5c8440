"""Pair debugging on one real kernel: other clients' work, attributed, and control of it."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from jupyter_client import KernelManager

from nbtui.app.kernel.client import KernelClient
from nbtui.app.kernel.connection import load_connection_file
from nbtui.app.nbtui_app import create_app
from nbtui.widgets.connection_pane import kernel_summary
from tests.conftest import SLEEPER
from tests.ui.conftest import peer, run_and_wait, until, until_shown


async def test_catch_up_shows_inputs_from_before_joining(kernel: KernelManager) -> None:
    other = kernel.blocking_client()
    other.start_channels()
    try:
        other.execute_interactive("alpha = 1", timeout=30)
        other.execute_interactive("beta = alpha + 1", timeout=30)
    finally:
        other.stop_channels()
    # Attach only now: what ran before is history, not live output.
    client = KernelClient(load_connection_file(Path(kernel.connection_file)))
    app = create_app(client)
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: "before you joined: 2 inputs" in app.transcript.plain_text())
        assert "beta = alpha + 1" not in app.transcript.plain_text()
        await pilot.press("f5")
        await until(pilot, lambda: "In [2] beta = alpha + 1" in app.transcript.plain_text())
        await run_and_wait(pilot, app, "print(beta)")
        assert app.transcript.plain_text().splitlines()[-1] == "2"
    await client.close()


async def test_others_outputs_can_be_hidden(kernel: KernelManager, client: KernelClient) -> None:
    app = create_app(client)
    async with app.run_test(size=(100, 30)) as pilot:
        with peer(kernel, "analyst") as other:
            other.execute("print('peer output')")
            await until(pilot, lambda: "peer output" in app.transcript.plain_text())
            await until(pilot, lambda: not app.model.busy)
        await run_and_wait(pilot, app, "print('my output')")
        await pilot.press("f4")  # inputs only
        text = app.transcript.plain_text()
        assert "peer output" not in text.splitlines() and "print('peer output')" in text
        assert "my output" in text
        await pilot.press("f4")  # hide others entirely
        text = app.transcript.plain_text()
        assert "print('peer output')" not in text and "my output" in text
        await pilot.press("f4")  # everything again
        assert "peer output" in app.transcript.plain_text().splitlines()


async def test_interrupt_another_clients_cell(kernel: KernelManager, client: KernelClient) -> None:
    app = create_app(client)
    async with app.run_test(size=(100, 30)) as pilot:
        with peer(kernel, "trainer") as other:
            other.execute(SLEEPER)
            await until(pilot, lambda: "sleeping" in app.transcript.plain_text().split())
            cell = next(iter(app.model.running.values()))
            assert not cell.is_self
            assert "trainer" in app.status.detail
            await pilot.press("ctrl+c")
            await until(pilot, lambda: not app.model.busy)
            assert cell.state == "error"
            assert "KeyboardInterrupt" in app.transcript.plain_text()
        assert kernel.is_alive()


async def test_observe_mode_sends_nothing(client: KernelClient) -> None:
    app = create_app(client, observe=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.kernel_state == "idle")
        app.editor.read_only = False  # even if text got in, Enter must not send it
        app.editor.load_text("print('should not run')")
        await pilot.press("enter")
        await pilot.pause(0.5)
        assert not app.model.cells


async def test_restart_refused_for_an_attached_kernel(
    kernel: KernelManager, client: KernelClient
) -> None:
    app = create_app(client)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.kernel_state == "idle")
        pid_before = kernel.provisioner.process.pid  # type: ignore[union-attr]
        await pilot.press("f9")
        await pilot.pause(0.3)
        assert kernel.is_alive()
        assert kernel.provisioner.process.pid == pid_before  # type: ignore[union-attr]


@pytest.mark.skipif(shutil.which("jupyter-console") is None, reason="jupyter console missing")
async def test_jupyter_console_as_a_foreign_client(
    kernel: KernelManager, client: KernelClient
) -> None:
    app = create_app(client)
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: app.kernel_state == "idle")
        console = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "jupyter_console",
                "--existing",
                kernel.connection_file,
                "--simple-prompt",
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        try:
            assert console.stdin is not None
            console.stdin.write("print('hello from jupyter console')\n")
            console.stdin.flush()
            await until(
                pilot,
                lambda: "hello from jupyter console" in app.transcript.plain_text(),
                timeout=30,
            )
            cell = next(c for c in app.model.cells.values() if not c.is_self)
            assert cell.code == "print('hello from jupyter console')"
        finally:
            console.kill()
            console.wait()
        assert kernel.is_alive()


async def test_peers_pane_lists_each_client(kernel: KernelManager, client: KernelClient) -> None:
    app = create_app(client)
    async with app.run_test(size=(200, 50)) as pilot:
        assert app.query_one("#side").has_class("-shown"), "wide terminals show the panes"
        await run_and_wait(pilot, app, "x = 1")
        with peer(kernel, "trainer") as other:
            other.execute("y = 2")
            await until(pilot, lambda: len(app.model.peers) == 2 and not app.model.busy)
        await until_shown(pilot, app, "trainer", "1 cell")
        # A control-channel probe is nobody's activity.
        await client.request("control", "kernel_info_request", {}, 5.0)
        await pilot.pause(0.2)
        assert len(app.model.peers) == 2


async def test_panes_fold_away_at_80x24_and_open_as_an_overlay(client: KernelClient) -> None:
    app = create_app(client)
    async with app.run_test(size=(80, 24)) as pilot:
        side = app.query_one("#side")
        assert not side.has_class("-shown")
        await pilot.press("f2")
        assert side.has_class("-shown") and side.has_class("-overlay")
        await pilot.press("f2")
        assert not side.has_class("-shown")


async def test_kill_9_shows_dead_and_the_app_stays_up(
    kernel: KernelManager, client: KernelClient
) -> None:
    app = create_app(client)
    async with app.run_test(size=(200, 50)) as pilot:
        await run_and_wait(pilot, app, "print('still readable')")
        await until(pilot, lambda: app.session.liveness is not None)
        os.kill(kernel.provisioner.process.pid, signal.SIGKILL)  # type: ignore[union-attr]
        await until(pilot, lambda: app.kernel_state == "dead", timeout=10)
        assert app.status.state == "dead"
        assert "kernel is dead" in app.transcript.plain_text()
        assert "still readable" in app.transcript.plain_text()
        assert app.is_running


async def test_restart_by_the_owner_is_noticed(kernel: KernelManager, client: KernelClient) -> None:
    app = create_app(client)
    async with app.run_test(size=(200, 50)) as pilot:
        await run_and_wait(pilot, app, "x = 41")
        await until(pilot, lambda: app.session.liveness is not None)
        kernel.restart_kernel(now=True)
        await until(
            pilot, lambda: "restarted on the same ports" in app.transcript.plain_text(), timeout=30
        )
        await run_and_wait(pilot, app, "print('x' in globals())")
        assert app.transcript.plain_text().splitlines()[-1] == "False"


async def test_f8_copies_the_join_command(client: KernelClient) -> None:
    app = create_app(client)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.kernel_state == "idle")
        await pilot.press("f8")
        assert app.clipboard == client.info.join_command()
        assert client.info.key not in app.clipboard


async def test_a_rewritten_kernel_info_cannot_reach_the_terminal(kernel: KernelManager) -> None:
    # Code in the kernel can rewrite what kernel_info says; whoever attaches next sees it.
    with peer(kernel) as other:
        other.execute_interactive(
            "k = get_ipython().kernel\n"
            "k.implementation = 'ipy\\x1b]52;c;aGVsbG8=\\x07thon\\u202e'\n"
            "k.implementation_version = '8\\x1b[6n'",
            timeout=30,
        )
    client = KernelClient(load_connection_file(Path(kernel.connection_file)))
    app = create_app(client)
    async with app.run_test(size=(160, 40)) as pilot:
        await until(pilot, lambda: "ipython" in app.status.kernel)
        # The status line and the connection pane's kernel row.
        shown = app.status.kernel + kernel_summary(app.client.kernel_info)
        assert "(ipython 8)" in app.status.kernel
        assert "\x1b" not in shown and "\u202e" not in shown and "aGVsbG8" not in shown
    await client.close()
