"""Where the side panes go: beside the transcript when wide, an overlay when narrow."""

from __future__ import annotations

from textual.pilot import Pilot

from nbtui.app.kernel.client import KernelClient
from nbtui.app.nbtui_app import NbtuiApp
from tests.ui.conftest import until


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
