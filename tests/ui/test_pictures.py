"""Pictures as the terminal can draw them: kitty graphics where the terminal says it is
kitty, half blocks where it is unknown (issue 19)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from nbtui.app.kernel.client import KernelClient
from nbtui.app.nbtui_app import create_app
from nbtui.widgets import graphics
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
