"""Rich output from a real kernel: display updates, clear_output(wait), progress bars."""

from __future__ import annotations

from pathlib import Path

from nbtui.app.kernel.client import KernelClient
from nbtui.app.nbtui_app import NbtuiApp
from nbtui.widgets.pager import PagerScreen
from tests.ui.conftest import run_and_wait


async def test_update_display_replaces_the_value_on_screen(client: KernelClient) -> None:
    app = NbtuiApp(client)
    async with app.run_test(size=(100, 30)) as pilot:
        await run_and_wait(pilot, app, "handle = display('first value', display_id=True)")
        assert "'first value'" in app.transcript.plain_text()
        await run_and_wait(pilot, app, "handle.update('second value')")
        text = app.transcript.plain_text()
        assert "'second value'" in text.splitlines()
        assert "'first value'" not in text.splitlines()


async def test_clear_output_wait_clears_on_the_next_output(client: KernelClient) -> None:
    app = NbtuiApp(client)
    async with app.run_test(size=(100, 30)) as pilot:
        code = ("from IPython.display import clear_output\n"
                "for step in range(5):\n"
                "    clear_output(wait=True)\n"
                "    print(f'step {step}')")
        app.editor.load_text(code)
        await pilot.press("ctrl+r")
        await run_and_wait(pilot, app, "print('after')")
        lines = app.transcript.plain_text().splitlines()
        assert "step 4" in lines
        assert not any(line in lines for line in ("step 0", "step 1", "step 2", "step 3"))


async def test_a_carriage_return_progress_bar_is_one_line(client: KernelClient) -> None:
    app = NbtuiApp(client)
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


async def test_a_long_result_is_clipped_and_opens_in_full(client: KernelClient,
                                                         tmp_path: Path) -> None:
    app = NbtuiApp(client, output_limit=100)
    async with app.run_test(size=(100, 30)) as pilot:
        app.editor.load_text(
            "class Rows:\n"
            "    def __repr__(self): return '\\n'.join(f'row {i}' for i in range(5000))\n"
            "Rows()"
        )
        await pilot.press("ctrl+r")
        await run_and_wait(pilot, app, "1")
        text = app.transcript.plain_text()
        assert "4,900 lines held back" in text
        assert "row 2500" not in text and "row 4999" in text
        await pilot.press("f10")
        pager = app.screen
        assert isinstance(pager, PagerScreen)
        assert "row 2500" in pager.text
        pager.directory = tmp_path
        await pilot.press("s")
        assert pager.saved is not None and "row 2500" in pager.saved.read_text()
        await pilot.press("escape")
        assert not isinstance(app.screen, PagerScreen)
