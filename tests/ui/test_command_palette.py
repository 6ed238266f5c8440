"""The command palette (ctrl+p): nbtui's actions by name, with their keys, and they run."""

from __future__ import annotations

from textual.color import Color
from textual.command import CommandInput, CommandPalette
from textual.pilot import Pilot
from textual.theme import BUILTIN_THEMES
from textual.widgets import OptionList

from nbtui.app.commands import nbtui_commands
from nbtui.app.nbtui_app import NbtuiApp, create_app
from nbtui.widgets.palette import theme_variables
from nbtui.widgets.side_panes import SidePanes
from tests.fakes import scripted_client
from tests.ui.conftest import until


def _listed(app: NbtuiApp) -> list[str]:
    options = app.screen.query_one(OptionList)
    return [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]


async def _search(pilot: Pilot[None], app: NbtuiApp, query: str, expected: str) -> list[str]:
    """Put `query` in the open palette's input (as typing would, without a pilot round
    trip per key); the options once one starts with `expected`."""
    app.screen.query_one(CommandInput).value = query
    await until(pilot, lambda: any(line.startswith(expected) for line in _listed(app)))
    return _listed(app)


async def test_palette_finds_nbtui_actions_by_name_with_their_keys() -> None:
    client, _ = scripted_client()
    app = create_app(client)
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: app.kernel_state == "idle")
        await pilot.press("ctrl+p")
        await until(pilot, lambda: isinstance(app.screen, CommandPalette))
        for query, expected in [
            ("restart", "Restart  f9"),
            ("panes", "Panes  f2"),
            ("interrupt", "Interrupt  ^c"),
            ("earlier inputs", "Earlier  f5"),
            ("copy join", "Copy join  f8"),
            ("scroll to the end", "Scroll to the end"),
        ]:
            listed = await _search(pilot, app, query, expected)
            # The help line is the binding's tooltip.
            assert "\n" in next(line for line in listed if line.startswith(expected))
        # Textual's own commands stay: the theme picker among them.
        await _search(pilot, app, "theme", "Theme")


async def test_a_command_from_the_palette_runs() -> None:
    client, _ = scripted_client()
    app = create_app(client)
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: app.kernel_state == "idle")
        shown = app.screen.query_one(SidePanes).shown
        await pilot.press("ctrl+p")
        await until(pilot, lambda: isinstance(app.screen, CommandPalette))
        await pilot.press(*"panes")
        await until(pilot, lambda: _listed(app)[:1] == ["Panes  f2\nShow or hide the side panes"])
        await pilot.press("enter")
        await until(pilot, lambda: not isinstance(app.screen, CommandPalette))
        await until(pilot, lambda: app.console_screen.query_one(SidePanes).shown != shown)


async def test_every_app_binding_is_a_command_and_rebinding_shows() -> None:
    """An action another helper binds with an id is in the palette by itself; the key
    shown is the one in effect after the config file's `[keys]`."""
    client, _ = scripted_client()
    app = create_app(client, keymap={"toggle_panes": "f3"})
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: app.kernel_state == "idle")
        commands = {c.name: c for c in nbtui_commands(app, app.console_screen)}
        for binding in NbtuiApp.BINDINGS:
            assert any(c.action == binding.action for c in commands.values()), binding  # type: ignore[union-attr]
        assert commands["Panes"].keys == "f3"


async def test_switching_theme_recolours_nbtuis_own_colours() -> None:
    """A theme chosen in the palette (Textual's "Theme" command sets `App.theme`) makes
    the state and peer colours again for its background."""

    client, _ = scripted_client()
    app = create_app(client)
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: app.kernel_state == "idle")

        def idle_colour() -> str:
            style = app.status.get_component_rich_style("status--idle")
            assert style.color is not None
            return Color.from_rich_color(style.color).hex6

        assert idle_colour() == theme_variables(BUILTIN_THEMES["textual-dark"])["nbtui-success"]
        app.theme = "textual-light"
        light = theme_variables(BUILTIN_THEMES["textual-light"])
        await until(pilot, lambda: idle_colour() == light["nbtui-success"])
        assert app.get_css_variables()["peer-0"] == light["peer-0"]
