"""Watching a kernel others use, in a real terminal: the notification bytes a long peer
cell's end writes to the pty (and a short one's absence), and our cell queued behind a
peer's, then run.

What nbtui writes to its pty is logged by tmux itself (`pipe-pane -O`: the pane's output
before tmux interprets it), so the test reads the very bytes the terminal would get.
"""

from __future__ import annotations

import re
import shlex
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from jupyter_client import BlockingKernelClient, KernelManager

from tests.e2e.terminal import DEADLINE, Terminal
from tests.ui.conftest import peer

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed"),
]

OSC9 = re.compile(rb"\x1b\x1b\]9;([^\x07]*)\x07")
"""An OSC 9 notification inside tmux's passthrough (each ESC doubled)."""


@pytest.fixture
def term() -> Iterator[Terminal]:
    with Terminal(120, 30) as terminal:
        yield terminal


@pytest.fixture
def colleague(kernel: KernelManager) -> Iterator[BlockingKernelClient]:
    with peer(kernel, "alice") as other:
        yield other


def _start(term: Terminal, kernel: KernelManager, log: Path, *options: str) -> None:
    # WEZTERM_PANE: a terminal known to take OSC 9 (inside tmux: wrapped in passthrough).
    term.start_nbtui("--existing", kernel.connection_file, *options, env=["WEZTERM_PANE=1"])
    term.tmux("pipe-pane", "-O", "-t", term.target, f"cat >> {shlex.quote(str(log))}")
    term.wait_for(r"In \[1\]:")


def _wait_bytes(log: Path, needle: bytes) -> bytes:
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        data = log.read_bytes() if log.exists() else b""
        if needle in data:
            return data
        time.sleep(0.05)
    raise AssertionError(f"{needle!r} never reached the pty")


@pytest.mark.timeout(120)
def test_a_long_peer_cell_notifies_once_a_short_one_never(
    kernel: KernelManager, colleague: BlockingKernelClient, term: Terminal, tmp_path: Path
) -> None:
    log = tmp_path / "pty.log"
    _start(term, kernel, log, "--notify-after", "1")
    colleague.execute("import time; time.sleep(2); print('long' + '-done')")
    term.wait_for(r"long-done")
    data = _wait_bytes(log, b"]9;")
    notes = OSC9.findall(data)
    assert len(notes) == 1, notes
    assert re.fullmatch(rb"nbtui: In \[1\] \(alice\) finished in [23] s", notes[0]), notes
    colleague.execute("import time; time.sleep(0.2); print('short' + '-done')")
    term.wait_for(r"short-done")
    # The frame that drew the short cell's end is in the log, and still one notification.
    data = _wait_bytes(log, b"short-done")
    assert len(OSC9.findall(data)) == 1
    # And no bare bell either: every BEL left ends an OSC (Textual's own queries too).
    assert b"\x07" not in re.sub(rb"\x1b+\][^\x07\x1b]*\x07", b"", data)


@pytest.mark.timeout(120)
def test_our_cell_waits_behind_a_peer_then_runs(
    kernel: KernelManager, colleague: BlockingKernelClient, term: Terminal, tmp_path: Path
) -> None:
    _start(term, kernel, tmp_path / "pty.log")
    colleague.execute("import time; time.sleep(3)")
    term.wait_for(r"alice.*running")
    term.type("print('mine' + '-ran')")
    term.keys("Enter")
    term.wait_for(r"queued behind alice's In \[1\], running \d+ s")
    term.wait_for(r"1 queued")
    term.wait_for(r"^\s*mine-ran", where="screen")
    screen = term.screen()
    assert "queued" not in screen, screen
