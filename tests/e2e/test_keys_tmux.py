"""Keys as a terminal delivers them in a burst (a fast typist, a paste, keys over SSH), to
the installed nbtui in tmux: the kernel must run exactly what was typed, in order."""

from __future__ import annotations

import json
import shutil
import threading
import time
from collections.abc import Iterator

import pytest
import zmq
from jupyter_client import BlockingKernelClient, KernelManager

from tests.e2e.terminal import DEADLINE, Terminal

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed"),
]

TRIES = 15

FLOOD = """\
import threading, time
_flood_stop = threading.Event()
def _flood():
    i = 0
    while not _flood_stop.is_set():
        print('flood', i, flush=True)
        i += 1
        time.sleep(0.0005)
threading.Thread(target=_flood, daemon=True).start()
"""
"""Output from a thread of the kernel: it floods iopub while the kernel's shell stays free
to run the typed cells at once."""


class Watcher:
    """Records every cell the kernel ran (iopub's execute_input), whoever sent it: what
    the kernel received, not what a screen shows. A thread reads a raw iopub socket, and
    decodes only the header of each message, so that it keeps up with the flood (a
    subscriber that falls behind loses messages)."""

    def __init__(self, kernel: KernelManager) -> None:
        self.socket = zmq.Context.instance().socket(zmq.SUB)
        # No receive limit: libzmq's default of 1000 drops messages if this thread is
        # slow to be scheduled on a loaded machine, and a dropped execute_input would read
        # as a cell not run.
        self.socket.setsockopt(zmq.RCVHWM, 0)
        self.socket.setsockopt(zmq.SUBSCRIBE, b"")
        self.socket.connect(f"{kernel.transport}://{kernel.ip}:{kernel.iopub_port}")
        self.ran: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()
        self.peer: BlockingKernelClient = kernel.blocking_client()
        self.peer.start_channels()
        self.peer.wait_for_ready(timeout=DEADLINE)
        # The SUB socket is subscribed by now: the peer's kernel_info went out after it.

    def _read(self) -> None:
        poller = zmq.Poller()
        poller.register(self.socket, zmq.POLLIN)
        while not self._stop.is_set():
            if not poller.poll(50):
                continue
            frames = self.socket.recv_multipart()
            parts = frames[frames.index(b"<IDS|MSG>") + 1 :]
            if json.loads(parts[1])["msg_type"] == "execute_input":
                self.ran.append(json.loads(parts[4])["code"])

    def wait_for_count(self, count: int) -> None:
        deadline = time.monotonic() + DEADLINE
        while len(self.ran) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"the kernel ran {self.ran!r}, expected {count} cells")
            time.sleep(0.02)

    def run(self, code: str) -> None:
        """Run `code` from the peer (the flood's start and stop), and forget it."""
        count = len(self.ran) + 1  # before sending: the reader thread may be quick
        self.peer.execute(code)
        self.wait_for_count(count)
        assert self.ran[-1] == code
        self.ran.pop()

    def close(self) -> None:
        self.peer.stop_channels()
        self._stop.set()
        self._thread.join(timeout=5)
        self.socket.close(linger=0)


@pytest.fixture
def terminal() -> Iterator[Terminal]:
    with Terminal(100, 30) as term:
        yield term


@pytest.mark.timeout(300)
@pytest.mark.parametrize("flood", [False, True], ids=["idle", "flood"])
def test_a_burst_with_backspaces_runs_what_was_typed(
    terminal: Terminal, kernel: KernelManager, flood: bool
) -> None:
    terminal.start_nbtui("--existing", kernel.connection_file)
    terminal.wait_for(r"\A.*nbtui.*idle")
    terminal.wait_for(r"In \[1\]:\s*$", where="editor")

    watcher = Watcher(kernel)
    try:
        if flood:
            watcher.run(FLOOD)
            terminal.wait_for(r"^\s*flood \d+")
        for attempt in range(TRIES):
            # One tmux command list: the keys reach the terminal back to back, as the
            # tester's separate send-keys did, only tighter.
            target = ("-t", terminal.target)
            terminal.tmux(
                "send-keys", *target, "-l", "zxabcdef", ";",
                "send-keys", *target, *["BSpace"] * 8, ";",
                "send-keys", *target, "-l", "'ok'", ";",
                "send-keys", *target, "Enter",
            )  # fmt: skip
            watcher.wait_for_count(attempt + 1)
        # Nothing is left in the editor, and nothing more reached the kernel.
        terminal.wait_for(r"In \[\d+\]:\s*$", where="editor")
        assert watcher.ran == ["'ok'"] * TRIES
        if flood:
            watcher.run("_flood_stop.set()")
    finally:
        watcher.close()
