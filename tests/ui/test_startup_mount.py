"""The widgets the first frame does not show (the variables pane, the input prompt, the
search bar) are mounted after it: whatever needs one before then waits for it."""

from __future__ import annotations

from typing import Any

import pytest
from textual.widgets._footer import FooterKey

from nbtui.app.nbtui_app import create_app
from nbtui.app.screens.console import ConsoleScreen
from nbtui.widgets.footer import SteadyFooter
from nbtui.widgets.search_bar import SearchBar
from nbtui.widgets.stdin_prompt import StdinPrompt
from nbtui.widgets.variables_pane import VariablesPane
from tests.fakes import ScriptedTransport, scripted_client
from tests.ui.conftest import until


@pytest.fixture
def never_after_first_frame(monkeypatch: pytest.MonkeyPatch) -> None:
    """The mount after the first frame never comes: every use meets the widgets absent."""
    monkeypatch.setattr(ConsoleScreen, "_mount_hidden_soon", lambda self: None)


async def test_the_first_frame_is_composed_without_the_hidden_widgets(
    never_after_first_frame: None,
) -> None:
    client, _ = scripted_client()
    app = create_app(client)
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: app.kernel_state == "idle")
        screen = app.console_screen
        assert not screen.hidden_mounted
        for widget in (VariablesPane, StdinPrompt, SearchBar):
            assert not screen.query(widget)
        await pilot.press("f3")
        await until(pilot, lambda: screen.kernel_watch.shown)
        await pilot.press("escape", "ctrl+f")
        await until(pilot, lambda: screen.query_one(SearchBar).has_focus_within)


async def test_an_input_request_before_the_prompt_is_mounted_is_asked(
    never_after_first_frame: None,
) -> None:
    transport = ScriptedTransport()
    transport.hold = True
    client, kernel = scripted_client(transport)
    app = create_app(client)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.kernel_state == "idle")
        assert not app.console_screen.hidden_mounted
        msg_id = app.run_cell("name = input('name? ')")
        await until(pilot, lambda: app.kernel_state == "busy")
        parent: dict[str, Any] = {
            "msg_id": msg_id,
            "session": client.session_id,
            "msg_type": "execute_request",
        }
        kernel._send("stdin", "input_request", {"prompt": "name? ", "password": False}, parent)
        await until(pilot, lambda: app.console_screen.hidden_mounted)
        prompt = app.query_one(StdinPrompt)
        await until(pilot, lambda: prompt.has_class("-active"))
        await pilot.press(*"bob", "enter")
        await until(pilot, lambda: kernel.sent_types("stdin") == ["input_reply"])
        kernel.finish()


async def test_the_footer_follows_a_key_rebound_after_startup() -> None:
    client, _ = scripted_client()
    app = create_app(client)
    async with app.run_test(size=(160, 30)) as pilot:
        await until(pilot, lambda: app.kernel_state == "idle")
        footer = app.console_screen.query_one(SteadyFooter)
        await until(pilot, lambda: "^q" in _keys(footer))
        app.set_keymap({"quit": "ctrl+x"})
        await until(pilot, lambda: "^x" in _keys(footer))
        assert "^q" not in _keys(footer)


def _keys(footer: SteadyFooter) -> list[str]:
    return [key.key_display for key in footer.query(FooterKey)]
