"""The variables probe against a real ipykernel: read while another client's cell runs,
nothing started in the kernel, and one clear line from a kernel without a debugger."""

from __future__ import annotations

import asyncio
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from jupyter_client import KernelManager
from textual.widgets import DataTable

from nbtui.app.kernel.client import KernelClient
from nbtui.app.kernel.connection import load_connection_file
from nbtui.app.kernel.variables import (
    UNSUPPORTED,
    VariablesPoller,
    VariablesProbe,
    VariablesSnapshot,
    filter_rows,
)
from nbtui.app.nbtui_app import create_app
from nbtui.widgets.variables_pane import VariablesPane
from tests.ui.conftest import peer, until_shown
from tests.ui.conftest import until as ui_until

LOOP = "import time\nfor epoch in range(1000):\n    time.sleep(0.05)\n"


async def until(predicate: object, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not (callable(predicate) and predicate()):
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


async def test_poller_reads_a_running_loop_from_another_client(
    kernel: KernelManager, client: KernelClient
) -> None:
    peer = KernelClient(load_connection_file(Path(kernel.connection_file)), username="peer")
    await peer.attach()
    seen: list[VariablesSnapshot] = []
    client.drain()
    poller = VariablesPoller(client, interval=0.2, on_update=seen.append)
    try:
        poller.start()
        await until(lambda: len(seen) >= 1)  # the reading at start, before the loop
        cell = peer.execute(LOOP)
        poller.busy = True  # the lead sets this from the transcript: someone's cell runs

        def epochs() -> set[str]:
            return {row.value for snap in seen for row in snap.rows if row.name == "epoch"}

        await until(lambda: len(epochs()) >= 2)
        live = [s for s in seen if s.live and s.state == "ok"]
        assert live, "readings during the run are marked live"
        # A reading may time out on a loaded host ("no answer", asked again); never "unsupported".
        assert all(s.state != "unsupported" for s in seen)
        # Nothing was run on shell by the probe: the peer's cell is still the only one,
        # and the kernel is still running it.
        assert not peer.replied(cell)
        reply = await client.request(
            "control",
            "debug_request",
            {"type": "request", "seq": 99, "command": "debugInfo", "arguments": {}},
            2.0,
        )
        assert reply is not None
        assert reply.content["body"]["isStarted"] is False  # debugpy never started
        await client.interrupt()
        assert await peer.execute_reply(cell) is not None
        # Every client sees the iopub: no cell but the peer's, and no debugger event.
        seen_iopub = client.drain()
        assert {m.parent_id for m in seen_iopub if m.parent_msg_type == "execute_request"} == {cell}
        assert not [m for m in seen_iopub if m.msg_type == "debug_event"]
        # And no trace function was left behind (what the debugger's `initialize` does).
        peer.drain()
        check = peer.execute("import sys; print('trace', sys.gettrace())")
        assert await peer.execute_reply(check) is not None
        await until(lambda: any("trace None" in m.content.get("text", "") for m in peer.drain()))
    finally:
        await poller.stop()
        await peer.close()


async def test_rows_types_hiding_and_rich_bundle(client: KernelClient) -> None:
    msg_id = client.execute(
        "import os\nimport numpy as np\nname = 'ada'\nitems = [1, 2, 3]\n"
        "arr = np.arange(4)\n_private = 1\ndef f(): pass\nclass K: pass\n"
    )
    assert await client.execute_reply(msg_id) is not None
    probe = VariablesProbe(client)
    snap = await probe.inspect()
    assert snap.state == "ok"
    rows = {row.name: row for row in snap.rows}
    assert rows["name"].type == "str" and rows["name"].value == "'ada'"
    assert rows["name"].size == 3
    assert rows["items"].size == 3
    assert rows["arr"].type == "ndarray" and rows["arr"].size is None
    shown = {row.name for row in filter_rows(snap.rows)}
    assert {"name", "items", "arr"} <= shown
    assert not shown & {"os", "np", "_private", "f", "K"}
    assert "os" in {row.name for row in filter_rows(snap.rows, show_hidden=True)}
    assert [row.name for row in filter_rows(snap.rows, "ITE")] == ["items"]
    rich = await probe.rich("arr")
    assert rich.data["text/plain"] == "array([0, 1, 2, 3])"
    missing = await probe.rich("nothing_here")
    assert not missing.data and missing.message
    assert (await probe.rich("1+1")).message  # never sent: not a plain name


@pytest.fixture
def kernel_without_debugger(isolated_jupyter: Path, tmp_path: Path) -> Iterator[KernelManager]:
    """An ipykernel whose environment lacks debugpy: ipykernel 7.4 has no switch that turns
    its debugger off, it decides by whether `debugpy` imports (debugger.py)."""
    shim = tmp_path / "no_debugpy" / "debugpy"
    shim.mkdir(parents=True)
    (shim / "__init__.py").write_text("raise ImportError('debugpy is not installed here')\n")
    km = KernelManager(kernel_name="python3")
    env = dict(__import__("os").environ, PYTHONPATH=str(shim.parent))
    km.start_kernel(stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    try:
        yield km
    finally:
        km.shutdown_kernel(now=True)


async def test_kernel_without_debugger_gives_one_clear_line(
    kernel_without_debugger: KernelManager,
) -> None:
    kc = KernelClient(
        load_connection_file(Path(kernel_without_debugger.connection_file)), username="t"
    )
    try:
        info = await kc.attach(hb_timeout=30, reply_timeout=30)
        assert "debugger" not in info.get("supported_features", [])
        probe = VariablesProbe(kc)
        snap = await probe.inspect()
        assert snap.state == "unsupported"
        assert snap.message.startswith(f"{UNSUPPORTED}: ")
        assert "\n" not in snap.message
        # The kernel's own answer, asked anyway, is empty: the same verdict.
        kc.kernel_info = {}
        probe = VariablesProbe(kc)
        snap = await probe.inspect()
        assert snap.state == "unsupported"
        assert "empty" in snap.message
        assert (await probe.rich("x")).message.startswith(UNSUPPORTED)
    finally:
        await kc.close()


# -- the pane in the app (F3), with a real kernel and a real peer ---------------------------


async def test_pane_shows_a_peer_loop_moving(kernel: KernelManager, client: KernelClient) -> None:
    """Acceptance: another client runs the epoch loop; the pane (F3) shows `epoch` with at
    least two values during the run, and closing the pane stops its probe."""
    app = create_app(client, variables_interval=0.3)
    async with app.run_test(size=(200, 50)) as pilot:
        await ui_until(pilot, lambda: app.kernel_state == "idle")
        await pilot.press("f3")
        pane = app.screen.query_one(VariablesPane)
        watch = app.console_screen.kernel_watch
        await ui_until(pilot, lambda: pane.snapshot is not None)
        assert pane.region.width > 0 and app.transcript.region.width > 0  # side by side
        values: set[str] = set()

        def epoch_shown() -> bool:
            table: DataTable[object] = pane.table
            if "epoch" in {str(key.value) for key in table.rows}:
                values.add(str(table.get_row("epoch")[2]))
            return len(values) >= 2

        with peer(kernel, "trainer") as other:
            cell = other.execute(LOOP)
            await ui_until(pilot, lambda: app.model.busy)
            await ui_until(pilot, epoch_shown, timeout=30)
            assert pane.title == "variables · live, 0.3 s"
            assert app.model.busy  # read during the run, not after it
            await client.interrupt()
            await ui_until(pilot, lambda: not app.model.busy)
            other.get_shell_msg(timeout=10)  # its reply: the cell ended
        # Nothing but the peer's cell ran: the probes made no cell in the transcript.
        assert [c.username for c in app.model.cells.values()] == ["trainer"]
        await pilot.press("f3")
        await ui_until(pilot, lambda: watch.poller is None and not pane.display)
        del cell


async def test_pane_says_one_line_without_a_debugger(
    kernel_without_debugger: KernelManager,
) -> None:
    """Acceptance: a kernel without the debugger gives one clear line in the pane."""
    kc = KernelClient(
        load_connection_file(Path(kernel_without_debugger.connection_file)), username="t"
    )
    try:
        await kc.attach(hb_timeout=30, reply_timeout=30)
        app = create_app(kc)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("f3")
            pane = app.screen.query_one(VariablesPane)
            await ui_until(pilot, lambda: bool(pane.message))
            assert pane.has_class("-overlay")  # 80x24: over the transcript
            assert pane.message.startswith(UNSUPPORTED) and "\n" not in pane.message
            await until_shown(pilot, app, UNSUPPORTED)
    finally:
        await kc.close()
