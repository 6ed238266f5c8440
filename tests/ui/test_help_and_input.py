"""What a real kernel sends outside iopub, and HTML-only output, on the screen.

Help (`len?`) comes only in our own cell's execute_reply, as a `page` payload; the
prompt and the answer of `input()` are never echoed by the kernel. Both must stay in the
transcript under the cell. HTML with no real text/plain (an `HTML` object, a pandas
Styler) is drawn as text.
"""

from __future__ import annotations

from pathlib import Path

from nbtui.app.kernel.client import KernelClient
from nbtui.app.kernel.model import PASSWORD_MASK, InputOutput, PageOutput
from nbtui.app.nbtui_app import NbtuiApp
from tests.ui.conftest import run_and_wait, until, until_shown
from tests.ui.test_rich_output import open_pager, run_block, save


async def test_help_is_shown_under_the_cell(client: KernelClient) -> None:
    app = NbtuiApp(client)
    async with app.run_test(size=(100, 30)) as pilot:
        await run_and_wait(pilot, app, "len?")
        await until(
            pilot,
            lambda: any(
                isinstance(output, PageOutput)
                for cell in app.model.cells.values()
                for output in cell.outputs
            ),
        )
        await until_shown(pilot, app, "Signature:", "Return the number of items in a container.")
        lines = app.transcript.plain_text().splitlines()
        asked = lines.index("In [1] you  len?")
        assert lines[asked + 1].startswith("Signature: len(obj")
        assert "Docstring: Return the number of items in a container." in lines


async def test_long_help_is_clipped_and_opens_whole(client: KernelClient, tmp_path: Path) -> None:
    app = NbtuiApp(client, output_limit=20)
    async with app.run_test(size=(100, 30)) as pilot:
        await run_and_wait(pilot, app, "import collections")
        await run_and_wait(pilot, app, "collections.Counter??")
        await until(pilot, lambda: bool(app.transcript.long_outputs))
        text = app.transcript.plain_text()
        assert "lines held back (F10 shows the whole output" in text
        assert "class Counter(dict):" in text
        pager = await open_pager(pilot)
        assert "def most_common(self, n=None):" in pager.text
        assert "def most_common(self, n=None):" not in text
        assert "\x1b" not in pager.text
        assert await save(pilot, pager, tmp_path) == pager.text


async def test_input_prompt_and_answer_stay_in_the_transcript(client: KernelClient) -> None:
    app = NbtuiApp(client)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press(*"name = input('name? ')", "enter")
        await until(pilot, lambda: app.query_one("#stdin-row").has_class("-active"))
        await pilot.press(*"bob", "enter")
        await until(pilot, lambda: not app.model.busy and bool(app.model.cells))
        await pilot.press(*"import getpass; pw = getpass.getpass('pw? ')", "enter")
        await until(pilot, lambda: app.query_one("#stdin-row").has_class("-active"))
        await pilot.press(*"s3cret", "enter")
        await until(pilot, lambda: not app.model.busy and len(app.model.cells) == 2)
        await run_and_wait(pilot, app, "print(name, len(pw))")
        lines = app.transcript.plain_text().splitlines()
        asked = lines.index("In [1] you  name = input('name? ')")
        assert lines[asked + 1] == "name? bob"  # right under its cell
        assert "pw? " + PASSWORD_MASK in lines
        assert "bob 6" in lines
        assert "s3cret" not in app.transcript.plain_text()
        answers = [
            output
            for cell in app.model.cells.values()
            for output in cell.outputs
            if isinstance(output, InputOutput)
        ]
        assert [output.answer for output in answers] == ["bob", PASSWORD_MASK]


HTML_CELL = (
    "from IPython.display import HTML\n"
    'HTML(\'<h3>Report</h3><p>Fish &amp; <b>chips</b>, see <a href="https://example.org">'
    "this</a>.</p><table><thead><tr><th>item</th><th>price</th></tr></thead>"
    "<tbody><tr><td>cod</td><td>9.5</td></tr><tr><td>peas</td><td>1</td></tr></tbody>"
    "</table><script>alert(1)</script>')"
)


async def test_an_html_object_is_shown_as_text(client: KernelClient) -> None:
    app = NbtuiApp(client)
    async with app.run_test(size=(100, 30)) as pilot:
        text = await run_block(pilot, app, HTML_CELL)
        assert "<IPython.core.display.HTML object>" not in text
        lines = [line.strip() for line in text.splitlines()]
        assert "Report" in lines
        assert "Fish & chips, see this (https://example.org)." in lines
        assert "item   price" in lines
        assert "cod      9.5" in lines
        assert "peas       1" in lines
        assert "alert" not in text


async def test_a_huge_html_table_is_clipped_and_opens_whole(client: KernelClient) -> None:
    app = NbtuiApp(client)
    async with app.run_test(size=(100, 30)) as pilot:
        text = await run_block(
            pilot,
            app,
            "from IPython.display import HTML, display\n"
            "rows = ''.join(f'<tr><th>{i}</th><td>{i * i}</td></tr>' for i in range(100_000))\n"
            "display(HTML(f'<table><tr><th>n</th><th>square</th></tr>{rows}</table>'))",
        )
        assert "99,802 table rows held back (F10 shows the whole output" in text
        lines = [line.strip() for line in text.splitlines()]
        assert "99999   9999800001" in lines
        pager = await open_pager(pilot)
        assert "<tr><th>50000</th><td>2500000000</td></tr>" in pager.text
