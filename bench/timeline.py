"""Where one flood's time goes: a timeline from Enter to MARK-END on the terminal.

    python bench/timeline.py                 # nbtui, N = 100000, 3 runs
    python bench/timeline.py --lines 10000 --client tail --runs 5

flood.py says how long; this says why. It runs the flood as flood.py does (a fresh kernel,
the client in tmux at 200x50, the cell typed and Enter pressed) and prints, in milliseconds
after Enter, on one clock:

* iopub     -- the kernel's messages, as a second subscriber sees them (signed with the
               key of the connection file): busy, the stream chunks and their sizes, idle;
* nbtui     -- inside the client (bench/_timed_nbtui.py): `execute` sent, each stream
               message received, each frame (apply the inbox) and each Textual screen
               update with how long it took, and full garbage collections;
* pty       -- the bytes the client wrote to its terminal (`tmux pipe-pane` into a FIFO),
               and when MARK-END was among them;

then the client's CPU time from Enter to MARK-END. The second subscriber adds a little load
of its own: use flood.py for the figures, this for the causes.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import tempfile
import threading
import time
from pathlib import Path

import zmq
from jupyter_client.session import Session

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import flood  # the sibling script, found through the line above
from _common import client_command, cpu_seconds


class IopubTimes(threading.Thread):
    """A second iopub subscriber: (time, description) of each message."""

    def __init__(self, connection_file: str) -> None:
        super().__init__(daemon=True)
        info = json.loads(Path(connection_file).read_text())
        self.session = Session(key=info["key"].encode(), signature_scheme=info["signature_scheme"])
        self.context = zmq.Context()
        self.socket = self.context.socket(zmq.SUB)
        self.socket.setsockopt(zmq.SUBSCRIBE, b"")
        self.socket.setsockopt(zmq.RCVHWM, 0)
        self.socket.connect(f"tcp://{info['ip']}:{info['iopub_port']}")
        self.events: list[tuple[float, str]] = []
        """(`time.perf_counter()` on arrival, what it was), in arrival order."""
        self.done = threading.Event()

    def run(self) -> None:
        """Receive and record messages until `stop()` (the thread's body)."""
        while not self.done.is_set():
            if not self.socket.poll(50):
                continue
            frames = self.socket.recv_multipart()
            now = time.perf_counter()
            _, parts = self.session.feed_identities(frames)
            msg = self.session.deserialize(parts)
            content, kind = msg["content"], msg["msg_type"]
            if kind == "status":
                parent = msg["parent_header"].get("msg_type", "")
                self.events.append((now, f"{content['execution_state']} ({parent})"))
            elif kind == "stream":
                mark = " MARK-END" if flood.MARK in content["text"] else ""
                self.events.append((now, f"stream {len(content['text']):,} B{mark}"))
            else:
                self.events.append((now, kind))

    def stop(self) -> None:
        """End the thread and close the socket and its context."""
        self.done.set()
        self.join(2)
        self.socket.close(linger=0)
        self.context.term()


class PtyTimes(threading.Thread):
    """Reads what `tmux pipe-pane` copies of the client's output into a FIFO."""

    def __init__(self, fifo: str) -> None:
        super().__init__(daemon=True)
        self.fifo = fifo
        self.writes: list[tuple[float, int]] = []
        """(`time.perf_counter()`, bytes) of each read from the FIFO."""
        self.mark: float | None = None
        """When MARK-END first passed through, if it did."""

    def run(self) -> None:
        """Read the FIFO until its writer closes it (the thread's body)."""
        tail = b""
        with open(self.fifo, "rb", buffering=0) as pipe:
            while data := pipe.read(65536):
                now = time.perf_counter()
                self.writes.append((now, len(data)))
                if self.mark is None and flood.MARK.encode() in tail[-16:] + data:
                    self.mark = now
                tail = data


def one_run(client: str, n: int, tmp: Path, timeout: float) -> None:
    """Run one flood of `n` lines in `client` and print its timeline.

    Raises:
        RuntimeError: The client never showed its ready text.
    """
    log = tmp / "nbtui-timeline.log"
    log.write_text("")
    with flood.Kernel() as kernel:
        command, ready, needle = client_command(client, kernel.connection_file)
        if client == "nbtui":
            wrapper = Path(__file__).with_name("_timed_nbtui.py")
            script = command.split(" --existing ")[0].rsplit(" ", 1)[-1]
            command = command.replace(
                script,
                f"NBTUI_TIMELINE={shlex.quote(str(log))} "
                f"{shlex.quote(sys.executable)} {shlex.quote(str(wrapper))}",
                1,
            )
        iopub = IopubTimes(kernel.connection_file)
        iopub.start()
        tmux = flood.Tmux()
        fifo = str(tmp / "pty.fifo")
        if os.path.exists(fifo):
            os.unlink(fifo)
        os.mkfifo(fifo)
        try:
            tmux.start(f"{command}; sleep 600")
            if tmux.wait_for(ready, flood.READY_TIMEOUT) is None:
                raise RuntimeError(f"{client} never showed {ready!r}")
            time.sleep(1.5)  # let the client settle: its first probes are not the flood's
            proc = flood.find_process(tmux.pane_pid(), needle)
            tmux.run("send-keys", "-t", "bench", "-l", flood.cell_line(n))
            time.sleep(0.5)
            pty = PtyTimes(fifo)
            pty.start()
            tmux.run("pipe-pane", "-t", "bench", "-o", f"cat > {shlex.quote(fifo)}")
            time.sleep(0.3)
            iopub.events.clear()
            cpu = cpu_seconds(proc) if proc is not None else None
            start = time.perf_counter()
            tmux.run("send-keys", "-t", "bench", "Enter")
            seen = tmux.wait_for(flood.MARK, timeout)
            used = cpu_seconds(proc) - cpu if proc is not None and cpu is not None else None
            time.sleep(0.3)
        finally:
            tmux.kill()
            iopub.stop()

    def ms(at: float) -> str:
        return f"{(at - start) * 1000:8.1f}"

    rows = [(at, "iopub", text) for at, text in iopub.events]
    for line in log.read_text().splitlines():
        event, begin, end, *detail = line.split()
        began, ended = float(begin), float(end)
        if began >= start:
            took = f" ({(ended - began) * 1000:.1f} ms)" if ended > began else ""
            rows.append((began, "nbtui", f"{event}{took} {' '.join(detail)}".rstrip()))
    rows += [(at, "pty", f"{size:,} B") for at, size in pty.writes if at >= start]
    shown = f"{(seen - start) * 1000:.1f} ms" if seen else "never"
    print(f"\n## {client}, N={n:,}: capture-pane saw MARK-END after {shown}")
    if pty.mark is not None:
        print(f"MARK-END reached the pty after {(pty.mark - start) * 1000:.1f} ms")
    if used is not None:
        print(f"client CPU from Enter to MARK-END: {used * 1000:.1f} ms")
    for at, source, text in sorted(rows):
        print(f"{ms(at)}  {source:<5}  {text}")


def main(argv: list[str] | None = None) -> int:
    """Print the timelines of --runs floods; the exit status (0)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--lines", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--client", choices=flood.CLIENTS[1:], default="nbtui")
    parser.add_argument("--timeout", type=float, default=60.0)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="nbtui-timeline-") as tmp:
        os.environ["JUPYTER_RUNTIME_DIR"] = str(Path(tmp, "runtime"))
        os.environ["IPYTHONDIR"] = str(Path(tmp, "ipython"))
        for _ in range(args.runs):
            one_run(args.client, args.lines, Path(tmp), args.timeout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
