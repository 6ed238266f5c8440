"""The transcript's scrollbar keeps its drawn rows while its thumb stays put, and always
looks as Textual's own would (issue 19's stalls: a third of each screen update)."""

from __future__ import annotations

from textual.geometry import Region
from textual.scrollbar import ScrollBar
from textual.strip import Strip

from nbtui.app.nbtui_app import create_app
from nbtui.widgets.scrollbar import KeptScrollBar
from tests.fakes import scripted_client
from tests.ui.conftest import until

REQUEST = {
    "msg_id": "peer-1",
    "session": "91c0a7e2",
    "username": "analyst",
    "msg_type": "execute_request",
}


def drawn_afresh(bar: ScrollBar, crop: Region) -> list[list[object]]:
    """The rows Textual's plain scrollbar draws for `bar`'s state now."""
    bar._styles_cache.clear()
    return rows(ScrollBar.render_lines(bar, crop))


def rows(strips: list[Strip]) -> list[list[object]]:
    return [list(strip) for strip in strips]


async def test_the_scrollbar_is_drawn_again_only_when_its_thumb_moves() -> None:
    client, kernel = scripted_client()
    app = create_app(client)
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: app.kernel_state == "idle")
        view = app.transcript
        kernel.publish("status", {"execution_state": "busy"}, REQUEST)
        kernel.publish("execute_input", {"code": "flood()", "execution_count": 1}, REQUEST)
        text = "".join(f"line {n}\n" for n in range(2000))
        kernel.publish("stream", {"name": "stdout", "text": text}, REQUEST)
        await until(pilot, lambda: "line 1999" in view.plain_text())
        bar = view.vertical_scrollbar
        assert isinstance(bar, KeptScrollBar)
        await until(pilot, lambda: bar.display and bar.size.height > 0)
        crop = Region(0, 0, bar.size.width, bar.size.height)
        compared = 0
        drawn = bar.drawn
        for n in range(2000, 2060):
            kernel.publish("stream", {"name": "stdout", "text": f"line {n}\n"}, REQUEST)
            await until(pilot, lambda n=n: f"line {n}" in view.plain_text())
            await pilot.pause()
            shown = rows(bar.render_lines(crop))
            assert shown == drawn_afresh(bar, crop), n
            compared += 1
        # Sixty more lines under a 2,000-line transcript barely move the thumb.
        assert bar.drawn - drawn < compared / 2
        # Scrolled back, the thumb moves: drawn again, as Textual draws it.
        before = bar.drawn
        view.scroll_to(y=0, animate=False, immediate=True)
        await until(pilot, lambda: bar.drawn > before)
        assert rows(bar.render_lines(crop)) == drawn_afresh(bar, crop)
