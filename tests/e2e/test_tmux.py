"""The installed nbtui in a real terminal (tmux), attached to a real kernel, as a user meets it.

tmux runs on a socket of its own, so the host's tmux sessions are never touched, and the
pane keeps a shell after nbtui exits so its exit status can be read off the screen.
Every wait is for something on screen, with a deadline.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from jupyter_client import KernelManager

from tests.conftest import nbtui_script

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed"),
]

DEADLINE = 30.0
"""Seconds any one thing may take to show on screen."""

PASSED_ENV = (
    "JUPYTER_RUNTIME_DIR",
    "IPYTHONDIR",
    "JUPYTER_PLATFORM_DIRS",
    "PYDEVD_DISABLE_FILE_VALIDATION",
    "PATH",
    "HOME",
)


class Terminal:
    """One tmux pane on a private tmux server."""

    def __init__(self, width: int, height: int) -> None:
        self.socket = f"nbtui-e2e-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.width = width
        self.height = height
        self.target = "nbtui"
        self.socket_path: Path | None = None

    def tmux(self, *args: str) -> str:
        result = subprocess.run(
            ["tmux", "-L", self.socket, *args],
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            timeout=10,
            check=False,
        )
        assert result.returncode == 0, f"tmux {args} failed: {result.stderr}"
        return result.stdout

    def start(self, command: str) -> None:
        # Textual takes COLUMNS and LINES over the terminal's real size, and the test
        # process has them (80x24) from its plugins: the pane must not inherit them.
        command = f"unset COLUMNS LINES; {command}"
        self.tmux(
            "-u",
            "new-session",
            "-d",
            "-s",
            self.target,
            "-x",
            str(self.width),
            "-y",
            str(self.height),
            command,
        )
        shown = "#{pane_width}x#{pane_height} #{socket_path}"
        size, path = (
            self.tmux("display-message", "-p", "-t", self.target, shown).strip().split(" ", 1)
        )
        self.socket_path = Path(path)
        assert size == f"{self.width}x{self.height}"

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", self.target)

    def keys(self, *keys: str, literal: bool = False) -> None:
        self.tmux("send-keys", "-t", self.target, *(["-l"] if literal else []), *keys)

    def type(self, text: str) -> None:
        self.keys(text, literal=True)

    def wait_for(self, pattern: str, where: str = "screen") -> re.Match[str]:
        """Wait until `pattern` (a regex, multiline) shows, on the screen or in the editor."""
        regex = re.compile(pattern, re.MULTILINE)
        deadline = time.monotonic() + DEADLINE
        text = ""
        while time.monotonic() < deadline:
            text = self.screen() if where == "screen" else self.editor_line()
            match = regex.search(text)
            if match:
                return match
            time.sleep(0.05)
        raise AssertionError(
            f"{pattern!r} not in the {where} within {DEADLINE} s; the screen:\n{self.screen()}"
        )

    def editor_line(self) -> str:
        """The editor's first line: the one that starts with the `In [n]:` prompt."""
        lines = [line for line in self.screen().splitlines() if re.match(r"\s*In \[\d+\]:", line)]
        return lines[-1] if lines else ""

    def kill(self) -> None:
        """Stop the server and everything in it; tmux leaves its socket file behind."""
        subprocess.run(
            ["tmux", "-L", self.socket, "kill-server"],
            capture_output=True,
            stdin=subprocess.DEVNULL,
            timeout=10,
            check=False,
        )
        if self.socket_path is not None:
            self.socket_path.unlink(missing_ok=True)


@pytest.fixture
def terminal(request: pytest.FixtureRequest) -> Iterator[Terminal]:
    width, height = request.param
    term = Terminal(width, height)
    try:
        yield term
    finally:
        term.kill()


@pytest.mark.timeout(240)
@pytest.mark.parametrize("terminal", [(80, 24), (200, 50)], indirect=True, ids=["80x24", "200x50"])
def test_attach_run_history_complete_quit(terminal: Terminal, kernel: KernelManager) -> None:
    env = " ".join(
        f"{name}={shlex.quote(os.environ[name])}" for name in PASSED_ENV if name in os.environ
    )
    nbtui = f"{shlex.quote(nbtui_script())} --existing {shlex.quote(kernel.connection_file)}"
    # Textual draws on stderr: it must stay on the terminal. The pane lives on after
    # nbtui so that the exit status can be read.
    terminal.start(f"env {env} {nbtui}; echo NBTUI-EXIT=$?; sleep 600")

    # The status line, at the top, says the kernel is idle once attached.
    terminal.wait_for(r"\A.*nbtui.*idle")
    terminal.wait_for(r"In \[1\]:", where="editor")

    terminal.type("print(6*7)")
    terminal.keys("Enter")
    terminal.wait_for(r"^\s*42(\s|$)")  # at 200 columns the panes follow on the line
    terminal.wait_for(r"In \[2\]:\s*$", where="editor")

    terminal.type("1/0")
    terminal.keys("Enter")
    terminal.wait_for(r"ZeroDivisionError")
    terminal.wait_for(r"In \[3\]:\s*$", where="editor")

    # Up on the (only) first line brings the previous input back; Down returns to the
    # empty draft.
    terminal.keys("Up")
    terminal.wait_for(r"In \[3\]:\s*1/0\s*$", where="editor")
    terminal.keys("Down")
    terminal.wait_for(r"In \[3\]:\s*$", where="editor")

    # Tab asks the kernel: `imp` has one completion, inserted in place.
    terminal.type("imp")
    terminal.wait_for(r"In \[3\]:\s*imp\s*$", where="editor")
    terminal.keys("Tab")
    terminal.wait_for(r"In \[3\]:\s*import\b", where="editor")

    terminal.keys("C-q")
    terminal.wait_for(r"^NBTUI-EXIT=0$")

    # Quitting left the kernel running, and it answers another client; the cell run
    # from nbtui ran in it.
    assert kernel.is_alive()
    client = kernel.blocking_client()
    client.start_channels()
    try:
        client.wait_for_ready(timeout=DEADLINE)
        reply = client.execute_interactive(
            "x = 1", user_expressions={"first": "In[1]"}, timeout=DEADLINE
        )
    finally:
        client.stop_channels()
    assert reply["content"]["status"] == "ok"
    first = reply["content"]["user_expressions"]["first"]
    assert first["status"] == "ok"
    assert first["data"]["text/plain"] == repr("print(6*7)")
