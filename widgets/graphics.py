"""How pictures reach the terminal: kitty graphics, sixel or half blocks, and where to.

The mode is chosen once, at launch (`--images`, config key `images`). `auto` reads the
environment first; when that does not say kitty or a known sixel terminal, it asks the
terminal once for its primary device attributes (DA1, answered by every terminal and by
tmux), before Textual starts, so that the answer cannot race Textual's input thread:
attribute 4 in the answer means sixel. Kitty graphics use Unicode placeholders (the
picture is sent once, then drawn as ordinary cells, which scroll and clip like text);
inside tmux the sequences go through its passthrough (`set -g allow-passthrough on`, tmux
3.3 or later). Sixel pictures are drawn over each frame (`nbtui.widgets.sixel`); inside
tmux only when tmux itself draws sixel (3.4 or later, built with it: its DA1 answer says
so), never through its passthrough, which would leave them behind when tmux redraws.
Nothing here imports Pillow or Textual.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass

__all__ = [
    "MODES",
    "GraphicsState",
    "configure",
    "detect",
    "graphics",
    "no_cell_size",
    "passthrough",
    "probe",
    "probe_cell",
    "set_sink",
]

MODES = ("auto", "kitty", "sixel", "halfblock", "off")
"""The values of `--images`."""

_KITTY_PROGRAMS = {"ghostty"}
"""TERM_PROGRAM values of terminals that draw kitty graphics' Unicode placeholders."""

_SIXEL_PROGRAMS = {"wezterm", "iterm.app", "mlterm"}
"""TERM_PROGRAM values of terminals that draw sixel (outside tmux). Others that do (xterm
built with it, Konsole, Windows Terminal 1.22) are known by their DA1 answer: their
variables do not tell a version that draws sixel from one that does not."""

_SIXEL_TERMS = ("foot", "mlterm")
"""TERM prefixes of terminals that draw sixel."""


@dataclass
class GraphicsState:
    """The resolved way pictures are drawn, for this process."""

    mode: str = "halfblock"
    """kitty, sixel, halfblock or off (never auto: `configure` resolves it)."""
    why: str = ""
    """What decided the mode (`nbtui --print-config` says it)."""
    cell: tuple[int, int] = (10, 20)
    """A terminal cell's size in pixels (sixel pictures are scaled to it)."""
    tmux: bool = False
    """Inside tmux: kitty sequences are wrapped in its passthrough."""
    sink: Callable[[str], None] | None = None
    """Writes a sequence to the terminal in order with the frames (the app's driver)."""


graphics = GraphicsState()
"""This process's state. Half blocks until `configure` is called: tests and snapshots do
not depend on the terminal they run in."""


def detect(environ: Mapping[str, str], attributes: str | None = None) -> str:
    """The best mode the terminal supports: kitty, sixel or halfblock.

    Args:
        environ: The environment (TERM, TERM_PROGRAM and the terminals' own variables).
        attributes: The terminal's DA1 answer (`ESC [ ? 62 ; 4 ; 22 c`), if it was asked.
    """
    return _detect(environ, attributes)[0]


def _detect(environ: Mapping[str, str], attributes: str | None) -> tuple[str, str]:
    term = environ.get("TERM", "").lower()
    program = environ.get("TERM_PROGRAM", "").lower()
    if term == "xterm-kitty" or "KITTY_WINDOW_ID" in environ or program in _KITTY_PROGRAMS:
        return "kitty", "kitty graphics: the environment names kitty or ghostty"
    if "GHOSTTY_RESOURCES_DIR" in environ:
        return "kitty", "kitty graphics: the environment names ghostty"
    if attributes is not None and _says_sixel(attributes):
        return "sixel", "sixel: the terminal's device attributes include 4"
    if "TMUX" in environ:
        # Inside tmux the outer terminal's variables say nothing about tmux itself.
        return "halfblock", "half blocks: tmux does not say it draws sixel (3.4 built with it)"
    if program in _SIXEL_PROGRAMS or term.startswith(_SIXEL_TERMS):
        return "sixel", f"sixel: TERM or TERM_PROGRAM names {program or term}"
    if attributes is None:
        return "halfblock", "half blocks: the terminal is not known to draw pictures"
    return "halfblock", "half blocks: the terminal's device attributes do not include sixel"


def configure(
    mode: str, environ: Mapping[str, str] | None = None, attributes: str | None = None
) -> str:
    """Set this process's mode from `--images` (auto: from the environment and the
    terminal's DA1 answer, see `probe`).

    Returns:
        The mode resolved.
    """
    environ = os.environ if environ is None else environ
    graphics.tmux = "TMUX" in environ
    if mode == "auto":
        graphics.mode, graphics.why = _detect(environ, attributes)
    else:
        graphics.mode, graphics.why = mode, f"{mode}: --images {mode}"
    return graphics.mode


def probe(environ: Mapping[str, str] | None = None) -> str | None:
    """Ask the terminal for its device attributes (DA1) before Textual starts (afterwards
    its input thread would take the answer); None without a terminal, when the
    environment already decides, or when no answer comes within 0.1 s.

    Every terminal answers DA1, tmux too (for itself), so this costs one round trip.
    """
    environ = os.environ if environ is None else environ
    if _detect(environ, None)[0] != "halfblock":
        return None
    if not (sys.__stdin__ and sys.__stdout__ and sys.__stdin__.isatty()):
        return None
    if not sys.__stdout__.isatty() or sys.platform == "win32":
        return None
    try:
        from textual_image._terminal import (  # noqa: PLC0415
            TerminalError,
            capture_terminal_response,
        )
    except ImportError:
        return None
    try:
        with capture_terminal_response("\x1b[?", "c", timeout=0.1) as response:
            sys.__stdout__.write("\x1b[c")
            sys.__stdout__.flush()
    except (TerminalError, TimeoutError, OSError, UnicodeDecodeError):
        return None
    answer: str = response.sequence
    return answer


def _says_sixel(attributes: str) -> bool:
    return "4" in attributes.strip("\x1b[?c").split(";")


def probe_cell() -> bool:
    """Set the cell size in pixels, for scaling sixel pictures: from the window size the
    kernel knows, else from the terminal (`CSI 16 t`, within 0.1 s), through textual-image.

    Returns:
        False when neither says: a picture scaled to a guessed size would spill over its
        cells, so the caller draws half blocks instead.
    """
    if not (sys.__stdout__ and sys.__stdin__ and sys.__stdout__.isatty()):
        return False
    try:
        from textual_image import _terminal  # noqa: PLC0415
        from textual_image._terminal import (  # noqa: PLC0415
            TerminalError,
            capture_terminal_response,
        )
    except ImportError:
        return False
    # The platform's window-size call, which textual-image imports without re-exporting it.
    get_tiocgwinsz: Callable[[], tuple[int, int, int, int]]
    get_tiocgwinsz = _terminal.get_tiocgwinsz  # type: ignore[attr-defined]
    try:
        rows, columns, width, height = get_tiocgwinsz()
        if rows and columns and width and height:
            graphics.cell = (max(1, width // columns), max(1, height // rows))
            return True
        with capture_terminal_response("\x1b[", "t", timeout=0.1) as response:
            sys.__stdout__.write("\x1b[16t")
            sys.__stdout__.flush()
        _, cell_height, cell_width = (int(part) for part in response.sequence[2:-1].split(";"))
    except (TerminalError, TimeoutError, OSError, ValueError, UnicodeDecodeError):
        return False
    if cell_width <= 0 or cell_height <= 0:
        return False
    graphics.cell = (cell_width, cell_height)
    return True


def no_cell_size() -> None:
    """Sixel without a known cell size: half blocks, saying why."""
    graphics.mode = "halfblock"
    graphics.why = "half blocks: the terminal draws sixel but did not give its cell size"


def set_sink(sink: Callable[[str], None] | None) -> None:
    """Where kitty transmissions are written (None: nowhere, e.g. once the app ends)."""
    graphics.sink = sink


def passthrough(sequence: str) -> str:
    """`sequence` as tmux must receive it to hand it to the terminal, when inside tmux."""
    if not graphics.tmux:
        return sequence
    return "\x1bPtmux;" + sequence.replace("\x1b", "\x1b\x1b") + "\x1b\\"
