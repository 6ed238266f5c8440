"""What the transcript keeps drawn stays a few screens, however long the output."""

from __future__ import annotations

from nbtui.app.kernel.client import KernelClient
from nbtui.app.nbtui_app import create_app
from nbtui.widgets.transcript import LINE_CACHE_SCREENS
from tests.ui.conftest import run_and_wait, until_shown


async def test_the_line_cache_holds_a_few_screens_of_a_long_output(client: KernelClient) -> None:
    app = create_app(client)
    async with app.run_test(size=(80, 24)) as pilot:
        view = app.transcript
        await run_and_wait(pilot, app, "for i in range(3000): print(f'row {i}')")
        await until_shown(pilot, app, "row 2999")
        view.focus()
        for _ in range(20):
            await pilot.press("pageup")  # each page draws lines not drawn before
        await pilot.pause()
        assert "row 2999" not in app.export_screenshot()
        assert len(view.line_cache) <= LINE_CACHE_SCREENS * view.size.height
        # Taller: room for more (Textual's cache takes a new size only when emptied).
        await pilot.resize_terminal(80, 60)
        await pilot.press("end")
        await until_shown(pilot, app, "row 2999")
        for _ in range(20):
            await pilot.press("pageup")
        await pilot.pause()
        assert view.line_cache.maxsize == LINE_CACHE_SCREENS * view.size.height
        assert len(view.line_cache) > LINE_CACHE_SCREENS * 24
