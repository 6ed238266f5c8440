"""Keys as the terminal sends them, through Textual's own parser, reach the app as Textual's
key presses make them (Pilot's, which the UI tests use)."""

from __future__ import annotations

import time

from textual import events
from textual._xterm_parser import XTermParser

from nbtui.app.quiet_driver import as_pressed


def keys(text: str) -> list[tuple[str, str | None]]:
    parser = XTermParser()
    parsed = list(parser.feed(text))
    # A sequence that starts with ESC comes out once the parser's escape delay has passed
    # (the driver's `tick`), as it waits to see whether more of it follows.
    deadline = time.monotonic() + 5
    while parser._timeout_time is not None and time.monotonic() < deadline:
        time.sleep(0.01)
        parsed += parser.tick()
    return [
        (event.key, event.character)
        for event in map(as_pressed, parsed)
        if isinstance(event, events.Key)
    ]


def test_an_alt_chord_carries_no_text() -> None:
    # ESC s: what a terminal sends for Alt+S. Its character would be typed into the
    # focused editor instead of running the app's binding.
    assert keys("\x1bs") == [("alt+s", None)]
    assert keys("\x1bc") == [("alt+c", None)]


def test_other_keys_keep_their_characters() -> None:
    assert keys("s") == [("s", "s")]
    assert keys("é ") == [("é", "é"), ("space", " ")]
    assert keys("\x13") == [("ctrl+s", "\x13")]
