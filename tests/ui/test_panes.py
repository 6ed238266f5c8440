"""The connection, liveness and resource panes in a tiny app, at 80x24 and 200x50."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from textual.app import App, ComposeResult
from textual.containers import Vertical

from nbtui.app.kernel.connection import ConnectionInfo, load_connection_file
from nbtui.app.kernel.liveness import LivenessSnapshot
from nbtui.app.kernel.usage import NOT_REPORTED, HostMemory, UsageSnapshot
from nbtui.widgets.connection_pane import ConnectionPane
from nbtui.widgets.liveness_pane import LivenessPane
from nbtui.widgets.resource_pane import ResourcePane
from tests.ui.conftest import screen_text

KEY = "2298c0ffee5eed1dea5f00d4b1ab2c3d4e5f60718293a4b5c6d7e8f901234567"
SESSION = "3f2a9c1e-0b7d4e8f9a6c5b4d3e2f1a0b"
KERNEL_INFO = {
    "status": "ok",
    "implementation": "ipython",
    "implementation_version": "9.1.0",
    "protocol_version": "5.3",
    "language_info": {"name": "python", "version": "3.11.7"},
}
GIB = 1 << 30


def write_connection_file(folder: Path, mode: int) -> ConnectionInfo:
    path = folder / "kernel-4342f625.json"
    path.write_text(
        json.dumps(
            {
                "transport": "tcp",
                "ip": "127.0.0.1",
                "key": KEY,
                "signature_scheme": "hmac-sha256",
                "shell_port": 58645,
                "iopub_port": 47422,
                "stdin_port": 60550,
                "control_port": 39092,
                "hb_port": 49409,
                "kernel_name": "python3",
            }
        )
    )
    os.chmod(path, mode)
    return load_connection_file(path)


def liveness(state: str = "alive", **changes: object) -> LivenessSnapshot:
    fields: dict[str, object] = {
        "state": state,
        "since": 100.0,
        "hb_rtt": 0.00012,
        "hb_history": (0.0001, 0.00012, 0.0002, 0.0001, 0.0003),
        "control_latency": 0.0014,
        "kernel_info": KERNEL_INFO,
    }
    fields.update(changes)
    return LivenessSnapshot(**fields)  # type: ignore[arg-type]


def usage(**changes: object) -> UsageSnapshot:
    fields: dict[str, object] = {
        "source": "kernel",
        "at": 100.0,
        "hostname": "box",
        "pid": 4242,
        "kernel_cpu": 98.0,
        "kernel_memory": int(1.2 * GIB),
        "host_cpu_percent": 26.0,
        "cpu_count": 8,
        "host_memory": HostMemory(
            total=int(23.5 * GIB), available=int(17.4 * GIB), used=int(6.1 * GIB), percent=26.0
        ),
        "cpu_history": (10.0, 50.0, 90.0, 98.0),
        "memory_history": (GIB, int(1.1 * GIB), int(1.2 * GIB)),
        "memory_share": 0.06,
    }
    fields.update(changes)
    return UsageSnapshot(**fields)  # type: ignore[arg-type]


class PanesApp(App[None]):
    def compose(self) -> ComposeResult:
        with Vertical():
            yield ConnectionPane(id="connection")
            yield LivenessPane(id="liveness")
            yield ResourcePane(id="resources")


@pytest.mark.parametrize("size", [(80, 24), (200, 50)])
async def test_panes_show_figures_and_never_the_key(tmp_path: Path, size: tuple[int, int]) -> None:
    info = write_connection_file(tmp_path, 0o644)
    assert info.group_readable
    app = PanesApp()
    async with app.run_test(size=size) as pilot:
        app.query_one(ConnectionPane).update(info, KERNEL_INFO, SESSION)
        app.query_one(LivenessPane).update(liveness(), now=112.0)
        app.query_one(ResourcePane).update(usage())
        await pilot.pause()
        text = screen_text(app)
        assert KEY not in text
        assert KEY[4:20] not in text
        assert info.masked_key in text
        for port in ("58645", "47422", "60550", "39092", "49409"):
            assert port in text
        assert "hmac-sha256" in text
        assert "curve off" in text
        assert "ipython 9.1.0" in text
        assert "protocol 5.3" in text
        assert SESSION[:12] in text
        assert "readable by other users" in text
        assert "● alive" in text
        assert "&lt;1 ms · misses 0" in text  # round trips in coarse steps
        assert "1.2 GiB" in text
        assert "pid 4242 on box" in text
        assert app.query_one(ConnectionPane).has_class("-group-readable")


async def test_private_file_has_no_warning_and_join_copies(tmp_path: Path) -> None:
    info = write_connection_file(tmp_path, 0o600)
    app = PanesApp()
    copied: list[str] = []
    async with app.run_test(
        size=(100, 30),
        message_hook=lambda m: (
            copied.append(m.command) if isinstance(m, ConnectionPane.JoinCopied) else None
        ),
    ) as pilot:
        pane = app.query_one(ConnectionPane)
        pane.update(info, None, SESSION)
        await pilot.pause()
        text = screen_text(app)
        assert "readable by other users" not in text
        assert "no kernel_info yet" in text
        assert not pane.has_class("-group-readable")
        pane.focus()
        await pilot.press("c")
        await pilot.pause()
    assert set(copied) == {info.join_command()}  # seen once per node it bubbles through
    assert KEY not in copied[0]


@pytest.mark.parametrize("state", ["alive", "unresponsive", "dead", "restarted"])
async def test_liveness_states_are_words(state: str) -> None:
    # Their colours are the component classes' (pane--dead, ...): the snapshots show them.
    app = PanesApp()
    async with app.run_test(size=(80, 24)) as pilot:
        pane = app.query_one(LivenessPane)
        pane.update(liveness(state, detail="why"), now=130.0)
        await pilot.pause()
        text = screen_text(app)
        assert f"● {state}" in text
        assert pane.state == state
        assert "30 s" in text
        pane.update(liveness("alive"), busy="4.2 s · trainer In [17]")
        await pilot.pause()
        assert pane.state == "busy"
        text = screen_text(app)
        assert "● busy · 4.2 s · trainer In [17]" in text


async def test_resource_pane_warns_and_says_not_reported() -> None:
    app = PanesApp()
    async with app.run_test(size=(80, 24)) as pilot:
        pane = app.query_one(ResourcePane)
        pane.update(usage(memory_share=0.85, memory_warning=True))
        await pilot.pause()
        text = screen_text(app)
        assert "⚠ kernel memory at 85%" in text
        assert pane.has_class("-warning")
        pane.update(UsageSnapshot(source="none", at=1.0, note=NOT_REPORTED))
        await pilot.pause()
        text = screen_text(app)
        assert NOT_REPORTED in text
        assert not pane.has_class("-warning")
