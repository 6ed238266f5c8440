"""The installed nbtui in a real terminal: a tmux pane (`Terminal`) or a bare
pseudo-terminal whose every byte is kept (`Pty`). Shared by the e2e tests and by the
integration tests that end in a terminal (ssh).

tmux runs on a socket of its own, so the host's tmux sessions are never touched, and the
pane keeps a shell after nbtui exits so its exit status can be read off the screen.
Every wait is for something on screen (or on the pty), with a deadline.
"""

from __future__ import annotations

import fcntl
import os
import re
import select
import shlex
import struct
import subprocess
import termios
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from jupyter_client import BlockingKernelClient

from tests.conftest import nbtui_script

DEADLINE = 30.0
"""Seconds any one thing may take to show on screen (or to reach the pty)."""

PASSED_ENV = (
    "JUPYTER_RUNTIME_DIR",
    "IPYTHONDIR",
    "JUPYTER_PLATFORM_DIRS",
    "PYDEVD_DISABLE_FILE_VALIDATION",
    "PATH",
    "HOME",
)
"""The test's environment variables a tmux pane gets (tmux's own server has none of them)."""

SIDE = "▏"
"""The rule between the transcript and the side panes (shown from 140 columns)."""


def columns(screen: str) -> tuple[str, str]:
    """The transcript column and the side-pane column of a wide screen, line by line."""
    left: list[str] = []
    side: list[str] = []
    for line in screen.splitlines():
        before, _, after = line.partition(SIDE)
        left.append(before.rstrip())
        side.append(after.strip())
    return "\n".join(left), "\n".join(side)


class Terminal:
    """One tmux pane on a private tmux server; `with Terminal(w, h) as t:` kills it after."""

    def __init__(self, width: int, height: int) -> None:
        self.socket = f"nbtui-e2e-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.width = width
        self.height = height
        self.target = "nbtui"
        self.socket_path: Path | None = None

    def __enter__(self) -> Terminal:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.kill()

    def tmux(self, *args: str) -> str:
        """Run a tmux command on this terminal's server; its output."""
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
        """Open the pane running the shell `command`, at this terminal's size."""
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

    def start_nbtui(
        self, *args: str, env: Iterable[str] = (), passed: Iterable[str] = PASSED_ENV
    ) -> None:
        """Open the pane running the installed `nbtui ARGS`, with the `passed` variables of
        the test's environment and the `env` words (`NAME=value`, quoted) added. Textual
        draws on stderr, so it stays on the terminal; the pane lives on after nbtui, so that
        `NBTUI-EXIT=<status>` and its last words can be read."""
        words = [f"{name}={shlex.quote(os.environ[name])}" for name in passed if name in os.environ]
        command = shlex.join([nbtui_script(), *args])
        self.start(f"env {' '.join([*words, *env])} {command}; echo NBTUI-EXIT=$?; sleep 600")

    def screen(self) -> str:
        """What the pane shows now."""
        return self.tmux("capture-pane", "-p", "-t", self.target)

    def keys(self, *keys: str, literal: bool = False) -> None:
        """Send tmux key names (or, `literal`, the text as typed)."""
        self.tmux("send-keys", "-t", self.target, *(["-l"] if literal else []), *keys)

    def type(self, text: str) -> None:
        """Type `text` as it is."""
        self.keys(text, literal=True)

    def history(self) -> str:
        """Everything the pane ever showed outside the full-screen app, and what it shows now."""
        return self.tmux("capture-pane", "-p", "-S", "-", "-t", self.target)

    def wait_for(self, pattern: str, where: str = "screen") -> re.Match[str]:
        """Wait until `pattern` (a regex, multiline) shows `where`: on the screen, in the
        editor's line, or in the transcript or the side column of a wide screen. The
        match's `string` is the text it was found in."""
        regex = re.compile(pattern, re.MULTILINE)
        deadline = time.monotonic() + DEADLINE
        text = ""
        while time.monotonic() < deadline:
            if where == "screen":
                text = self.screen()
            elif where == "editor":
                text = self.editor_line()
            else:
                left, side = columns(self.screen())
                text = left if where == "transcript" else side
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


@dataclass
class Pty:
    """nbtui on the slave side of a pty; everything it writes is kept in `received`."""

    process: subprocess.Popen[bytes]
    master: int
    received: bytearray = field(default_factory=bytearray)

    def read_until(self, marker: bytes, start: int = 0, timeout: float = DEADLINE) -> int:
        """Read until `marker` is in what was received after `start`; return where it ends."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.received.find(marker, start)
            if found >= 0:
                return found + len(marker)
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not self._read(remaining):
                tail = bytes(self.received[-3000:])
                raise AssertionError(f"{marker!r} not received within {timeout} s; tail: {tail!r}")

    def _read(self, timeout: float) -> bool:
        """Read what is there (waiting up to `timeout`); False once the pty is closed."""
        ready, _, _ = select.select([self.master], [], [], min(timeout, 0.5))
        if ready:
            try:
                chunk = os.read(self.master, 65536)
            except OSError:  # EIO: the slave side is closed, nbtui is gone
                return False
            if not chunk:
                return False
            self.received += chunk
        return True

    def write(self, data: bytes) -> None:
        """Write `data` as the terminal would (keys typed)."""
        os.write(self.master, data)

    def wait_exit(self, timeout: float = DEADLINE) -> int:
        """Keep draining the pty (so nbtui never blocks on a write) until it exits."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            code = self.process.poll()
            if code is not None:
                return code
            self._read(0.1)
        raise AssertionError(f"nbtui did not exit within {timeout} s")

    def close(self, timeout: float = DEADLINE) -> None:
        """Kill nbtui if it still runs, and close the master side."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=timeout)
        os.close(self.master)


def start_on_pty(*args: str, columns: int = 100, rows: int = 30) -> Pty:
    """The installed `nbtui ARGS` on a new `columns`x`rows` pty (TERM=xterm-256color,
    truecolor), with the test's Jupyter, IPython and XDG environment."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
    env = {
        name: value
        for name, value in os.environ.items()
        if name.startswith(("JUPYTER", "IPYTHON", "PYDEVD", "XDG")) or name in ("PATH", "HOME")
    }
    env.update(
        TERM="xterm-256color",
        COLORTERM="truecolor",
        LANG="C.UTF-8",
        COLUMNS=str(columns),
        LINES=str(rows),
    )
    process = subprocess.Popen(
        [nbtui_script(), *args],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=env,
        start_new_session=True,
        close_fds=True,
    )
    os.close(slave)
    return Pty(process, master)


def run(peer: BlockingKernelClient, code: str) -> None:
    """Run a cell as the peer and wait for its reply (its output goes to every client)."""
    msg_id = peer.execute(code, store_history=False)
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        reply = peer.get_shell_msg(timeout=DEADLINE)
        if reply["parent_header"].get("msg_id") == msg_id:
            return
    raise AssertionError(f"no execute_reply for {code!r}")
