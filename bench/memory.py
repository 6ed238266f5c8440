"""A terminal client's memory around a flood: RSS once ready (idle, attached), the peak
during an N-line flood, and the RSS once the flood is on screen and the client settled.

    python bench/memory.py [--lines N] [--runs R] [--clients nbtui jupyter-console]

flood.py's method (a fresh kernel per run, the client in a private tmux server at 200x50,
the cell typed and Enter pressed, MARK-END awaited on the pane) with its RSS sampler; the
ready figure is the client's RSS 2 s after its ready text shows, the settled one 2 s after
MARK-END. The table (MiB, the maximum over the runs) goes to stdout.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import client_command  # the sibling modules, found through the line above
from flood import MARK, READY_TIMEOUT, Kernel, PeakRss, Tmux, cell_line, find_process

SETTLE = 2.0
"""Seconds the client is left alone before the ready and the settled samples."""


def one_run(client: str, lines: int, timeout: float) -> tuple[float, float, float]:
    """(ready, peak, settled) RSS in MiB of `client` around one flood of `lines` lines."""
    with Kernel() as kernel:
        command, ready, needle = client_command(client, kernel.connection_file)
        tmux = Tmux()
        try:
            tmux.start(f"{command}; echo CLIENT-EXIT=$?; sleep 600")
            if tmux.wait_for(ready, READY_TIMEOUT) is None:
                raise RuntimeError(f"{client} never showed {ready!r}")
            proc = find_process(tmux.pane_pid(), needle)
            if proc is None:
                raise RuntimeError(f"{client}: process not found")
            time.sleep(SETTLE)
            idle = proc.memory_info().rss
            sampler = PeakRss(proc)
            sampler.start()
            tmux.run("send-keys", "-t", "bench", "-l", cell_line(lines))
            time.sleep(0.3)
            tmux.run("send-keys", "-t", "bench", "Enter")
            seen = tmux.wait_for(MARK, timeout)
            time.sleep(SETTLE)
            peak = sampler.stop()
            if seen is None:
                raise RuntimeError(f"{client}: {MARK} not on screen after {timeout:.0f} s")
            settled = proc.memory_info().rss
        finally:
            tmux.kill()
    return idle / 2**20, peak / 2**20, settled / 2**20


def main(argv: list[str] | None = None) -> int:
    """Measure each client `--runs` times, alternating, and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--lines", type=int, default=1_000_000, help="lines the cell prints")
    parser.add_argument("--runs", type=int, default=1, help="runs per client (the maximum)")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds per flood")
    parser.add_argument(
        "--clients", nargs="+", default=["nbtui", "jupyter-console"], help="clients to measure"
    )
    args = parser.parse_args(argv)
    results: dict[str, list[tuple[float, float, float]]] = {c: [] for c in args.clients}
    for run in range(args.runs):
        for client in args.clients:
            results[client].append(one_run(client, args.lines, args.timeout))
            idle, peak, settled = results[client][-1]
            print(
                f"# {client} run {run + 1}: ready {idle:.1f}, peak {peak:.1f}, "
                f"settled {settled:.1f} MiB",
                file=sys.stderr,
            )
    print(f"| client ({args.lines:,} lines) | RSS ready (MiB) | peak RSS | RSS settled |")
    print("|---|---:|---:|---:|")
    for client, runs in results.items():
        idle, peak, settled = (max(values) for values in zip(*runs, strict=True))
        print(f"| {client} | {idle:.0f} | {peak:.0f} | {settled:.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
