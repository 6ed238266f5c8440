"""The peer palette for every built-in theme, and which colour a client gets."""

from __future__ import annotations

import itertools
import math

import pytest
from textual.color import Color
from textual.theme import BUILTIN_THEMES

from nbtui.app.kernel.model import PEER_COLOURS, Transcript, peer_colour
from nbtui.widgets.palette import (
    MIN_CONTRAST,
    READABLE,
    _contrast,
    peer_variables,
    readable_variables,
)

TRUE_COLOUR_THEMES = [name for name in BUILTIN_THEMES if not name.startswith("ansi")]


def oklab(colour: Color) -> tuple[float, float, float]:
    """sRGB to OKLab (Björn Ottosson), where distance is how different colours look."""

    def linear(channel: int) -> float:
        value = channel / 255
        return value / 12.92 if value <= 0.04045 else ((value + 0.055) / 1.055) ** 2.4

    r, g, b = (linear(channel) for channel in colour.rgb)
    l_, m_, s_ = (
        value ** (1 / 3)  # never negative: r, g and b are
        for value in (
            0.4122214708 * r + 0.5363325363 * g + 0.0514459929 * b,
            0.2119034982 * r + 0.6806995451 * g + 0.1073969566 * b,
            0.0883024619 * r + 0.2817188376 * g + 0.6299787005 * b,
        )
    )
    return (
        0.2104542553 * l_ + 0.7936177850 * m_ - 0.0040720468 * s_,
        1.9779984951 * l_ - 2.4285922050 * m_ + 0.4505937099 * s_,
        0.0259040371 * l_ + 0.7827717662 * m_ - 0.8086757660 * s_,
    )


@pytest.mark.parametrize("name", TRUE_COLOUR_THEMES)
def test_every_peer_colour_reads_on_the_background_and_the_panes(name: str) -> None:
    theme = BUILTIN_THEMES[name]
    generated = theme.to_color_system().generate()
    background = Color.parse(generated["background"])
    surface = background + Color.parse(generated["surface"])
    colours = [Color.parse(value) for value in peer_variables(theme).values()]
    assert len(colours) == PEER_COLOURS
    for colour in colours:
        assert _contrast(colour, background) >= MIN_CONTRAST, (name, colour.hex)
        assert _contrast(colour, surface) >= MIN_CONTRAST, (name, colour.hex)
    # Told apart at a glance, not just different codes: 0.1 in OKLab is several times
    # the least difference an eye sees (about 0.02).
    for one, other in itertools.combinations(colours, 2):
        assert math.dist(oklab(one), oklab(other)) > 0.1, (name, one.hex, other.hex)


@pytest.mark.parametrize("name", ["ansi-dark", "ansi-light"])
def test_ansi_themes_use_the_terminals_own_colours(name: str) -> None:
    values = list(peer_variables(BUILTIN_THEMES[name]).values())
    assert len(set(values)) == PEER_COLOURS
    assert all(value.startswith("ansi_") for value in values)


def test_a_clients_colour_comes_from_its_name_and_session() -> None:
    clients = [("analyst", "0d86a1c2"), ("trainer", "7e1c33b0"), ("intern", "5b2fe9d4")]
    seen = []
    for order in itertools.permutations(clients):
        model = Transcript("mine")
        for username, session in order:
            model.peer(session, username)
        seen.append({peer.session: peer.colour for peer in model.peers.values()})
    if len({peer_colour(u, s) for u, s in clients}) == len(clients):
        assert all(colours == seen[0] for colours in seen)


def test_a_colour_taken_here_goes_to_the_next_free_one() -> None:
    first = peer_colour("analyst", "0d86a1c2")
    assert peer_colour("analyst", "0d86a1c2", {first}) == (first + 1) % PEER_COLOURS
    everything = set(range(PEER_COLOURS))
    assert peer_colour("analyst", "0d86a1c2", everything) == first  # more clients than colours
    model = Transcript("mine")
    for index in range(PEER_COLOURS):
        model.peer(f"session-{index}", "same")
    assert {peer.colour for peer in model.peers.values()} == everything


def test_state_colours_read_on_every_builtin_theme() -> None:
    """`$nbtui-success` ... keep the theme's colour where it reads, and darken or lighten
    it where it does not (textual-light's success green on its grey is about 2:1)."""
    for name, theme in BUILTIN_THEMES.items():
        variables = readable_variables(theme)
        assert set(variables) == {*READABLE, "nbtui-muted"}, name
        generated = theme.to_color_system().generate()
        background = Color.parse(generated["background"])
        if background.ansi is not None:
            continue  # the terminal's own colours: nothing to compute with
        for variable, value in variables.items():
            shown = Color.parse(value)
            assert _contrast(shown, background) >= MIN_CONTRAST, (name, variable, value)
    dark = readable_variables(BUILTIN_THEMES["textual-dark"])
    assert dark["nbtui-success"] == "#4EBF71"  # the theme's own: it reads already
