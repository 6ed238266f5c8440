"""Heavy outputs that are not many lines: does the screen stall, and what stays in memory?

A flood of short lines is flood.py's. This runs the cells that are heavy per message
instead (huge lines, a long markdown document, a burst of plots) in nbtui's app, in this
process through Textual's headless driver, attached to a real ipykernel. For each it
reports the longest the app's event loop went without running (a keystroke or a frame
waits that long), nbtui's peak and final RSS, and the time until the cell is idle, beside
a raw jupyter_client's time to idle for the same cell in the same run.

    python bench/stalls.py [--smoke] [--runs N]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
from jupyter_client import KernelManager

from nbtui.app.kernel.client import KernelClient
from nbtui.app.kernel.connection import load_connection_file
from nbtui.app.nbtui_app import create_app
from nbtui.app.process import return_freed_memory

CASES = {
    "{n} lines of 1 MB, flushed: a message each": (
        "line = 'x' * 1_000_000\nfor _ in range({n}):\n    print(line, flush=True)",
        100,
        10,
    ),
    "{n} lines of 1 MB, unflushed: the kernel sends tens of MB a message": (
        "line = 'x' * 1_000_000\nfor _ in range({n}):\n    print(line)",
        100,
        10,
    ),
    "markdown, {n} list items": (
        "from IPython.display import Markdown, display\n"
        "display(Markdown('\\n'.join(f'- item {{i}} *em* **b**' for i in range({n}))))",
        20_000,
        2_000,
    ),
    "{n} plots, 1600x1200 PNG": (
        "import io\nfrom PIL import Image as P\nfrom IPython.display import Image, display\n"
        "buffer = io.BytesIO()\n"
        "P.effect_mandelbrot((1600, 1200), (-2, -1.5, 1, 1.5), 100).convert('RGB')"
        ".save(buffer, 'PNG')\n"
        "for _ in range({n}):\n    display(Image(data=buffer.getvalue()))",
        100,
        10,
    ),
}
"""Name, code and N (full, smoke) of each heavy cell."""


def queued() -> float:
    """Seconds this thread has waited for a core, runnable, since it started (Linux's
    schedstat; 0 elsewhere): a stall's wall time less its CPU and this is time spent
    waiting for something else, such as the GIL."""
    try:
        with open("/proc/thread-self/schedstat") as stats:
            return int(stats.read().split()[1]) / 1e9
    except (OSError, IndexError, ValueError):
        return 0.0


class Peak:
    """This process's RSS, sampled from a thread every 5 ms (the event loop may stall)."""

    def __init__(self) -> None:
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        process = psutil.Process()
        while not self._stop.is_set():
            self.peak = max(self.peak, process.memory_info().rss)
            time.sleep(0.005)

    def __enter__(self) -> Peak:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


async def nbtui_run(connection_file: str, code: str) -> dict[str, float]:
    """Run `code` in nbtui's app (headless, 200x50) attached to the kernel.

    Returns:
        "stall": the event loop's longest wait beyond a 5 ms sleep (ms); "stall_cpu": the
        most CPU time the loop's thread spent in one such wait (ms); "stall_queued": in
        the longest wait, how long the thread was runnable but had no core (ms);
        "took": Run to the cell finished (s); "peak" and "final": this process's RSS (MiB).
    """
    client = KernelClient(load_connection_file(Path(connection_file)), username="bench")
    await client.attach()
    app = create_app(client)
    app.freeze_gc = True  # as the nbtui command does: one app in this process
    try:
        async with app.run_test(size=(200, 50)) as pilot:
            await pilot.pause(0.3)
            # The one-off collection at attach (freeze_gc) is startup, not this cell's.
            deadline = time.monotonic() + 30
            while not gc.get_freeze_count() and time.monotonic() < deadline:
                await pilot.pause(0.05)
            app.editor.load_text(code)
            stall = stall_cpu = stall_queued = 0.0
            over = 0
            done = False

            async def watch() -> None:
                nonlocal stall, stall_cpu, stall_queued, over
                while not done:
                    before = time.monotonic()
                    before_cpu = time.thread_time()
                    before_queued = queued()
                    await asyncio.sleep(0.005)
                    gap = time.monotonic() - before - 0.005
                    over += gap > 0.05
                    if gap > stall:
                        stall = gap
                        stall_queued = queued() - before_queued
                    # The loop's own work in that gap: on a busy machine the wall time
                    # also counts the time other processes had the core.
                    stall_cpu = max(stall_cpu, time.thread_time() - before_cpu)

            watcher = asyncio.create_task(watch())
            with Peak() as peak:
                start = time.monotonic()
                await pilot.press("ctrl+r")
                # Not `busy`: the cell is queued, not running, until the kernel's busy.
                # Polled with plain sleeps: Pilot.pause redraws the whole screen each time
                # (`_on_timer_update`), which the app alone would not do, and which the
                # watcher would count as the app's stall.
                while not any(cell.finished for cell in app.model.cells.values()):
                    await asyncio.sleep(0.01)
                took = time.monotonic() - start
                await asyncio.sleep(0.5)  # the last frames draw
            done = True
            await watcher
            final = psutil.Process().memory_info().rss
    finally:
        await client.close()
    return {
        "stall": stall * 1000,
        "stall_cpu": stall_cpu * 1000,
        "stall_queued": stall_queued * 1000,
        "over_50ms": over,
        "took": took,
        "peak": peak.peak / 2**20,
        "final": final / 2**20,
    }


def raw_run(km: KernelManager, code: str) -> float:
    """Seconds from a BlockingKernelClient's execute() until the cell's idle status."""
    kc = km.blocking_client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=30)
        start = time.monotonic()
        msg_id = kc.execute(code)
        while True:
            msg = kc.get_iopub_msg(timeout=120)
            if (
                msg["parent_header"].get("msg_id") == msg_id
                and msg["msg_type"] == "status"
                and msg["content"]["execution_state"] == "idle"
            ):
                return time.monotonic() - start
    finally:
        kc.stop_channels()


def main(argv: list[str] | None = None) -> int:
    """Run every case against fresh kernels and print the markdown table; with --child,
    run one nbtui measurement and print it as JSON (the parent starts one process per run)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--smoke", action="store_true", help="CI check: small N, one run")
    parser.add_argument("--runs", type=int, default=None, help="runs per case (median)")
    parser.add_argument(
        "--child", nargs=2, metavar=("CONNECTION_FILE", "CODE"), help=argparse.SUPPRESS
    )
    args = parser.parse_args(argv)
    if args.child:
        return_freed_memory()  # as the nbtui command does first
        print(json.dumps(asyncio.run(nbtui_run(*args.child))))
        return 0
    runs = args.runs or (1 if args.smoke else 3)
    rows = []
    for name, (template, full, smoke) in CASES.items():
        n = smoke if args.smoke else full
        code = template.format(n=n)
        nbtui: list[dict[str, float]] = []
        raw: list[float] = []
        for run in range(runs):
            # A fresh kernel for each: memory the last case left in it must not count.
            km = KernelManager(kernel_name="python3")
            km.start_kernel()
            try:
                raw.append(raw_run(km, code))
                # Its own process, so that RSS is this run's alone.
                child = subprocess.run(
                    [sys.executable, __file__, "--child", km.connection_file, code],
                    capture_output=True,
                    text=True,
                    check=True,
                    timeout=600,
                )
                nbtui.append(json.loads(child.stdout.strip().splitlines()[-1]))
            finally:
                km.shutdown_kernel(now=True)
            print(
                f"# {name.format(n=n)} run {run + 1}: raw {raw[-1]:.2f} s, nbtui {nbtui[-1]}",
                file=sys.stderr,
            )
        took = statistics.median(r["took"] for r in nbtui)
        raw_took = statistics.median(raw)
        rows.append(
            (
                name.format(n=f"{n:,}"),
                statistics.median(r["stall"] for r in nbtui),
                statistics.median(r["stall_cpu"] for r in nbtui),
                statistics.median(r["stall_queued"] for r in nbtui),
                statistics.median(r["over_50ms"] for r in nbtui),
                f"{took:.2f} ({took / raw_took:.2f}x)",
                f"{raw_took:.2f}",
                max(r["peak"] for r in nbtui),
                statistics.median(r["final"] for r in nbtui),
            )
        )
    print(f"medians of {runs} run(s); nbtui in Textual's headless driver at 200x50\n")
    print(
        "| cell | longest stall of nbtui's event loop (ms) "
        "| most loop CPU in one stall (ms) | longest stall: waiting for a core (ms) "
        "| stalls over 50 ms | nbtui: cell to idle (s) "
        "| raw client: to idle (s) | nbtui peak RSS (MiB, max) | nbtui RSS after (MiB) |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, stall, stall_cpu, stall_queued, over, took, raw_took, peak, final in rows:
        print(
            f"| {name} | {stall:.0f} | {stall_cpu:.0f} | {stall_queued:.0f} | {over:g} "
            f"| {took} | {raw_took} | {peak:.0f} | {final:.0f} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
