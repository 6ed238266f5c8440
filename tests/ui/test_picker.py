"""The kernel picker with real kernels: it lists them live, and Enter picks a live one."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from jupyter_client import KernelManager
from textual.widgets import DataTable

from nbtui.app.kernel import discovery
from nbtui.app.kernel.client import KernelClient
from nbtui.app.kernel.connection import load_connection_file
from nbtui.app.kernel.discovery import KernelEntry
from nbtui.app.screens.picker import KernelPickerApp
from tests.integration.test_cli_errors import dead_connection
from tests.integration.test_discovery import make_stale, set_age, start_live
from tests.ui.conftest import until


@pytest.fixture
def two_live_one_stale(isolated_jupyter: Path) -> Iterator[tuple[list[Path], Path]]:
    live = start_live(isolated_jupyter, 2)
    stale = make_stale(isolated_jupyter).resolve()
    paths = [Path(km.connection_file).resolve() for km in live]
    set_age(paths[0], 300)
    set_age(paths[1], 200)
    set_age(stale, 100)
    try:
        yield paths, stale
    finally:
        for km in live:
            km.shutdown_kernel(now=True)


async def test_picker_lists_kernels_and_enter_returns_the_chosen_path(
    two_live_one_stale: tuple[list[Path], Path], isolated_jupyter: Path
) -> None:
    live, stale = two_live_one_stale
    app = KernelPickerApp(dirs=[isolated_jupyter], interval=0.2)
    async with app.run_test(size=(160, 30)) as pilot:
        picker = app.picker
        table: DataTable[object] = picker.query_one(DataTable)
        await until(pilot, lambda: picker.probes >= 1 and table.row_count == 3)
        assert picker.entries[str(stale)].state == "stale"
        assert all(picker.entries[str(path)].alive for path in live)
        # Newest first: the stale file (a dead kernel cannot tell its language).
        assert [str(cell) for cell in table.get_row_at(0)][:3] == [stale.name, "python3", "STALE"]
        assert [str(cell) for cell in table.get_row_at(1)][:3] == [
            live[1].name,
            "python3 (python)",
            "alive",
        ]

        # Enter on the stale row attaches to nothing.
        table.move_cursor(row=table.get_row_index(str(stale)))
        await pilot.press("enter")
        await pilot.pause()
        assert app.is_running

        # Live-updating: a new file shows up without any key press.
        late = isolated_jupyter / "kernel-late.json"
        late.write_text(json.dumps(dead_connection()), encoding="utf-8")
        await until(pilot, lambda: table.row_count == 4)

        table.move_cursor(row=table.get_row_index(str(live[0])))
        await pilot.press("enter")
        await until(pilot, lambda: not app.is_running)
    assert app.return_value == live[0]

    # The chosen file attaches.
    client = KernelClient(load_connection_file(live[0]), username="tester")
    try:
        reply = await client.attach()
    finally:
        await client.close()
    assert reply["status"] == "ok"


async def test_picker_escape_returns_nothing(isolated_jupyter: Path) -> None:
    (isolated_jupyter / "kernel-dead.json").write_text(
        json.dumps(dead_connection()), encoding="utf-8"
    )
    app = KernelPickerApp(dirs=[isolated_jupyter], interval=0.2)
    async with app.run_test() as pilot:
        await until(pilot, lambda: app.picker.probes >= 1)
        await pilot.press("escape")
        await until(pilot, lambda: not app.is_running)
    assert app.return_value is None


async def test_picker_restricted_to_given_files(
    kernel: KernelManager, isolated_jupyter: Path
) -> None:
    """`--existing PARTIAL` with several matches shows only those matches."""
    other = isolated_jupyter / "kernel-other.json"
    other.write_text(json.dumps(dead_connection()), encoding="utf-8")
    chosen = Path(kernel.connection_file).resolve()
    app = KernelPickerApp(dirs=[isolated_jupyter], only=[chosen], interval=0.2)
    async with app.run_test() as pilot:
        table: DataTable[object] = app.picker.query_one(DataTable)
        await until(pilot, lambda: app.picker.probes >= 1)
        assert table.row_count == 1
        await pilot.press("enter")
        await until(pilot, lambda: not app.is_running)
    assert app.return_value == chosen


async def test_picker_asks_shell_for_activity_once_and_on_refresh(
    kernel: KernelManager, isolated_jupyter: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Shell's kernel_info shows as a busy/idle blip on every client: a picker left open
    must not send one every refresh, yet keep showing what it learnt."""
    asked: list[bool] = []
    probe_all = discovery.probe_all

    async def recording(paths: list[Path], **options: bool) -> list[KernelEntry]:
        asked.append(options.get("activity", True))
        return await probe_all(paths, **options)

    monkeypatch.setattr(discovery, "probe_all", recording)
    path = Path(kernel.connection_file).resolve()
    app = KernelPickerApp(dirs=[isolated_jupyter], only=[path], interval=0.05)
    async with app.run_test(size=(160, 30)) as pilot:
        await until(pilot, lambda: app.picker.probes >= 4)
        assert asked[0] is True
        assert not any(asked[1:])
        assert app.picker.entries[str(path)].execution_state == "idle"
        await pilot.press("r")
        await until(pilot, lambda: asked.count(True) == 2)
