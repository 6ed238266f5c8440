"""The panes follow the terminal's size as a user changes it (tmux resize-window)."""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Iterator

import pytest
from jupyter_client import KernelManager

from tests.e2e.terminal import DEADLINE, Terminal

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed"),
]

BESIDE = re.compile(r"^ .*▏ connection\s*$", re.MULTILINE)
"""The connection pane's title right of the transcript's edge: the panes stand beside it."""


@pytest.fixture
def wide_terminal() -> Iterator[Terminal]:
    with Terminal(200, 50) as term:
        yield term


def resized(terminal: Terminal, width: int, height: int, panes_beside: bool) -> str:
    """Resize the window; wait until nbtui has redrawn at that width with the panes
    beside the transcript or folded away; returns the screen."""
    terminal.tmux("resize-window", "-t", terminal.target, "-x", str(width), "-y", str(height))
    rule = re.compile(rf"^▔{{{width}}}$", re.MULTILINE)  # the editor's, the whole width
    deadline = time.monotonic() + DEADLINE
    screen = ""
    while time.monotonic() < deadline:
        screen = terminal.screen()
        if rule.search(screen) and bool(BESIDE.search(screen)) == panes_beside:
            return screen
        time.sleep(0.05)
    raise AssertionError(
        f"at {width}x{height}, panes beside: {panes_beside}; the screen:\n{screen}"
    )


@pytest.mark.timeout(240)
def test_resizing_lays_out_the_new_size(wide_terminal: Terminal, kernel: KernelManager) -> None:
    terminal = wide_terminal
    terminal.start_nbtui("--existing", kernel.connection_file)
    terminal.wait_for(r"\A.*nbtui.*idle")
    terminal.wait_for(BESIDE.pattern)

    screen = resized(terminal, 80, 24, panes_beside=False)
    assert "connection" not in screen
    resized(terminal, 200, 50, panes_beside=True)
    resized(terminal, 80, 24, panes_beside=False)

    terminal.keys("C-q")
    terminal.wait_for(r"^NBTUI-EXIT=0$")
