"""Where the side panes go: beside the transcript when wide, an overlay when narrow."""

from __future__ import annotations

import io
import re
from contextlib import ExitStack

from jupyter_client import KernelManager
from rich.console import Console
from textual.pilot import Pilot

from nbtui.app.kernel.client import KernelClient
from nbtui.app.kernel.messages import short_session
from nbtui.app.nbtui_app import NbtuiApp
from tests.ui.conftest import peer, until


def screen_text(app: NbtuiApp) -> str:
    """The screen's characters, row by row, as a terminal shows them."""
    console = Console(width=app.size.width, file=io.StringIO(), record=True, legacy_windows=False)
    console.print(app.screen._compositor.render_update(full=True))
    return console.export_text()


def side_by_side(app: NbtuiApp) -> bool:
    """Whether the panes really stand beside the transcript, as laid out on the screen."""
    side = app.query_one("#side")
    transcript = app.transcript.region
    return (
        side.display
        and side.region.width > 0
        and side.region.x >= transcript.right
        and side.region.y == transcript.y
    )


async def laid_out(pilot: Pilot[None], app: NbtuiApp, width: int, height: int) -> None:
    """Wait until the screen has been laid out at `width` x `height`."""
    await until(pilot, lambda: app.screen.size == (width, height))
    await until(pilot, lambda: app.query_one("#main").region.width == width)
    await pilot.pause()


async def test_resizing_lays_out_the_new_size(client: KernelClient) -> None:
    app = NbtuiApp(client)
    async with app.run_test(size=(200, 50)) as pilot:
        await laid_out(pilot, app, 200, 50)
        assert side_by_side(app)
        assert app.transcript.region.width > 100

        await pilot.resize_terminal(80, 24)
        await laid_out(pilot, app, 80, 24)
        # Narrow: the transcript has the whole width, the panes fold away.
        assert not app.query_one("#side").display
        assert app.transcript.region.width == 80

        await pilot.resize_terminal(200, 50)
        await laid_out(pilot, app, 200, 50)
        assert side_by_side(app)
        assert app.transcript.region.width > 100


async def test_an_f2_choice_survives_resizing(client: KernelClient) -> None:
    app = NbtuiApp(client)
    async with app.run_test(size=(200, 50)) as pilot:
        await laid_out(pilot, app, 200, 50)
        await pilot.press("f2")
        await pilot.pause()
        assert not app.query_one("#side").display
        await pilot.resize_terminal(80, 24)
        await laid_out(pilot, app, 80, 24)
        await pilot.resize_terminal(200, 50)
        await laid_out(pilot, app, 200, 50)
        assert not app.query_one("#side").display
        assert app.transcript.region.width == 200


async def two_peers_ran(pilot: Pilot[None], app: NbtuiApp, kernel: KernelManager) -> list[str]:
    """Two other clients run a cell each; returns their peers-pane lines as patterns."""
    lines = []
    with ExitStack() as stack:
        for name in ("analyst", "trainer"):
            other = stack.enter_context(peer(kernel, name))
            other.execute(f"print('{name} was here')")
            session = short_session(other.session.session)
            lines.append(rf"● {name}\s+{session}\s+1 cell")
        await until(pilot, lambda: len(app.model.peers) >= 2 and not app.model.busy)
    return lines


async def test_narrow_overlay_scrolls_to_the_peers_by_keyboard(
    kernel: KernelManager, client: KernelClient
) -> None:
    app = NbtuiApp(client)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.kernel_state == "idle")
        lines = await two_peers_ran(pilot, app, kernel)
        await pilot.press("f2")
        side = app.query_one("#side")
        await until(pilot, lambda: side.display and side.has_class("-overlay"))
        # The overlay is taller than the screen: it takes the keys that scroll it.
        assert side.has_focus
        assert not all(re.search(line, screen_text(app)) for line in lines)
        for _ in range(10):
            if all(re.search(line, screen_text(app)) for line in lines):
                break
            await pilot.press("pagedown")
            await pilot.pause()
        text = screen_text(app)
        assert all(re.search(line, text) for line in lines), text
        assert app.transcript.scroll_y == app.transcript.max_scroll_y  # not the transcript
        await pilot.press("home")
        await pilot.pause()
        assert side.scroll_y == 0
        await pilot.press("down")
        await pilot.pause()
        assert side.scroll_y == 1
        await pilot.press("f2")
        await until(pilot, lambda: not side.display)
        assert app.editor.has_focus


async def test_escape_closes_the_overlay(client: KernelClient) -> None:
    app = NbtuiApp(client)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.kernel_state == "idle")
        await pilot.press("f2")
        side = app.query_one("#side")
        await until(pilot, lambda: side.display and side.has_focus)
        await pilot.press("escape")
        await until(pilot, lambda: not side.display)
        assert app.editor.has_focus


async def test_wide_panes_leave_the_focus_in_the_editor(client: KernelClient) -> None:
    app = NbtuiApp(client)
    async with app.run_test(size=(200, 50)) as pilot:
        await until(pilot, lambda: app.kernel_state == "idle")
        await pilot.press("f2", "f2")
        await pilot.pause()
        assert app.query_one("#side").display
        assert app.editor.has_focus


async def test_status_line_counts_peers_at_80x24(
    kernel: KernelManager, client: KernelClient
) -> None:
    app = NbtuiApp(client)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.kernel_state == "idle")
        assert "peer" not in app.status.summary
        await two_peers_ran(pilot, app, kernel)
        await until(pilot, lambda: "2 peers" in screen_text(app))
        assert "· 2 peers" in app.status.render().plain
