"""The short paths a flood takes: Enter without a round trip, parts kept between frames,
a batch of plain lines measured at once. Each must give what the long path gives."""

from __future__ import annotations

import asyncio
from itertools import accumulate
from typing import Any

import pytest
from rich.style import Style
from textual.app import App, ComposeResult

from nbtui.app.kernel.cells import plainly_complete
from nbtui.app.kernel.client import KernelClient
from nbtui.app.kernel.model import Cell, StreamOutput
from nbtui.app.nbtui_app import create_app
from nbtui.widgets.editor import CellEditor
from nbtui.widgets.transcript_parts import StreamPart, _wrap
from tests.ui.conftest import run_and_wait, until


@pytest.mark.parametrize(
    ("code", "plain"),
    [
        ("print(6*7)", True),
        ("x = 1; y = 2", True),
        ("for i in range(3): print(i)", True),
        ('exec("for i in range(9): print(i)\\nprint(1)")', True),
        ("if x:", False),  # a block to come
        ("print(", False),  # an open bracket
        ("try: x", False),  # IPython: incomplete
        ("@decorator", False),
        ("x = 1 \\", False),  # a continuation
        ("%time x", False),  # IPython's own syntax: the kernel judges
        ("x?", False),
        ("await x", False),  # top-level await: IPython's, not plain Python
        ("  x = 1", False),  # IPython dedents; Python would not compile it
        ("a b", False),  # invalid: the kernel says so, in its own words
        ("print(1)\nprint(2)", False),
    ],
)
def test_which_lines_skip_is_complete(code: str, plain: bool) -> None:
    assert plainly_complete(code, "python") is plain
    # Other languages are always asked.
    assert plainly_complete(code, "R") is False


async def test_a_plain_line_runs_without_asking_the_kernel(client: KernelClient) -> None:
    asked: list[str] = []
    original = client.is_complete

    async def is_complete(code: str, timeout: float = 0.5) -> str | None:
        asked.append(code)
        return await original(code, timeout)

    client.is_complete = is_complete  # type: ignore[method-assign]
    app = create_app(client)
    async with app.run_test(size=(80, 24)) as pilot:
        await run_and_wait(pilot, app, "print(6*7)")
        assert asked == []
        assert "42" in app.transcript.plain_text().splitlines()
        # A block opener still goes to the kernel, and Enter then continues the cell.
        await pilot.press(*"if True:")
        await pilot.press("enter")
        await until(pilot, lambda: asked == ["if True:"])
        assert app.editor.text.startswith("if True:\n")


async def test_a_streaming_cell_keeps_its_stream_part(client: KernelClient) -> None:
    app = create_app(client)
    async with app.run_test(size=(80, 24)) as pilot:
        code = "import time\nfor i in range(4): print('row', i, flush=True); time.sleep(0.3)"
        await pilot.press(*"import time")
        await pilot.press("enter")
        await until(pilot, lambda: not app.model.busy and app.kernel_state == "idle")
        await pilot.press(*code.split("\n")[1])
        await pilot.press("enter")

        def stream_parts() -> list[Any]:
            return [
                part
                for parts in app.transcript._parts.values()
                for part in parts
                if isinstance(part, StreamPart)
            ]

        await until(pilot, lambda: "row 0" in app.transcript.plain_text())
        first = stream_parts()
        assert len(first) == 1
        await until(pilot, lambda: "row 3" in app.transcript.plain_text())
        # The same part measured every line once, frame after frame.
        assert stream_parts() == first
        rows = [
            line for line in app.transcript.plain_text().splitlines() if line.startswith("row ")
        ]
        assert rows == ["row 0", "row 1", "row 2", "row 3"]


async def test_a_batch_is_measured_as_line_by_line(client: KernelClient) -> None:
    app = create_app(client, line_limit=100)
    async with app.run_test(size=(80, 24)):
        part = StreamPart(app.transcript, StreamOutput("stdout"), app.transcript.rich_style)
        batches = [
            [str(i) for i in range(1000)],  # the flood: one row each
            ["", "x" * 40, "y" * 41, "z" * 40],  # empty and exact-width lines
            ["short", "w" * 95],  # wraps, under the limit
            ["long " * 30],  # over line_limit: clipped
            ["日本語" * 10, "a\tb", "\x1b[31mred\x1b[0m"],  # wide, tab, colour
        ]
        for width in (40, 80):
            for batch in batches:
                fast = list(part._ends(0, batch, width, 7))
                slow = list(
                    accumulate(
                        (part._rows(index, line, width) for index, line in enumerate(batch)),
                        initial=7,
                    )
                )[1:]
                assert fast == slow, (width, batch[:3])


async def test_output_that_first_overflows_is_followed_in_the_same_frame(
    client: KernelClient,
) -> None:
    app = create_app(client)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        view = app.transcript
        stream = StreamOutput("stdout")
        stream.append("".join(f"{i}\n" for i in range(200)))
        cell = Cell(key="k", session="s", username="u", is_self=True, code="x", outputs=[stream])
        # No scrollbar yet (nothing overflowed), and no layout in between: the view must
        # still be at the end when update_entries returns, not one refresh later.
        view.update_entries([cell], [], [cell])
        assert view.max_scroll_y > 0
        assert view.scroll_y == view.max_scroll_y


async def test_plain_lines_are_cut_into_rows_as_rich_would(client: KernelClient) -> None:
    app = create_app(client)
    async with app.run_test(size=(80, 24)):
        view = app.transcript
        for style in (Style(), view.get_component_rich_style("transcript--stderr")):
            part = StreamPart(view, StreamOutput("stdout"), style)
            for width in (10, 80):
                for index, line in enumerate(["", "7", "x" * 10, "y" * 25, "a b  c "]):
                    fast = part._render(index, line, width)
                    slow = view.render_text(_wrap(part._text(line), width), width)
                    assert [list(strip) for strip in fast] == [list(s) for s in slow]
                    assert [s.cell_length for s in fast] == [s.cell_length for s in slow]


async def test_keys_typed_before_the_kernel_answers_apply_after_it(client: KernelClient) -> None:
    # Type-ahead: keys that arrive while Enter is still being decided (a fast typist, or
    # an SSH session delivering several keys in one packet) land after the decision.
    original = client.is_complete

    async def slow(code: str, timeout: float = 0.5) -> str | None:
        await asyncio.sleep(0.2)
        return await original(code, timeout)

    client.is_complete = slow  # type: ignore[method-assign]
    app = create_app(client)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press(*"if True:", "enter", *"print('ahead')", "enter", "enter")
        await until(pilot, lambda: "ahead" in app.transcript.plain_text().splitlines())
        code = [cell.code for cell in app.model.cells.values()]
        assert code == ["if True:\n    print('ahead')\n    "]
        await until(pilot, lambda: not app.editor.awaiting)
        assert app.editor.text == ""
        # Two plain lines typed in one go are two cells, in order.
        await pilot.press(*"x = 41", "enter", *"print(x + 1)", "enter")
        await until(pilot, lambda: "42" in app.transcript.plain_text().splitlines())
        code = [cell.code for cell in app.model.cells.values()]
        assert code[1:] == ["x = 41", "print(x + 1)"]


class EditorApp(App[None]):
    def compose(self) -> ComposeResult:
        yield CellEditor()


@pytest.mark.parametrize("before", ["", "  ", "    ", "     "])
async def test_a_held_tab_indents_as_a_typed_one(before: str) -> None:
    app = EditorApp()
    async with app.run_test() as pilot:
        editor = app.query_one(CellEditor)
        editor.focus()
        await pilot.press(*(["space"] * len(before)), "tab")
        typed = editor.text
        editor.load_text("")
        editor.awaiting = True
        await pilot.press(*(["space"] * len(before)), "tab")
        assert editor.text == ""
        editor.decided()
        assert editor.text == typed
        assert len(typed) % 4 == 0 and len(typed) > len(before)
