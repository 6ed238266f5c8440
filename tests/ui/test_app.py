"""The app attached to a real kernel, driven with Pilot."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from jupyter_client import KernelManager

from nbtui.app.kernel.client import KernelClient
from nbtui.app.nbtui_app import create_app
from nbtui.widgets.liveness_pane import LivenessPane
from nbtui.widgets.status import StatusBar
from tests.ui.conftest import peer, run_and_wait, until


async def test_run_a_cell_and_see_its_output(client: KernelClient) -> None:
    app = create_app(client)
    async with app.run_test(size=(80, 24)) as pilot:
        await run_and_wait(pilot, app, "print(6*7)")
        text = app.transcript.plain_text()
        assert "print(6*7)" in text
        assert "42" in text.splitlines()


async def test_running_a_cell_goes_back_to_the_end(client: KernelClient) -> None:
    app = create_app(client)
    async with app.run_test(size=(80, 24)) as pilot:
        await run_and_wait(pilot, app, "print('\\n'.join(map(str, range(200))))")
        view = app.transcript
        await pilot.press("pageup", "pageup")
        assert view.scroll_y < view.max_scroll_y
        await run_and_wait(pilot, app, "print('the newest')")
        await pilot.pause(0.1)
        assert view.follow
        assert view.scroll_y == view.max_scroll_y
        assert "the newest" in view.plain_text()


async def test_busy_then_idle(client: KernelClient, tmp_path: Path) -> None:
    # The cell runs until the test has seen busy: a cell of a fixed length can begin and
    # end between two frames when the test process stalls (a full garbage collection of a
    # long test run's heap), and no frame ever shows it busy.
    release = tmp_path / "release"
    states: list[str] = []
    app = create_app(client)
    async with app.run_test(size=(80, 24)) as pilot:
        status = app.query_one(StatusBar)
        app.watch(status, "state", lambda state: states.append(state), init=False)  # noqa: PLW0108
        wait = f"iter(lambda: os.path.exists({str(release)!r}), True)"
        await pilot.press(*f"import os, time; [time.sleep(0.01) for _ in {wait}]", "enter")
        await until(pilot, lambda: status.state == "busy")
        release.touch()
        await until(pilot, lambda: app.kernel_state == "idle" and status.state == "idle")
        assert states == ["busy", "idle"]


async def test_error_traceback_is_shown(client: KernelClient) -> None:
    app = create_app(client)
    async with app.run_test(size=(100, 30)) as pilot:
        await run_and_wait(pilot, app, "1/0")
        assert "ZeroDivisionError" in app.transcript.plain_text()
        cell = next(iter(app.model.cells.values()))
        assert cell.state == "error"


async def test_history_walks_earlier_inputs(kernel: KernelManager, client: KernelClient) -> None:
    app = create_app(client)
    async with app.run_test(size=(80, 24)) as pilot:
        await run_and_wait(pilot, app, "a = 1")
        await run_and_wait(pilot, app, "b = 2")
        await pilot.press("up")
        assert app.editor.text == "b = 2"
        await pilot.press("up")
        assert app.editor.text == "a = 1"
        await pilot.press("down", "down")
        assert app.editor.text == ""


async def test_history_loaded_from_kernel_at_attach(
    kernel: KernelManager, client: KernelClient
) -> None:
    other = kernel.blocking_client()
    other.start_channels()
    try:
        other.execute_interactive("earlier = 'before nbtui'", timeout=30)
    finally:
        other.stop_channels()
    app = create_app(client)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: "earlier = 'before nbtui'" in app.editor.cell_history)
        await pilot.press("up")
        assert app.editor.text == "earlier = 'before nbtui'"


async def test_tab_completes_from_the_kernel(client: KernelClient) -> None:
    app = create_app(client)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press(*"imp", "tab")
        await until(pilot, lambda: app.editor.text.startswith("import"))


async def test_tab_with_several_matches_offers_a_list(client: KernelClient) -> None:
    app = create_app(client)
    async with app.run_test(size=(80, 24)) as pilot:
        await run_and_wait(pilot, app, "alpha_one = 1; alpha_two = 2")
        await pilot.press(*"alpha_", "tab")
        await until(pilot, lambda: app.editor.menu_open)
        await pilot.press("down", "enter")
        await until(pilot, lambda: app.editor.text in ("alpha_one", "alpha_two"))
        assert not app.editor.menu_open


async def test_multi_line_entry(client: KernelClient) -> None:
    app = create_app(client)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press(*"for i in range(3):", "enter")
        await until(pilot, lambda: "\n" in app.editor.text)
        assert not app.model.cells, "an incomplete cell must not run"
        await pilot.press(*"print(i * 10)", "enter")
        await until(pilot, lambda: app.editor.text.count("\n") >= 2 or bool(app.model.cells))
        if not app.model.cells:
            await pilot.press("enter")
        await until(pilot, lambda: bool(app.model.cells))
        await until(pilot, lambda: not app.model.busy)
        await until(pilot, lambda: "20" in app.transcript.plain_text().splitlines())
        lines = app.transcript.plain_text().splitlines()
        assert "0" in lines and "10" in lines


async def test_ctrl_r_runs_even_an_incomplete_cell(client: KernelClient) -> None:
    app = create_app(client)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press(*"x = (1,")
        await pilot.press("ctrl+r")
        await until(pilot, lambda: bool(app.model.cells))
        await until(pilot, lambda: "SyntaxError" in app.transcript.plain_text())


async def test_exit_typed_as_a_cell_leaves_the_kernel_running(
    kernel: KernelManager, client: KernelClient
) -> None:
    app = create_app(client)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press(*"exit", "enter")
        await until(pilot, lambda: not app.is_running)
    assert kernel.is_alive()
    assert await client.request("control", "kernel_info_request", {}, 5.0) is not None


async def test_ctrl_q_quits_and_leaves_the_kernel_running(
    kernel: KernelManager, client: KernelClient
) -> None:
    app = create_app(client)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("ctrl+q")
        await until(pilot, lambda: not app.is_running)
    assert kernel.is_alive()


async def test_input_and_getpass(client: KernelClient) -> None:
    app = create_app(client)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press(*"name = input('name? ')", "enter")
        await until(pilot, lambda: app.query_one("#stdin-row").has_class("-active"))
        await pilot.press(*"bob", "enter")
        await until(pilot, lambda: not app.model.busy and bool(app.model.cells))
        await pilot.press(*"import getpass; pw = getpass.getpass('pw? ')", "enter")
        await until(pilot, lambda: app.query_one("#stdin-row").has_class("-active"))
        assert app.query_one("#stdin-input").password
        await pilot.press(*"s3cret", "enter")
        await until(pilot, lambda: not app.model.busy and len(app.model.cells) == 2)
        await run_and_wait(pilot, app, "print(name, len(pw))")
        assert "bob 6" in app.transcript.plain_text()
        assert "s3cret" not in app.transcript.plain_text()


async def test_another_clients_cell_is_attributed(
    kernel: KernelManager, client: KernelClient
) -> None:
    app = create_app(client)
    async with app.run_test(size=(100, 30)) as pilot:
        with peer(kernel, "analyst") as other:
            other.execute("print('from the other side')")
            await until(pilot, lambda: "from the other side" in app.transcript.plain_text())
        text = app.transcript.plain_text()
        assert f"analyst@{other.session.session.replace('-', '')[:4]}" in text


async def test_settled_liveness_pane_skips_round_trip_wiggles(client: KernelClient) -> None:
    app = create_app(client)
    async with app.run_test(size=(200, 50)) as pilot:
        monitor = app.session.monitor
        assert monitor is not None
        await until(pilot, lambda: monitor.settled, timeout=30.0)
        pane = app.query_one(LivenessPane)
        shown, before = app.session.liveness, pane._snapshot
        assert shown is not None and before is not None
        # Only the round trip moved: not news while settled.
        app.session.liveness_changed(
            dataclasses.replace(shown, hb_rtt=0.5, hb_history=(*shown.hb_history, 0.5))
        )
        await until(pilot, lambda: not app.session.undrawn)
        assert pane._snapshot is before
        # A control probe's answer is news: the pane catches up, round trip included.
        moved = dataclasses.replace(shown, hb_rtt=0.5, control_latency=0.25)
        app.session.liveness_changed(moved)
        await until(pilot, lambda: pane._snapshot is moved)
