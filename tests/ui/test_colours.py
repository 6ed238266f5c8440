"""Peer colours as the screen shows them: distinct, readable, and the same in every nbtui."""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path

from jupyter_client import KernelManager
from textual.color import Color
from textual.pilot import Pilot
from textual.widget import Widget

from nbtui.app.kernel.client import KernelClient
from nbtui.app.kernel.connection import load_connection_file
from nbtui.app.nbtui_app import NbtuiApp, create_app
from nbtui.widgets.peers_pane import PeersPane
from tests.fakes import scripted_client
from tests.ui.conftest import peer, until, until_shown

# Sessions whose names and sessions hash to different colours: only a collision with a
# client seen earlier would make the order of arrival matter.
PEERS = {
    "analyst": "0d86a1c2-0000-4000-8000-000000000001",
    "trainer": "7e1c33b0-0000-4000-8000-000000000002",
    "intern": "5b2fe9d4-0000-4000-8000-000000000007",
}


def colours_of(widget: Widget, text: str) -> set[str]:
    """The foreground colours of every run of `widget`'s lines that contains `text`."""
    found = set()
    for y in range(widget.size.height):
        for segment in widget.render_line(y):
            style = segment.style
            if text in segment.text and style is not None and style.color is not None:
                found.add(Color.from_rich_color(style.color).hex6)
    return found


def luminance(colour: Color) -> float:
    def linear(channel: int) -> float:
        value = channel / 255
        return value / 12.92 if value <= 0.04045 else ((value + 0.055) / 1.055) ** 2.4

    return 0.2126 * linear(colour.r) + 0.7152 * linear(colour.g) + 0.0722 * linear(colour.b)


def contrast(one: str, other: str) -> float:
    high, low = sorted((luminance(Color.parse(one)), luminance(Color.parse(other))), reverse=True)
    return (high + 0.05) / (low + 0.05)


async def peers_ran(
    pilot: Pilot[None], app: NbtuiApp, kernel: KernelManager, names: list[str]
) -> None:
    with ExitStack() as stack:
        for name in names:
            other = stack.enter_context(peer(kernel, name, PEERS[name]))
            other.execute_interactive(f"print({name!r})", timeout=30, output_hook=lambda msg: None)
    await until(pilot, lambda: len(app.model.peers) >= len(names) and not app.model.busy)


def name_colours(app: NbtuiApp, name: str) -> set[str]:
    """A peer's colours in the transcript (`name@0d86`) and the peers pane."""
    return colours_of(app.transcript, f"{name}@") | colours_of(app.query_one(PeersPane), name)


def shown_colours(app: NbtuiApp, names: list[str]) -> dict[str, str] | None:
    """Each peer's one colour, once both panes show it with the theme's palette."""
    shown = {}
    for name in names:
        colours = name_colours(app, name)
        if len(colours) != 1:
            return None
        shown[name] = colours.pop()
    # After a change of theme: wait for the new theme's palette, `$peer-N`.
    variables = app.theme_variables
    wanted = {
        name: Color.parse(variables[key]).hex6
        for name, peer in ((p.username, p) for p in app.model.peers.values())
        if name in names and (key := f"peer-{peer.colour}") in variables
    }
    return shown if all(shown[name] == colour for name, colour in wanted.items()) else None


async def test_peer_colours_are_distinct_and_readable_in_dark_and_light(
    kernel: KernelManager, client: KernelClient
) -> None:
    app = create_app(client)
    async with app.run_test(size=(200, 50)) as pilot:
        await until(pilot, lambda: app.kernel_state == "idle")
        names = list(PEERS)
        await peers_ran(pilot, app, kernel, names)
        for theme in ("textual-dark", "textual-light", "solarized-light", "nord"):
            app.theme = theme
            await until(pilot, lambda t=theme: app.current_theme.name == t)
            await until(pilot, lambda: shown_colours(app, names) is not None)
            colours = shown_colours(app, names)
            assert colours is not None
            background = app.theme_variables["background"]
            surface = app.theme_variables["surface"]
            assert len(set(colours.values())) == len(names), (theme, colours)
            for name, colour in colours.items():
                # The transcript is on $background, the peers pane on $surface.
                assert contrast(colour, background) >= 4.5, (theme, name, colour, background)
                assert contrast(colour, surface) >= 4.5, (theme, name, colour, surface)


async def test_a_peer_has_one_colour_whoever_came_first(kernel: KernelManager) -> None:
    """Two nbtuis that saw the same clients in a different order show them alike."""
    seen = []
    for order in (["analyst", "trainer", "intern"], ["intern", "trainer", "analyst"]):
        client = KernelClient(load_connection_file(Path(kernel.connection_file)))
        app = create_app(client)
        async with app.run_test(size=(200, 50)) as pilot:
            await until(pilot, lambda a=app: a.kernel_state == "idle")
            await peers_ran(pilot, app, kernel, order)
            await until(pilot, lambda a=app, o=order: shown_colours(a, o) is not None)
            seen.append(shown_colours(app, order))
        await client.close()
    assert seen[0] == seen[1]


CODE = "def f(x):  # note\n    return 'label' if x else 42"
TOKENS = ("return", "label", "42", "# note", "else")


def token_colours(widget: Widget) -> dict[str, str]:
    """The colour of each of TOKENS where `widget` shows it alone in a run; "terminal"
    for one of the terminal's own 16 colours, whose contrast with the theme is unknown."""
    found = {}
    for y in range(widget.size.height):
        for segment in widget.render_line(y):
            style = segment.style
            if segment.text in TOKENS and style is not None and style.color is not None:
                colour = style.color
                terminal = colour.is_system_defined or colour.number is not None
                found[segment.text] = "terminal" if terminal else colour.get_truecolor().hex
    return found


async def test_code_colours_follow_the_theme_and_read_on_a_light_one() -> None:
    client, kernel = scripted_client()
    app = create_app(client)
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: app.kernel_state == "idle")
        request = {"msg_id": "peer-1", "session": "91c0a7e2", "username": "analyst"}
        request["msg_type"] = "execute_request"
        kernel.publish("execute_input", {"code": CODE, "execution_count": 7}, request)
        app.editor.load_text(CODE)
        await until_shown(pilot, app, "analyst@91c0", "# note")
        await until(pilot, lambda: len(token_colours(app.transcript)) == len(TOKENS))
        dark = token_colours(app.transcript)
        app.theme = "textual-light"
        await until(pilot, lambda: app.current_theme.name == "textual-light")
        # The switch at run time recolours what is shown already.
        await until(pilot, lambda: token_colours(app.transcript) != dark)
        background = app.theme_variables["background"]
        for widget in (app.transcript, app.editor):
            colours = token_colours(widget)
            assert set(colours) == set(TOKENS), (widget, colours)
            for token, colour in colours.items():
                assert colour != "terminal", (widget, token)
                assert contrast(colour, background) >= 4.5, (widget, token, colour, background)
            assert len(set(colours.values())) >= 3, colours  # keywords, strings, numbers apart
