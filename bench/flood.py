"""Output-flood benchmark: how long a cell that prints N lines takes to show, per client.

For each N and each of R runs, against a fresh ipykernel each time:

* raw      -- a jupyter_client BlockingKernelClient executes the cell and drains iopub until
              the MARK-END stream text arrives (the floor: no rendering at all).
* nbtui    -- the installed ``nbtui --existing <file>`` in a private tmux server; the cell is
              typed and Enter pressed; the pane is polled every 10 ms until MARK-END shows.
* jupyter-console -- ``jupyter console --existing <file>`` in tmux, timed the same way.

Medians are printed as a markdown table. Run ``python bench/flood.py --help`` for options.
Only 127.0.0.1 is used: the kernels listen there, and nothing else is contacted.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil
from jupyter_client import KernelManager

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import client_command, settle  # the sibling module, found through the line above

MARK = "MARK-END"
POLL = 0.01
"""Seconds between two captures of the pane."""
RSS_EVERY = 0.05
"""Seconds between two RSS samples."""
READY_TIMEOUT = 60.0
"""Seconds a client may take to come up (kernel ready, 'idle', 'In [')."""

CLIENTS = ("raw", "nbtui", "jupyter-console", "tail")


def cell_line(n: int) -> str:
    """The cell, as one line of Python that the editors take without continuation prompts.

    The marker is split in the source ('MARK-' + 'END') so that the typed cell echoed on
    screen never matches: only the printed output can.
    """
    return f"exec(\"for i in range({n}): print(i)\\nprint('MARK-'+'END')\")"


@dataclass
class Result:
    """One client's measurement of one flood."""

    seconds: float | None
    """From Enter (raw: from execute()) until MARK-END arrived; None when it never did
    before the timeout."""
    peak_rss: int | None = None
    """Bytes, for the clients drawn in tmux."""
    lines: int | None = None
    """How many numbered lines the raw client received (a check for lost output)."""
    notes: list[str] = field(default_factory=list)
    """What went wrong or is worth knowing, one sentence each, for the table's notes."""


class Kernel:
    """A fresh ipykernel on 127.0.0.1, its output to /dev/null."""

    def __init__(self) -> None:
        self.km = KernelManager(kernel_name="python3")
        self.km.ip = "127.0.0.1"
        self.km.transport = "tcp"

    def __enter__(self) -> Kernel:
        self.km.start_kernel(stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        kc = self.km.client()
        kc.start_channels()
        try:
            kc.wait_for_ready(timeout=READY_TIMEOUT)
        finally:
            kc.stop_channels()
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self.km.shutdown_kernel(now=True)
        finally:
            self.km.cleanup_resources()

    @property
    def connection_file(self) -> str:
        """The kernel's connection file, as a path string for a client's command line."""
        return str(self.km.connection_file)


def run_raw(kernel: Kernel, n: int, timeout: float) -> Result:
    """Time a BlockingKernelClient that executes the N-line cell and drains iopub.

    Args:
        kernel: A started kernel (its iopub is settled first).
        n: Lines the cell prints before MARK-END.
        timeout: Seconds before the measurement counts as timed out.

    Returns:
        Seconds until the MARK-END line arrived, and how many numbered lines came first
        (fewer than `n` means output was lost).
    """
    kc = kernel.km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=READY_TIMEOUT)
        settle(kc)
        code = f"for i in range({n}): print(i)\nprint('MARK-END')"
        lines = 0
        tail = ""
        start = time.perf_counter()
        msg_id = kc.execute(code)
        deadline = start + timeout
        while True:
            left = deadline - time.perf_counter()
            if left <= 0:
                return Result(None, lines=lines, notes=["raw: timed out"])
            try:
                msg = kc.get_iopub_msg(timeout=left)
            except Exception:  # noqa: BLE001 -- queue.Empty at the deadline
                return Result(None, lines=lines, notes=["raw: timed out"])
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            if msg["msg_type"] != "stream":
                continue
            text = tail + msg["content"]["text"]
            *whole, tail = text.split("\n")
            for line in whole:
                if line == MARK:
                    elapsed = time.perf_counter() - start
                    return Result(elapsed, lines=lines)
                if line.isdigit():
                    lines += 1
    finally:
        kc.stop_channels()


class Tmux:
    """A private tmux server (own socket) with one session."""

    def __init__(self, width: int = 200, height: int = 50) -> None:
        self.socket = f"bench-{os.getpid()}"
        self.width = width
        self.height = height

    def run(self, *args: str) -> str:
        """Run one tmux command on this server; its standard output.

        Raises:
            RuntimeError: tmux exited with an error (its stderr is in the message).
        """
        result = subprocess.run(
            ["tmux", "-L", self.socket, *args],
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            timeout=10,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(f"tmux {args[0]} failed: {result.stderr.strip()}")
        return result.stdout

    def start(self, command: str) -> None:
        """Start the server with one detached session "bench" of this size running `command`."""
        self.run(
            "-u",
            "new-session",
            "-d",
            "-s",
            "bench",
            "-x",
            str(self.width),
            "-y",
            str(self.height),
            command,
        )

    def screen(self) -> str:
        """The visible text of the pane (capture-pane, no scrollback)."""
        return self.run("capture-pane", "-p", "-t", "bench")

    def pane_pid(self) -> int:
        """The pid of the pane's shell (the client runs under it)."""
        return int(self.run("display-message", "-p", "-t", "bench", "#{pane_pid}").strip())

    def kill(self) -> None:
        """Kill this tmux server and all it runs; no error when it is already gone."""
        subprocess.run(
            ["tmux", "-L", self.socket, "kill-server"],
            capture_output=True,
            stdin=subprocess.DEVNULL,
            timeout=10,
            check=False,
        )
        # A new server on the same socket right away can meet the old one still exiting.
        time.sleep(0.2)

    def wait_for(self, text: str, timeout: float) -> float | None:
        """Poll the pane every POLL seconds until `text` shows; the time it showed, else None."""
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            if text in self.screen():
                return time.perf_counter()
            time.sleep(POLL)
        return None


def find_process(root_pid: int, needle: str) -> psutil.Process | None:
    """The process under (or at) the pane whose command line contains `needle`, biggest first."""
    try:
        root = psutil.Process(root_pid)
        found = [root, *root.children(recursive=True)]
    except psutil.Error:
        return None
    matches = []
    for proc in found:
        try:
            cmdline = " ".join(proc.cmdline())
            if needle in cmdline and "tmux" not in cmdline:
                matches.append((proc.memory_info().rss, proc))
        except psutil.Error:
            continue
    if not matches:
        return None
    return max(matches, key=lambda pair: pair[0])[1]


class PeakRss(threading.Thread):
    """Samples one process's RSS every RSS_EVERY seconds until stopped."""

    def __init__(self, proc: psutil.Process) -> None:
        super().__init__(daemon=True)
        self.proc = proc
        self.peak = 0
        """Largest RSS seen so far, in bytes."""
        self.done = threading.Event()

    def sample(self) -> None:
        """Read the RSS once; a process that has gone ends the sampling."""
        try:
            self.peak = max(self.peak, self.proc.memory_info().rss)
        except psutil.Error:
            self.done.set()

    def run(self) -> None:
        """Sample until `stop()` (the thread's body)."""
        while not self.done.is_set():
            self.sample()
            self.done.wait(RSS_EVERY)

    def stop(self) -> int:
        """Take a last sample, end the thread, and return the peak RSS in bytes."""
        self.sample()
        self.done.set()
        self.join(timeout=5)
        return self.peak


def run_tmux(kernel: Kernel, client: str, n: int, timeout: float) -> Result:
    """Time a terminal client in a private tmux server: type the N-line cell, press Enter,
    poll the pane until MARK-END shows; the client's peak RSS is sampled meanwhile.

    Raises:
        RuntimeError: The client never showed its ready text, or tmux failed.
    """
    command, ready, needle = client_command(client, kernel.connection_file)
    tmux = Tmux()
    sampler: PeakRss | None = None
    try:
        # The pane keeps a shell after the client exits so a crash leaves its message on screen.
        tmux.start(f"{command}; echo CLIENT-EXIT=$?; sleep 600")
        if tmux.wait_for(ready, READY_TIMEOUT) is None:
            screen = tmux.screen().strip().splitlines()
            raise RuntimeError(f"{client} never showed {ready!r}; last lines: {screen[-5:]}")
        proc = find_process(tmux.pane_pid(), needle)
        notes: list[str] = []
        if proc is None:
            notes.append(f"{client}: process not found, no RSS")
        else:
            sampler = PeakRss(proc)
            sampler.start()
        tmux.run("send-keys", "-t", "bench", "-l", cell_line(n))
        # Let the typed text reach the editor before the timed keystroke.
        time.sleep(0.3)
        start = time.perf_counter()
        tmux.run("send-keys", "-t", "bench", "Enter")
        seen = tmux.wait_for(MARK, timeout)
        peak = sampler.stop() if sampler is not None else None
        sampler = None
        if seen is None:
            notes.append(f"{client}: MARK-END not on screen after {timeout:.0f} s")
            if "CLIENT-EXIT=" in tmux.screen():
                notes.append(f"{client}: the client exited")
            return Result(None, peak_rss=peak, notes=notes)
        return Result(seen - start, peak_rss=peak, notes=notes)
    finally:
        if sampler is not None:
            sampler.stop()
        tmux.kill()


def measure(client: str, n: int, timeout: float) -> Result:
    """One measurement of `client` (one of CLIENTS) against a fresh kernel."""
    with Kernel() as kernel:
        if client == "raw":
            return run_raw(kernel, n, timeout)
        return run_tmux(kernel, client, n, timeout)


def fmt_median(values: list[float | None]) -> tuple[str, float | None]:
    """The median of the runs that finished, as table text ("1.234 (1 timed out)") and
    as a number; ("timeout", None) when none did."""
    done = [v for v in values if v is not None]
    if not done:
        return "timeout", None
    med = statistics.median(done)
    text = f"{med:.3f}"
    if len(done) < len(values):
        text += f" ({len(values) - len(done)} timed out)"
    return text, med


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its markdown table; the exit status (0)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument(
        "--lines",
        type=int,
        nargs="+",
        default=[100_000, 500_000],
        help="values of N (lines printed by the cell)",
    )
    parser.add_argument("--runs", type=int, default=3, help="runs per N and client (median)")
    parser.add_argument("--smoke", action="store_true", help="quick check: N=10000, one run")
    parser.add_argument(
        "--timeout",
        type=float,
        default=300.0,
        help="seconds one measurement may take before it counts as timed out",
    )
    parser.add_argument("--clients", nargs="+", choices=CLIENTS, default=list(CLIENTS))
    args = parser.parse_args(argv)
    if args.smoke:
        args.lines, args.runs = [10_000], 1
    if shutil.which("tmux") is None and set(args.clients) - {"raw"}:
        parser.error("tmux is not installed")

    with tempfile.TemporaryDirectory(prefix="nbtui-bench-") as tmp:
        os.environ["JUPYTER_RUNTIME_DIR"] = str(Path(tmp, "runtime"))
        os.environ["IPYTHONDIR"] = str(Path(tmp, "ipython"))
        rows = []
        notes: list[str] = []
        for n in args.lines:
            results: dict[str, list[Result]] = {c: [] for c in args.clients}
            for run in range(args.runs):
                for client in args.clients:
                    try:
                        result = measure(client, n, args.timeout)
                    except Exception as exc:  # noqa: BLE001 -- report, keep benchmarking
                        result = Result(None, notes=[f"{client}: {exc}"])
                    results[client].append(result)
                    shown = "timeout" if result.seconds is None else f"{result.seconds:.3f} s"
                    print(
                        f"# N={n} run {run + 1}/{args.runs} {client}: {shown}",
                        file=sys.stderr,
                        flush=True,
                    )
                    notes.extend(f"N={n} run {run + 1}: {note}" for note in result.notes)
                    if result.lines is not None and result.lines != n:
                        notes.append(f"N={n} run {run + 1}: raw received {result.lines}/{n} lines")
            raw_med = fmt_median([r.seconds for r in results.get("raw", [])])[1]
            for client in args.clients:
                text, med = fmt_median([r.seconds for r in results[client]])
                ratio = f"{med / raw_med:.2f}x" if med is not None and raw_med else "-"
                peaks = [r.peak_rss for r in results[client] if r.peak_rss is not None]
                rss = f"{max(peaks) / 2**20:.0f}" if peaks else "-"
                rows.append((f"{n:,}", client, text, ratio, rss))

    print(f"runs per cell: {args.runs}; RSS is the peak over those runs\n")
    print("| N | client | median seconds | ratio to raw | peak RSS MiB |")
    print("|---:|---|---:|---:|---:|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    if notes:
        print("\nNotes:")
        for note in notes:
            print(f"- {note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
