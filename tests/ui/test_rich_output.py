"""Rich output from a real kernel: display updates, clear_output(wait), progress bars."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from nbtui.app.kernel.client import KernelClient
from nbtui.app.nbtui_app import NbtuiApp, create_app
from nbtui.app.screens.pager import PagerScreen
from nbtui.widgets import images
from tests.ui.conftest import run_and_wait, until


async def run_block(pilot: Pilot[None], app: NbtuiApp, code: str, text: bool = True) -> str:
    """Run a multi-line cell (Ctrl+R), wait until it is done; the transcript's text
    (drawing every row of it), unless `text` is False."""
    app.editor.load_text(code)
    await pilot.press("ctrl+r")
    await run_and_wait(pilot, app, "1")
    return app.transcript.plain_text() if text else ""


async def open_pager(pilot: Pilot[None]) -> PagerScreen:
    await pilot.press("f10")
    pager = pilot.app.screen
    assert isinstance(pager, PagerScreen)
    return pager


async def run_and_open(pilot: Pilot[None], app: NbtuiApp, code: str) -> tuple[str, PagerScreen]:
    """Run a cell whose output is clipped: the transcript's text, and F10's pager."""
    text = await run_block(pilot, app, code)
    return text, await open_pager(pilot)


async def save(pilot: Pilot[None], pager: PagerScreen, directory: Path) -> str:
    """Press s in the pager; what the saved file holds."""
    pager.directory = directory
    await pilot.press("s")
    assert pager.saved is not None
    return pager.saved.read_text(encoding="utf-8")


async def test_update_display_replaces_the_value_on_screen(client: KernelClient) -> None:
    app = create_app(client)
    async with app.run_test(size=(100, 30)) as pilot:
        await run_and_wait(pilot, app, "handle = display('first value', display_id=True)")
        assert "'first value'" in app.transcript.plain_text()
        await run_and_wait(pilot, app, "handle.update('second value')")
        text = app.transcript.plain_text()
        assert "'second value'" in text.splitlines()
        assert "'first value'" not in text.splitlines()


async def test_clear_output_wait_clears_on_the_next_output(client: KernelClient) -> None:
    app = create_app(client)
    async with app.run_test(size=(100, 30)) as pilot:
        code = (
            "from IPython.display import clear_output\n"
            "for step in range(5):\n"
            "    clear_output(wait=True)\n"
            "    print(f'step {step}')"
        )
        app.editor.load_text(code)
        await pilot.press("ctrl+r")
        await run_and_wait(pilot, app, "print('after')")
        lines = app.transcript.plain_text().splitlines()
        assert "step 4" in lines
        assert not any(line in lines for line in ("step 0", "step 1", "step 2", "step 3"))


async def test_a_carriage_return_progress_bar_is_one_line(client: KernelClient) -> None:
    app = create_app(client)
    async with app.run_test(size=(100, 30)) as pilot:
        app.editor.load_text(
            "import sys, time\n"
            "for i in range(0, 101, 10):\n"
            "    sys.stdout.write(f'\\rprogress {i:3d}%'); sys.stdout.flush(); time.sleep(0.01)\n"
            "print()"
        )
        await pilot.press("ctrl+r")
        await run_and_wait(pilot, app, "print('done')")
        lines = app.transcript.plain_text().splitlines()
        bars = [line for line in lines if line.startswith("progress")]
        assert bars == ["progress 100%"]


CLIPPED: dict[str, tuple[dict[str, Any], str, str, list[str], list[str]]] = {
    "many lines": (
        {"output_limit": 100},
        "class Rows:\n"
        "    def __repr__(self): return '\\n'.join(f'row {i}' for i in range(5000))\n"
        "Rows()",
        "… 4,900 lines held back",
        ["row 0", "row 49", "row 4950", "row 4999"],
        ["row 50", "row 2500", "row 4949"],
    ),
    # Laying out markdown costs far more than text: a long document shows its two ends,
    # and the pager has its source.
    "long markdown": (
        {"output_limit": 400},
        "from IPython.display import Markdown, display\n"
        "display(Markdown('\\n'.join(f'- item {i}' for i in range(5000))))",
        "… 4,900 lines held back",
        ["item 0", "item 49", "item 4950", "item 4999"],
        ["item 2500", "item 4949"],
    ),
    # A picture that does not open is not drawn: the markdown beside it is clipped as alone.
    "long markdown beside a broken picture": (
        {"output_limit": 400},
        "from IPython.display import display\n"
        "display({'image/png': 'bm90IGFuIGltYWdl',\n"
        "         'text/markdown': '\\n'.join(f'- item {i}' for i in range(5000))}, raw=True)",
        "… 4,900 lines held back",
        ["item 0", "item 49", "item 4950", "item 4999"],
        ["item 2500", "item 4949"],
    ),
    # 200,000 characters and no newline, sent in small flushed pieces, then the end:
    # the first 500 characters and the last 500 are shown, nothing of the middle.
    "one huge line": (
        {"line_limit": 1000},
        "for i in range(200):\n"
        "    print(f'{i:04d}' + '.' * 995 + '|', end='', flush=True)\n"
        "print('END')",
        "… 199,003 characters held back",
        ["0000" + "." * 496 + "…", "saves it)" + "." * 496 + "|END"],
        ["0001", "0199"],
    ),
}


@pytest.mark.parametrize("case", list(CLIPPED))
async def test_a_clipped_output_opens_in_full(
    client: KernelClient, tmp_path: Path, case: str
) -> None:
    limits, code, note, shown, hidden = CLIPPED[case]
    app = create_app(client, **limits)
    async with app.run_test(size=(100, 30)) as pilot:
        text, pager = await run_and_open(pilot, app, code)
        assert note in text
        joined = "".join(text.splitlines())
        assert all(part in joined for part in shown)
        assert not any(part in joined for part in hidden)
        assert all(part in pager.text for part in hidden)
        assert await save(pilot, pager, tmp_path) == pager.text
        await pilot.press("escape")
        assert not isinstance(app.screen, PagerScreen)


async def test_a_stream_opens_whole_in_the_pager(client: KernelClient) -> None:
    app = create_app(client, line_limit=1000)
    async with app.run_test(size=(100, 30)) as pilot:
        _, pager = await run_and_open(pilot, app, CLIPPED["one huge line"][1])
        assert pager.title_text == "stdout"
        assert pager.text == "".join(f"{i:04d}" + "." * 995 + "|" for i in range(200)) + "END"


async def test_a_one_line_result_is_clipped(client: KernelClient) -> None:
    app = create_app(client, line_limit=1000)
    async with app.run_test(size=(100, 30)) as pilot:
        await run_and_wait(pilot, app, "'y' * 50_000 + 'z'")
        text = app.transcript.plain_text()
        # The repr is 50,003 characters with its quotes.
        assert "… 49,003 characters held back" in text
        assert "yz'" in "".join(text.splitlines())
        pager = await open_pager(pilot)
        assert pager.text == "'" + "y" * 50_000 + "z'"


async def test_long_lines_wrap_without_losing_a_row(client: KernelClient) -> None:
    app = create_app(client)
    async with app.run_test(size=(100, 30)) as pilot:
        # Words that do not fill a row evenly: word wrapping would need more rows than a
        # terminal does, and the last of them went missing.
        await run_and_wait(
            pilot,
            app,
            "for n in (3, 5, 7, 11): print(' '.join(['w' * n] * 40) + f' LAST{n}')",
        )
        joined = "".join(app.transcript.plain_text().splitlines())
        for n in (3, 5, 7, 11):
            assert f"LAST{n}" in joined
        # Wide characters, and tabs after colour codes, wrap where they are measured.
        await run_and_wait(pilot, app, "print('漢字' * 130 + 'END1')")
        await run_and_wait(
            pilot,
            app,
            "print(('\\x1b[31mred\\x1b[0m\\tcell\\t' * 20) + 'END2')",
        )
        joined = "".join(app.transcript.plain_text().splitlines())
        assert "漢字" * 130 + "END1" in joined
        assert "END2" in joined
        assert "red     cell    red" in joined  # tab stops of what is shown


async def test_f10_opens_the_clipped_output_on_screen(client: KernelClient) -> None:
    app = create_app(client, line_limit=1000)
    async with app.run_test(size=(100, 30)) as pilot:
        await run_and_wait(pilot, app, "print('A' * 5000)")
        await run_and_wait(pilot, app, "print('\\n'.join(map(str, range(100))))")
        await run_and_wait(pilot, app, "print('B' * 5000)")
        pager = await open_pager(pilot)  # at the end: the newest
        assert pager.text == "B" * 5000
        await pilot.press("escape")
        app.transcript.scroll_home(animate=False, immediate=True)
        await pilot.pause()
        pager = await open_pager(pilot)
        assert pager.text == "A" * 5000


async def test_a_clipped_output_let_go_by_scrollback_is_not_kept(client: KernelClient) -> None:
    app = create_app(client, line_limit=1000, scrollback=100)
    async with app.run_test(size=(100, 30)) as pilot:
        await run_and_wait(pilot, app, "print('A' * 5000)")
        assert len(app.transcript.long_outputs) == 1
        first = app.transcript.long_outputs[0]
        app.run_cell("print('\\n'.join(map(str, range(500))))")
        await until(
            pilot, lambda: not any(first in cell.outputs for cell in app.model.cells.values())
        )
        await until(pilot, lambda: app.transcript.long_outputs == [])
        assert app.transcript.output_to_open() is None


async def test_a_burst_of_pictures_decodes_only_those_on_screen(
    client: KernelClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A loop showing plots must not stall the screen decoding every one: each is laid
    # out from its header and decoded once it is drawn.
    decoded: list[object] = []
    real_decode = images._decode_image

    def counting(value: object) -> object:
        decoded.append(value)
        return real_decode(value)

    monkeypatch.setattr(images, "_decode_image", counting)
    app = create_app(client)
    async with app.run_test(size=(100, 30)) as pilot:
        await run_block(
            pilot,
            app,
            (
                "import io\n"
                "from PIL import Image as P\n"
                "from IPython.display import Image, display\n"
                "for shade in range(30):\n"
                "    buffer = io.BytesIO()\n"
                "    P.new('RGB', (200, 100), (shade * 8, 0, 0)).save(buffer, 'PNG')\n"
                "    display(Image(data=buffer.getvalue()))\n"
            ),
            text=False,
        )
        # Decoded in the layout thread: those drawn come a moment later.
        await until(pilot, lambda: len(decoded) >= 1)
        await pilot.pause(0.1)
        # 30 pictures laid out whole; only the last few are drawn (and the cell after).
        assert app.transcript.virtual_size.height > 300
        assert 1 <= len(decoded) <= 4
        # plain_text() draws every row: each picture is decoded once, then shows.
        app.transcript.plain_text()
        await until(pilot, lambda: len(decoded) == 30)
        await until(pilot, lambda: app.transcript.plain_text().count("▀" * 50) >= 30 * 20)
        assert len(decoded) == 30
