"""Search (ctrl+f, `/`) and the cells you move between and copy (j / k, y, o, Y, e), in
the real console on a scripted kernel: the transcript is filled by messages as a peer's
cells would fill it."""

from __future__ import annotations

import html
import re
import time
from typing import Any

from textual.widgets import Input

from nbtui.app.nbtui_app import NbtuiApp, create_app
from nbtui.widgets.search_bar import SearchBar
from tests.fakes import scripted_client
from tests.ui.conftest import burst, screen_text, until, until_shown


def peer_cell(kernel: Any, number: int, code: str, text: str) -> None:
    """A peer's cell `In [number]` that prints `text`, from busy to idle."""
    request = {"msg_id": f"peer-{number}", "session": "91c0a7e2", "username": "analyst"}
    request["msg_type"] = "execute_request"
    kernel.publish("status", {"execution_state": "busy"}, request)
    kernel.publish("execute_input", {"code": code, "execution_count": number}, request)
    kernel.publish("stream", {"name": "stdout", "text": text}, request)
    kernel.publish("status", {"execution_state": "idle"}, request)


def visible(app: NbtuiApp) -> str:
    """The screen's text with its styled runs joined (a marked match splits a line)."""
    return html.unescape("".join(re.findall(r">([^<]*)</text>", screen_text(app))))


async def until_visible(pilot: Any, app: NbtuiApp, text: str) -> None:
    deadline = time.monotonic() + 15
    while text not in visible(app):
        assert time.monotonic() < deadline, f"{text!r} not on screen:\n{visible(app)}"
        await pilot.pause(0.02)


def bar_status(app: NbtuiApp) -> str:
    return str(app.query_one("#search-count").render())


async def filled(pilot: Any, app: NbtuiApp, kernel: Any) -> None:
    await until(pilot, lambda: app.kernel_state == "idle")
    lines = "".join(f"line {i} {'Needle' if i % 700 == 5 else 'hay'}\n" for i in range(3000))
    peer_cell(kernel, 1, "print('first')", lines)
    peer_cell(kernel, 2, "x = 'needle' + \"\u202e\"", "tail\n")
    await until(pilot, lambda: len(app.model.cells) == 2 and app.transcript._height > 3000)
    await until_shown(pilot, app, "tail")


async def test_search_counts_steps_toggles_and_escape_goes_back() -> None:
    client, kernel = scripted_client()
    app = create_app(client)
    async with app.run_test(size=(100, 30)) as pilot:
        await filled(pilot, app, kernel)
        view = app.transcript
        assert view.follow
        await pilot.press("ctrl+f")
        assert app.query_one(SearchBar).display
        assert isinstance(app.focused, Input)
        await pilot.press(*"needle")
        # 5 lines of output (5, 705, ..., 2805) and the code of In [2]; the newest first.
        await until(pilot, lambda: bar_status(app) == "6 of 6")
        await until_visible(pilot, app, "x = 'needle'")
        await pilot.press("enter")  # round the end: the first
        await until(pilot, lambda: bar_status(app) == "1 of 6")
        assert not view.follow
        await until_visible(pilot, app, "line 5 Needle")
        assert round(view.scroll_y) < 50
        await pilot.press("shift+enter")
        await until(pilot, lambda: bar_status(app) == "6 of 6")
        await pilot.press("enter", "enter")
        await until(pilot, lambda: bar_status(app) == "2 of 6")
        await until_visible(pilot, app, "line 705 Needle")
        # Case: only the code's lowercase one.
        await pilot.press("alt+c")
        await until(pilot, lambda: bar_status(app) == "1 of 1")
        # A regex, ignoring case again: the matches after line 5; a bad one says so.
        await pilot.press("alt+c", "alt+r")
        await pilot.press("ctrl+u", *r"line \d+05 needle")
        await until(pilot, lambda: bar_status(app).endswith("of 4"))
        await pilot.press("ctrl+u", *"line (")
        await until(pilot, lambda: bar_status(app).startswith("bad regex"))
        assert "bad regex" in visible(app)
        # Escape: the bar closes, the view is back at the end and follows again.
        await pilot.press("escape")
        assert not app.query_one(SearchBar).display
        assert app.focused is app.editor
        await until(pilot, lambda: view.follow and view.scroll_y == view.max_scroll_y)


async def test_a_match_stays_on_screen_while_output_streams() -> None:
    client, kernel = scripted_client()
    app = create_app(client)
    async with app.run_test(size=(100, 30)) as pilot:
        await filled(pilot, app, kernel)
        view = app.transcript
        await pilot.press("ctrl+f", *"line 1405 ")
        await until(pilot, lambda: bar_status(app) == "1 of 1")
        await until_visible(pilot, app, "line 1405 Needle")
        top = view.scroll_y
        for n in range(5):
            peer_cell(kernel, 3 + n, "print(1)", "more\n" * 200)
        await until(pilot, lambda: len(app.model.cells) == 7)
        await pilot.pause(0.1)
        assert view.scroll_y == top
        await until_visible(pilot, app, "line 1405 Needle")
        # Tab: the bar closes and the view stays, the transcript focused.
        await pilot.press("tab")
        assert app.focused is view
        assert view.scroll_y == top


async def test_slash_in_the_transcript_and_n_steps() -> None:
    client, kernel = scripted_client()
    app = create_app(client)
    async with app.run_test(size=(100, 30)) as pilot:
        await filled(pilot, app, kernel)
        await pilot.press("f6")
        assert app.focused is app.transcript
        await pilot.press("slash", *"needle")
        await until(pilot, lambda: bar_status(app) == "6 of 6")
        await pilot.press("tab")
        await pilot.press("n")
        await until(pilot, lambda: bar_status(app) == "1 of 6")
        await pilot.press("N")
        await until(pilot, lambda: bar_status(app) == "6 of 6")
        await pilot.press("escape")
        assert not app.transcript.searching


async def test_cells_are_selected_copied_and_edited() -> None:
    client, kernel = scripted_client()
    app = create_app(client)
    copied: list[str] = []
    async with app.run_test(size=(100, 30)) as pilot:
        app.copy_to_clipboard = copied.append  # type: ignore[method-assign]
        await filled(pilot, app, kernel)
        view = app.transcript
        await pilot.press("f6", "k")
        assert view.selected is app.model.cells["peer-2"]
        await pilot.press("y")
        # The code as sent: the bidi character itself, not its <U+202E> display form.
        assert copied == ["x = 'needle' + \"\u202e\""]
        await pilot.press("o")
        assert copied[-1] == "tail"
        await pilot.press("Y")
        assert copied[-1] == "x = 'needle' + \"\u202e\"\n\ntail"
        await pilot.press("k")
        assert view.selected is app.model.cells["peer-1"]
        await until_visible(pilot, app, "print('first')")
        await pilot.press("o")
        assert copied[-1].startswith("line 0 hay\nline 1 hay") and copied[-1].endswith("2999 hay")
        await pilot.press("j", "j")
        assert view.selected is app.model.cells["peer-2"]
        await pilot.press("e")
        assert app.focused is app.editor
        assert app.editor.text == "x = 'needle' + \"\u202e\""
        assert not app.model.running


async def test_escape_returns_to_a_place_scrolled_back_to() -> None:
    client, kernel = scripted_client()
    app = create_app(client)
    async with app.run_test(size=(100, 30)) as pilot:
        await filled(pilot, app, kernel)
        view = app.transcript
        view.scroll_to(y=1000, animate=False, immediate=True)
        await until(pilot, lambda: view.scroll_y == 1000 and not view.follow)
        await pilot.press("ctrl+f", *"needle")
        # The match nearest above the bottom of the view: line 705 (row 707), the 2nd.
        await until(pilot, lambda: bar_status(app) == "2 of 6")
        await pilot.press("enter", "enter")
        await until_visible(pilot, app, "line 2105 Needle")
        await pilot.press("escape")
        await until(pilot, lambda: view.scroll_y == 1000)
        assert not view.follow


async def test_running_a_cell_closes_the_search_and_shows_the_end() -> None:
    client, kernel = scripted_client()
    app = create_app(client)
    async with app.run_test(size=(100, 30)) as pilot:
        await filled(pilot, app, kernel)
        view = app.transcript
        await pilot.press("ctrl+f", *"needle", "enter")
        await until(pilot, lambda: bar_status(app) == "1 of 6")
        await pilot.press("tab")
        await pilot.press("f6")
        assert app.focused is app.editor
        app.run_cell("print('after')")
        assert not view.searching and not app.query_one(SearchBar).display
        await until(pilot, lambda: view.follow and view.scroll_y == view.max_scroll_y)


async def test_the_query_has_room_at_80_columns() -> None:
    client, _kernel = scripted_client()
    app = create_app(client)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.kernel_state == "idle")
        await pilot.press("ctrl+f")
        await pilot.press(*"a long query, longer")
        await until(pilot, lambda: bar_status(app) == "no matches")
        field = app.query_one("#search-input", Input)
        assert field.size.width >= 30, field.size
        await until_visible(pilot, app, "a long query, longer")
        assert "esc back" in visible(app)  # the short hint
        assert "alt+c" not in visible(app)


async def test_keys_typed_with_ctrl_f_in_one_burst_go_to_the_query() -> None:
    """ctrl+f and the query in one read (a fast typist, an SSH packet): the query lands
    in the search bar, not in the cell being edited; the query typed over when the bar
    opens again."""
    client, kernel = scripted_client()
    app = create_app(client)
    async with app.run_test(size=(100, 30)) as pilot:
        await filled(pilot, app, kernel)
        app.editor.insert("x = 1")
        # The bar is mounted just after startup's first frames; a burst before that opens
        # it after the keys (which go to the editor, as they did before).
        await until(pilot, lambda: app.console_screen.hidden_mounted)
        burst(app, "\x06needle")
        await until(pilot, lambda: bar_status(app) == "6 of 6")
        assert app.query_one("#search-input", Input).value == "needle"
        assert app.editor.text == "x = 1"
        await pilot.press("escape")  # back to the editor
        assert app.focused is app.editor
        burst(app, "\x06z")
        await until(pilot, lambda: app.query_one("#search-input", Input).value == "z")
        assert app.editor.text == "x = 1"


async def test_ctrl_f_in_one_burst_stays_the_editors_in_emacs_mode() -> None:
    client, _ = scripted_client()
    app = create_app(client)
    app.editing_mode = "emacs"
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: app.kernel_state == "idle")
        app.editor.insert("ac")
        app.editor.move_cursor((0, 0))
        burst(app, "\x06b")
        await until(pilot, lambda: app.editor.text == "abc")
        assert not app.query_one(SearchBar).display if app.console_screen.hidden_mounted else True
