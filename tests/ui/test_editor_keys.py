"""Keys in the cell editor as a terminal delivers them: bursts, bindings, the footer's keys."""

from __future__ import annotations

from textual._xterm_parser import XTermParser

from nbtui.app.kernel.client import KernelClient
from nbtui.app.nbtui_app import NbtuiApp
from tests.ui.conftest import until


def burst(app: NbtuiApp, data: str) -> None:
    """Deliver terminal input in one go, as the driver does with what one read() returned
    (a paste, a fast typist, keys over SSH): every key is queued before any is handled."""
    for event in XTermParser().feed(data):
        app.post_message(event)


def own_codes(app: NbtuiApp) -> list[str]:
    return [cell.code for cell in app.model.cells.values() if cell.is_self]


async def test_a_burst_with_backspaces_runs_what_was_typed(client: KernelClient) -> None:
    app = NbtuiApp(client)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.kernel_state == "idle")
        for attempt in range(5):
            burst(app, "zxabcdef" + "\x7f" * 8 + f"'ok{attempt}'\r")
            await until(pilot, lambda n=attempt: len(own_codes(app)) > n)
        await until(pilot, lambda: not app.model.busy)
        assert own_codes(app) == [f"'ok{n}'" for n in range(5)]
        assert app.editor.text == ""


async def test_a_burst_with_ctrl_j_keeps_the_new_line(client: KernelClient) -> None:
    app = NbtuiApp(client)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.kernel_state == "idle")
        burst(app, "a = 1\nb = 2")
        await until(pilot, lambda: app.editor.text.endswith("2"))
        assert app.editor.text == "a = 1\nb = 2"
        # ctrl+r runs it as it is, also from within a burst.
        burst(app, "\x12")
        await until(pilot, lambda: len(own_codes(app)) == 1)
        assert own_codes(app) == ["a = 1\nb = 2"]
