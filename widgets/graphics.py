"""How pictures reach the terminal: kitty graphics or half blocks, and where to.

The mode is chosen once, at launch (`--images`, config key `images`): `auto` reads the
environment only (never a query to the terminal: an answer would race Textual's input
thread, and a terminal that does not answer costs a timeout at every start). Kitty graphics
use Unicode placeholders (the picture is sent once, then drawn as ordinary cells, which
scroll and clip like text); inside tmux the sequences go through its passthrough
(`set -g allow-passthrough on`, tmux 3.3 or later). Nothing here imports Pillow or Textual.

Sixel is not drawn: Textual drops control sequences from what a widget renders, so a
sixel image would have to be written over each frame at the place it scrolled to, cropped
to what shows; terminals that only speak sixel (foot, WezTerm, iTerm2) get half blocks.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass

__all__ = [
    "MODES",
    "GraphicsState",
    "configure",
    "detect",
    "graphics",
    "passthrough",
    "set_sink",
]

MODES = ("auto", "kitty", "halfblock", "off")
"""The values of `--images`."""

_KITTY_PROGRAMS = {"ghostty"}
"""TERM_PROGRAM values of terminals that draw kitty graphics' Unicode placeholders."""


@dataclass
class GraphicsState:
    """The resolved way pictures are drawn, for this process."""

    mode: str = "halfblock"
    """kitty, halfblock or off (never auto: `configure` resolves it)."""
    tmux: bool = False
    """Inside tmux: kitty sequences are wrapped in its passthrough."""
    sink: Callable[[str], None] | None = None
    """Writes a sequence to the terminal in order with the frames (the app's driver)."""


graphics = GraphicsState()
"""This process's state. Half blocks until `configure` is called: tests and snapshots do
not depend on the terminal they run in."""


def detect(environ: Mapping[str, str]) -> str:
    """The best mode the environment says the terminal supports: kitty or halfblock."""
    term = environ.get("TERM", "").lower()
    program = environ.get("TERM_PROGRAM", "").lower()
    if term == "xterm-kitty" or "KITTY_WINDOW_ID" in environ or program in _KITTY_PROGRAMS:
        return "kitty"
    if "GHOSTTY_RESOURCES_DIR" in environ:
        return "kitty"
    return "halfblock"


def configure(mode: str, environ: Mapping[str, str] | None = None) -> str:
    """Set this process's mode from `--images` (auto: from the environment).

    Returns:
        The mode resolved.
    """
    environ = os.environ if environ is None else environ
    graphics.tmux = "TMUX" in environ
    graphics.mode = detect(environ) if mode == "auto" else mode
    return graphics.mode


def set_sink(sink: Callable[[str], None] | None) -> None:
    """Where kitty transmissions are written (None: nowhere, e.g. once the app ends)."""
    graphics.sink = sink


def passthrough(sequence: str) -> str:
    """`sequence` as tmux must receive it to hand it to the terminal, when inside tmux."""
    if not graphics.tmux:
        return sequence
    return "\x1bPtmux;" + sequence.replace("\x1b", "\x1b\x1b") + "\x1b\\"
