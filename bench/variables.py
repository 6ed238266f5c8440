"""Does the variables probe slow a running cell? The loop's wall time with the probe
reading every second versus not, against a fresh ipykernel.

    python bench/variables.py                 # 100 x 0.05 s sleeps and a CPU loop, 5 runs each
    python bench/variables.py --iterations 200 --runs 3 --interval 1

The cell times itself inside the kernel (time.perf_counter around the loop), so the
figure is the kernel's, free of the client's and the transport's noise. Runs alternate
off/on so that drift of a shared machine falls on both. Two cells: the issue's
`for epoch in range(N): time.sleep(0.05)`, and a CPU-bound loop, where the probe's work on
the kernel's control thread competes for the GIL.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from jupyter_client import KernelManager

from nbtui.app.kernel.client import KernelClient
from nbtui.app.kernel.connection import load_connection_file
from nbtui.app.kernel.variables import VariablesPoller, VariablesSnapshot

CELLS = {
    "sleep": (
        "import time as _t\n_t0 = _t.perf_counter()\n"
        "for epoch in range({n}):\n    _t.sleep(0.05)\n"
        "print('WALL', _t.perf_counter() - _t0)\n"
    ),
    "cpu": (
        "import time as _t\n_t0 = _t.perf_counter()\n"
        "for epoch in range({n} * 10):\n    _s = sum(i * i for i in range(20000))\n"
        "print('WALL', _t.perf_counter() - _t0)\n"
    ),
}


async def run_cell(runner: KernelClient, code: str) -> float:
    """Run `code` and return the wall time the cell measured itself (its `WALL s` line), in
    seconds: timed inside the kernel, so the client's own delays do not count."""
    runner.drain()
    msg_id = runner.execute(code, store_history=False)
    reply = await runner.execute_reply(msg_id)
    if reply is None or reply.content.get("status") != "ok":
        raise RuntimeError(f"the cell failed: {reply and reply.content}")
    # stream output follows the reply by a moment: wait for the line, not for a time.
    for _ in range(500):
        for msg in runner.drain():
            text = msg.content.get("text", "") if msg.msg_type == "stream" else ""
            for line in text.splitlines():
                if line.startswith("WALL "):
                    return float(line.split()[1])
        await asyncio.sleep(0.01)
    raise RuntimeError("the cell's timing never arrived")


async def measure(args: argparse.Namespace) -> int:
    """Time each cell with the probe off and on, alternating, on one fresh kernel; print
    the medians and their ratio. Returns the exit status."""
    with tempfile.TemporaryDirectory() as tmp:
        km = KernelManager(kernel_name="python3")
        km.connection_file = str(Path(tmp) / "kernel-bench.json")
        km.start_kernel(stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            info = load_connection_file(Path(km.connection_file))
            runner = KernelClient(info, username="runner")
            watcher = KernelClient(info, username="watcher")
            await runner.attach(hb_timeout=30, reply_timeout=30)
            await watcher.attach(hb_timeout=30, reply_timeout=30)
            results: dict[str, dict[str, list[float]]] = {}
            readings: list[VariablesSnapshot] = []
            for name in args.cells:
                code = CELLS[name].format(n=args.iterations)
                await run_cell(runner, code)  # warm-up: imports, first-run costs
                times: dict[str, list[float]] = {"off": [], "on": []}
                for run in range(args.runs):
                    for mode in ("off", "on") if run % 2 == 0 else ("on", "off"):
                        poller = VariablesPoller(watcher, args.interval, readings.append)
                        if mode == "on":
                            poller.busy = True
                            poller.start()
                        try:
                            times[mode].append(await run_cell(runner, code))
                        finally:
                            await poller.stop()
                        print(
                            f"{name} {mode} run {run + 1}: {times[mode][-1]:.3f} s", file=sys.stderr
                        )
                results[name] = times
            await runner.close()
            await watcher.close()
        finally:
            km.shutdown_kernel(now=True)
    ok = [snap for snap in readings if snap.state == "ok"]
    print(
        f"probe: every {args.interval:g} s, {len(ok)} readings "
        f"(median {statistics.median(s.elapsed for s in ok) * 1000:.1f} ms)"
        if ok
        else "probe: no readings"
    )
    print(f"{'cell':<6} {'off (s)':>10} {'on (s)':>10} {'on/off':>8}   (median of {args.runs})")
    for name, times in results.items():
        off, on = statistics.median(times["off"]), statistics.median(times["on"])
        spread = max(times["off"]) - min(times["off"])
        print(
            f"{name:<6} {off:>10.3f} {on:>10.3f} {on / off:>8.3f}   "
            f"(off runs spread {spread:.3f} s)"
        )
    return 0


def main() -> int:
    """Parse the options and run the measurement."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--iterations",
        type=int,
        default=100,
        help="loop iterations (100; the CPU loop runs 10 times as many)",
    )
    parser.add_argument("--runs", type=int, default=5, help="runs per mode (5)")
    parser.add_argument("--interval", type=float, default=1.0, help="probe pace in s (1)")
    parser.add_argument("--cells", nargs="+", choices=sorted(CELLS), default=["sleep", "cpu"])
    return asyncio.run(measure(parser.parse_args()))


if __name__ == "__main__":
    raise SystemExit(main())
