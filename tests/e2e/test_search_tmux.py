"""Search and copy in the installed nbtui, in tmux, on a real kernel: a token printed
5,000 lines back is found with ctrl+f and shown; `y` on a selected cell writes one OSC 52
sequence to the terminal, holding that cell's code (read from the pane's own output bytes,
which `tmux pipe-pane` copies to a file)."""

from __future__ import annotations

import base64
import re
import shlex
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from jupyter_client import KernelManager

from tests.e2e.terminal import DEADLINE, Terminal

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed"),
]

CODE = "print('FIND'+'ME-42'); print('\\n'.join(f'filler {i}' for i in range(5000)))"
"""The token is split in the code: only the printed line spells it."""


@pytest.fixture
def terminal() -> Iterator[Terminal]:
    with Terminal(100, 30) as term:
        yield term


def osc52(captured: Path) -> list[bytes]:
    """The payloads of every OSC 52 clipboard write in the pane's output so far."""
    return re.findall(rb"\x1b\]52;c;([A-Za-z0-9+/=]*)\x07", captured.read_bytes())


@pytest.mark.timeout(240)
def test_a_token_5000_lines_back_is_found_and_a_cells_code_copied(
    terminal: Terminal, kernel: KernelManager, tmp_path: Path
) -> None:
    terminal.start_nbtui("--existing", kernel.connection_file)
    captured = tmp_path / "pane.bytes"
    terminal.tmux("pipe-pane", "-O", "-t", terminal.target, f"cat >> {shlex.quote(str(captured))}")
    terminal.wait_for(r"\A.*nbtui.*idle")
    terminal.wait_for(r"In \[1\]:", where="editor")

    terminal.type(CODE)
    terminal.keys("Enter")
    terminal.wait_for(r"^\s*filler 4999\s*$")
    terminal.wait_for(r"In \[2\]:\s*$", where="editor")
    assert not re.search(r"^\s*FINDME-42\s*$", terminal.screen(), re.MULTILINE)

    # ctrl+f from the editor, the token typed: its line, 5,000 lines up, is on screen.
    terminal.keys("C-f")
    terminal.wait_for(r"find:")
    terminal.type("findme-42")
    terminal.wait_for(r"^\s*FINDME-42\s*$")
    terminal.wait_for(r"find:.*1 of 1")
    # Alt+C from the terminal (ESC c) toggles case, and types no "c": the lowercase query
    # no longer matches, then matches again.
    terminal.keys("M-c")
    terminal.wait_for(r"find: findme-42 +no matches")
    terminal.keys("M-c")
    terminal.wait_for(r"find: findme-42 +1 of 1")
    # Escape: back to the end.
    terminal.keys("Escape")
    terminal.wait_for(r"^\s*filler 4999\s*$")

    # F6 to the transcript, k selects the cell, y copies its code: one OSC 52 write.
    assert osc52(captured) == []
    terminal.keys("F6")
    terminal.wait_for(r"k Prev cell")  # the transcript's keys in the footer: it has focus
    terminal.keys("k")
    terminal.wait_for(r"In \[1\] you")
    terminal.keys("y")
    terminal.wait_for(r"copied In \[1\]'s code")
    deadline = time.monotonic() + DEADLINE
    while not osc52(captured) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [base64.b64decode(payload).decode() for payload in osc52(captured)] == [CODE]

    # Alt+S from the editor opens the Markdown export, and types no "s" there.
    terminal.keys("F6")
    terminal.wait_for(r"In \[2\]:\s*$", where="editor")
    terminal.keys("M-s")
    terminal.wait_for(r"nbtui-\d{8}-\d{6}\.md")
    terminal.keys("Escape")
    terminal.wait_for(r"In \[2\]:\s*$", where="editor")

    terminal.keys("C-q")
    terminal.wait_for(r"^NBTUI-EXIT=0$")
    assert kernel.is_alive()
