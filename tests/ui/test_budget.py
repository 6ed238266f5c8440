"""The scrollback budget on screen when a running cell holds more than all of it."""

from __future__ import annotations

from nbtui.app.kernel.client import KernelClient
from nbtui.app.nbtui_app import NbtuiApp
from tests.ui.conftest import run_and_wait, until


async def test_a_cell_over_budget_in_displays_says_how_many_went(client: KernelClient) -> None:
    """Issue 13, item 24: the oldest displays go (counted on screen), the newest stay, and
    a later cell's output is kept whole."""
    app = NbtuiApp(client, scrollback=100)
    async with app.run_test(size=(100, 30)) as pilot:
        # IPython prints a list too long for one line one item a line: 21 lines each.
        await run_and_wait(pilot, app, "for i in range(30): display([i * 1000] + [10**6] * 20)")
        await run_and_wait(pilot, app, "print('mine')")
        await until(pilot, lambda: "mine" in app.transcript.plain_text())
        text = app.transcript.plain_text()
        assert "earlier outputs not kept (scrollback limit)" in text
        assert "[29000," in text
        assert "[0," not in text
        assert "earlier lines not kept" not in text
