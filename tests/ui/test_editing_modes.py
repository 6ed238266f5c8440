"""vi and emacs editing modes in the cell editor, keys delivered as a terminal does."""

from __future__ import annotations

from textual.pilot import Pilot

from nbtui.app.nbtui_app import NbtuiApp, create_app
from tests.fakes import scripted_client
from tests.ui.conftest import burst, until


async def typed(pilot: Pilot[None], app: NbtuiApp, data: str, expected: str) -> None:
    burst(app, data)
    await until(pilot, lambda: app.editor.text == expected, timeout=5)


def own_codes(app: NbtuiApp) -> list[str]:
    return [cell.code or "" for cell in app.model.cells.values() if cell.is_self]


async def test_vi_normal_mode_commands() -> None:
    client, _ = scripted_client()
    app = create_app(client, editing_mode="vi")
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.kernel_state == "idle")
        editor = app.editor
        assert editor.editing_mode == "vi"
        await until(pilot, lambda: app.status.mode == "vi insert")
        await typed(pilot, app, "x = 1 + 2", "x = 1 + 2")
        await pilot.press("escape")
        await until(pilot, lambda: app.status.mode == "vi normal")
        assert editor.has_class("-vi-normal")
        # Normal mode types nothing: 0 goes to the start, x deletes, $ to the end, ...
        await typed(pilot, app, "0xx", "= 1 + 2")
        await typed(pilot, app, "$x", "= 1 + ")
        await typed(pilot, app, "0lx", "=1 + ")
        await typed(pilot, app, "u", "= 1 + ")
        # w and b move by words (TextArea's idea of a word).
        burst(app, "0w")
        await until(pilot, lambda: editor.cursor_location[1] > 0)
        burst(app, "b")
        await until(pilot, lambda: editor.cursor_location[1] == 0)
        # A then typing: insert at the end of the line; Escape; I inserts at its start.
        await typed(pilot, app, "A3", "= 1 + 3")
        await until(pilot, lambda: app.status.mode == "vi insert")
        await pilot.press("escape")
        await typed(pilot, app, "Iy ", "y = 1 + 3")
        await pilot.press("escape")
        # o and O open lines below and above; dd deletes one; j and k move between them.
        await typed(pilot, app, "ob", "y = 1 + 3\nb")
        await pilot.press("escape")
        await typed(pilot, app, "kOa", "a\ny = 1 + 3\nb")
        await pilot.press("escape")
        await typed(pilot, app, "jdd", "a\nb")
        # i inserts before the cursor, a after it.
        await typed(pilot, app, "k0ia", "aa\nb")
        await pilot.press("escape")
        await typed(pilot, app, "0ac", "aca\nb")


async def test_vi_keys_in_a_burst_apply_in_order_and_enter_runs() -> None:
    """Escape, commands, insert and Enter all in one read: applied in arrival order, as
    the editor applies every key itself (issue 13)."""
    client, _ = scripted_client()
    app = create_app(client, editing_mode="vi")
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.kernel_state == "idle")
        await typed(pilot, app, "print(2)", "print(2)")
        await pilot.press("escape")
        burst(app, "hx" + "i3" + "\r")  # (2) -> (3), then Enter runs, from insert mode
        await until(pilot, lambda: own_codes(app) == ["print(3)"], timeout=5)
        # A new cell starts in insert mode.
        await until(pilot, lambda: app.status.mode == "vi insert")
        assert not app.editor.has_class("-vi-normal")


async def test_vi_k_walks_the_history_from_normal_mode() -> None:
    client, _ = scripted_client()
    app = create_app(client, editing_mode="vi")
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.kernel_state == "idle")
        app.editor.set_history(["first()", "second()"])
        await pilot.press("escape")
        await typed(pilot, app, "k", "second()")
        await typed(pilot, app, "k", "first()")
        await typed(pilot, app, "j", "second()")


async def test_emacs_keys() -> None:
    client, _ = scripted_client()
    app = create_app(client, editing_mode="emacs")
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.kernel_state == "idle")
        editor = app.editor
        await typed(pilot, app, "alpha beta", "alpha beta")
        assert app.status.mode == ""
        await pilot.press("ctrl+a", "ctrl+f", "ctrl+f", "ctrl+d")
        assert editor.text == "alha beta"
        await pilot.press("ctrl+b", "ctrl+k")
        assert editor.text == "a"
        await pilot.press("ctrl+e", "space", "ctrl+y")
        assert editor.text == "a lha beta"
        await pilot.press("alt+b", "alt+b", "alt+f")
        assert editor.cursor_location == (0, 5)
        # The terminal sends alt+b as ESC b, which Textual reads as ctrl+left: the same.
        await typed(pilot, app, "\x1bbX", "a Xlha beta")


async def test_default_mode_keeps_textareas_keys() -> None:
    client, _ = scripted_client()
    app = create_app(client)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.kernel_state == "idle")
        await typed(pilot, app, "abc", "abc")
        await pilot.press("escape", "x")  # Escape is no mode switch: x is typed
        assert app.editor.text == "abcx"
        assert app.status.mode == ""
