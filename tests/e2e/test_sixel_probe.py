"""`--images auto` asks the terminal for its device attributes once, before Textual starts,
and draws sixel when the answer says so (issue 19): checked on a real pseudo-terminal
where the test plays the terminal, with `nbtui --print-config` (no kernel needed)."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import shutil
import struct
import subprocess
import sys
import termios
import time

import pytest

from tests.conftest import nbtui_script


def _on_a_pty(
    command: list[str],
    environ: dict[str, str],
    answer: bytes | None,
    query_sent: bytes = b"\x1b[c",
    pixels: tuple[int, int] = (0, 0),
) -> tuple[bytes, str]:
    """Run `command` on a 100x30 pty (`pixels` wide and high); answer its query with
    `answer` (None: stay silent, as a terminal that does not know it would). Returns what
    the terminal got up to the query and the output after it."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, *pixels))
    env = {key: value for key, value in os.environ.items() if key not in ("TMUX", "TERM_PROGRAM")}
    env.update(environ)
    process = subprocess.Popen(command, stdin=slave, stdout=slave, stderr=slave, env=env)
    os.close(slave)
    got = b""
    query = b""
    deadline = time.monotonic() + 30
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.1)
            if ready:
                try:
                    chunk = os.read(master, 65536)
                except OSError:  # the child closed the pty: it has ended
                    break
                if not chunk:
                    break
                got += chunk
                if not query and query_sent in got:
                    query, got = got, b""
                    if answer is not None:
                        os.write(master, answer)
            elif process.poll() is not None:
                break
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        os.close(master)
    return query, got.decode(errors="replace")


PRINT_CONFIG = [nbtui_script(), "--print-config"]
CELL = [
    sys.executable,
    "-c",
    "from nbtui.widgets import graphics as g; print(g.probe_cell(), g.graphics.cell)",
]


@pytest.mark.parametrize(
    ("answer", "mode"),
    [(b"\x1b[?62;4;22c", "sixel"), (b"\x1b[?62;22c", "halfblock"), (None, "halfblock")],
    ids=["sixel", "no sixel", "no answer"],
)
def test_auto_draws_sixel_where_the_terminal_says_so(answer: bytes | None, mode: str) -> None:
    query, output = _on_a_pty(PRINT_CONFIG, {"TERM": "xterm-256color"}, answer)
    # One DA1 query, and nothing else asked of the terminal.
    assert query.endswith(b"\x1b[c") and query.count(b"\x1b") == 1
    assert f"# images: {mode} (" in output


def test_a_known_terminal_is_not_asked() -> None:
    query, output = _on_a_pty(PRINT_CONFIG, {"TERM": "foot"}, None)
    assert query == b""
    assert "# images: sixel (sixel: TERM or TERM_PROGRAM names foot)" in output


@pytest.mark.parametrize(
    ("pixels", "answer", "cell"),
    [
        ((1000, 600), None, "True (10, 20)"),
        ((0, 0), b"\x1b[6;18;9t", "True (9, 18)"),
        ((0, 0), None, "False"),
    ],
    ids=["window size", "asked", "unknown"],
)
def test_sixel_pictures_are_scaled_to_the_cell_size_or_not_drawn(
    pixels: tuple[int, int], answer: bytes | None, cell: str
) -> None:
    _, output = _on_a_pty(CELL, {}, answer, b"\x1b[16t", pixels)
    assert output.strip().startswith(cell)


def test_inside_tmux_without_sixel_pictures_are_half_blocks() -> None:
    """tmux answers DA1 for itself: without sixel built in (`?1;2c`) half blocks, whatever
    the outer terminal's variables say."""
    if shutil.which("tmux") is None:
        pytest.skip("tmux is not installed")
    socket = f"nbtui-sixel-{os.getpid()}"
    version = subprocess.run(["tmux", "-V"], check=True, capture_output=True, text=True).stdout
    if not re.match(r"tmux (1\.|2\.|3\.[0-3][a-z]?$)", version.strip()):
        pytest.skip(f"{version.strip()} may be built with sixel")
    command = f"TERM_PROGRAM=WezTerm {nbtui_script()} --print-config; sleep 60"
    subprocess.run(
        ["tmux", "-L", socket, "new-session", "-d", "-x", "150", "-y", "40", command], check=True
    )
    try:
        deadline = time.monotonic() + 30
        screen = ""
        while "# images:" not in screen and time.monotonic() < deadline:
            time.sleep(0.1)
            screen = subprocess.run(
                ["tmux", "-L", socket, "capture-pane", "-p", "-J"],
                check=False,
                capture_output=True,
                text=True,
            ).stdout
    finally:
        subprocess.run(["tmux", "-L", socket, "kill-server"], check=False)
    assert "# images: halfblock (half blocks: tmux does not say it draws sixel" in screen
