"""Pictures as the terminal can draw them: kitty graphics where the terminal says it is
kitty, sixel where its device attributes say sixel, half blocks where it is unknown
(issue 19)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from nbtui.app.kernel.client import KernelClient
from nbtui.app.nbtui_app import create_app
from nbtui.widgets import graphics, sixel
from tests.ui.conftest import run_and_wait, until

PLOT = (
    "import io\n"
    "from PIL import Image as P\n"
    "from IPython.display import Image, display\n"
    "buffer = io.BytesIO()\n"
    "P.new('RGB', (160, 80), (200, 30, 30)).save(buffer, 'PNG')\n"
    "display(Image(data=buffer.getvalue()))\n"
)


@pytest.fixture
def terminal() -> Iterator[None]:
    """Put the process's graphics state back as the other tests expect it (half blocks)."""
    yield
    graphics.configure("halfblock", {})
    graphics.set_sink(None)
    sixel.layer.shown.clear()
    sixel.layer.drawn.clear()
    sixel.layer.bands.clear()


@pytest.mark.parametrize(
    ("environ", "sent", "drawn"),
    [
        ({"TERM": "xterm-kitty", "KITTY_WINDOW_ID": "1"}, True, "\U0010eeee"),
        ({"TERM": "xterm-256color"}, False, "▀"),
    ],
    ids=["kitty", "unknown terminal"],
)
async def test_a_png_is_drawn_as_the_terminal_can(
    client: KernelClient, terminal: None, environ: dict[str, str], sent: bool, drawn: str
) -> None:
    assert graphics.configure("auto", environ) in ("kitty", "halfblock")
    app = create_app(client)
    async with app.run_test(size=(100, 40)) as pilot:
        written: list[str] = []
        assert app._driver is not None
        app._driver.write = written.append  # type: ignore[method-assign]
        app.editor.load_text(PLOT)
        await pilot.press("ctrl+r")
        await run_and_wait(pilot, app, "1")
        await until(pilot, lambda: drawn in app.transcript.plain_text())
        kitty = [chunk for chunk in written if chunk.startswith("\x1b_G")]
        if sent:
            # The PNG itself (f=100) in one transmission, then a virtual placement that the
            # placeholder cells show.
            assert any("f=100" in chunk and chunk.endswith("\x1b\\") for chunk in kitty)
            assert any("a=p,U=1" in chunk for chunk in kitty)
            assert "▀" not in app.transcript.plain_text()
        else:
            assert kitty == []


SIXEL = re.compile(r'\x1b\[(\d+);(\d+)H\x1bP[0-9;]*q"[0-9;]+[0-9;#!$\-?-~]*\x1b\\')
"""A band of a sixel picture: where it goes (CUP), then DCS ... q, raster attributes, and
nothing but sixel data (colours, repeats, sixels) up to ST."""


async def test_a_png_is_drawn_as_sixel_and_keeps_its_place_while_scrolling(
    client: KernelClient, terminal: None
) -> None:
    # xterm-256color says nothing: the device attributes (DA1) include 4, sixel.
    assert graphics.configure("auto", {"TERM": "xterm-256color"}, "\x1b[?63;1;4;22c") == "sixel"
    app = create_app(client)
    async with app.run_test(size=(100, 40)) as pilot:
        written: list[str] = []
        assert app._driver is not None
        app._driver.write = written.append  # type: ignore[method-assign]

        def bands(since: int = 0) -> list[tuple[int, int]]:
            """Screen rows and columns (from 0) where sixel bands were written."""
            return [
                (int(y) - 1, int(x) - 1)
                for chunk in written[since:]
                for y, x in SIXEL.findall(chunk)
            ]

        def shown() -> list[int]:
            return sorted(sixel.layer.shown)

        # The transcript scrolls before the picture comes: its scrollbar, which takes a
        # column, is there from the start, and the picture has one width throughout.
        await run_and_wait(pilot, app, "print('\\n'.join(map(str, range(60))))")
        app.editor.load_text(PLOT)
        await pilot.press("ctrl+r")
        await run_and_wait(pilot, app, "1")
        # Blank cells in the transcript (never half blocks), a sixel band over each row.
        await until(pilot, lambda: bool(shown()) and {y for y, _ in bands()} >= set(shown()))
        assert "▀" not in app.transcript.plain_text()
        first = shown()
        # In one synchronized update, the cursor put back where the frame left it.
        ours = [chunk for chunk in written if "\x1bP" in chunk]
        assert all(c.startswith("\x1b[?2026h\x1b7") for c in ours)
        assert all(c.endswith("\x1b8\x1b[?2026l") for c in ours)

        # New output scrolls the picture up: its bands are drawn again where it went.
        since = len(written)
        await run_and_wait(pilot, app, "print('\\n'.join(map(str, range(6))))")
        await until(pilot, lambda: bool(shown()) and shown()[0] < first[0])
        await until(pilot, lambda: {y for y, _ in bands(since)} >= set(shown()))
        assert sorted(sixel.layer.drawn) == shown()

        # A flood scrolls it out: the text written there erased it; nothing draws it again.
        await run_and_wait(pilot, app, "print('\\n'.join(map(str, range(300))))")
        await until(pilot, lambda: shown() == [])
        assert sixel.layer.drawn == {}
        since = len(written)
        await run_and_wait(pilot, app, "print('more')")
        assert bands(since) == []
        # Encoded once for its one size, however often it was drawn.
        assert len(sixel.layer.bands) == 1
