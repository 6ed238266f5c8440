"""Startup to ready against a running kernel: nbtui beside `jupyter console`, alternating in
one run, as `bench/run.py` measures it (`start_client`: a fresh private tmux at 200x50, the
client launched with `--existing`, seconds until its ready text shows: 'idle' / 'In [').

    python bench/startup.py --runs 9
    python bench/startup.py --runs 9 --before /path/to/other/venv/bin/nbtui

`--before` adds a second nbtui (another checkout's, e.g. main's) to each round, so a change
is measured against the commit before it in the same run. Each round runs every client once
in turn, after one warm-up round that is not counted (the page cache, bytecode caches).
Prints the medians, the ratio to jupyter console (of the medians, and the median of each
round's ratio), the CPU seconds the client had used when ready (read once its ready text
was seen), and the load average before and after.
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import client_command, cpu_seconds
from flood import READY_TIMEOUT, Kernel, Tmux, find_process


def command_for(client: str, conn: str, before: str | None) -> tuple[str, str, str]:
    """`client_command` for "nbtui", "nbtui-before" (the `--before` executable) or
    "jupyter-console"."""
    if client != "nbtui-before":
        return client_command(client, conn)
    command, ready, needle = client_command("nbtui", conn)
    installed = shutil.which("nbtui")
    assert installed is not None and before is not None
    return command.replace(shlex.quote(installed), shlex.quote(before)), ready, needle


def launch(client: str, kernel: Kernel, before: str | None) -> tuple[float, float]:
    """Seconds until `client` showed its ready text in a fresh tmux, and its CPU seconds then."""
    command, ready, needle = command_for(client, kernel.connection_file, before)
    tmux = Tmux()
    try:
        start = time.perf_counter()
        tmux.start(f"{command}; echo CLIENT-EXIT=$?; sleep 600")
        seen = tmux.wait_for(ready, READY_TIMEOUT)
        if seen is None:
            raise RuntimeError(f"{client} never showed {ready!r}:\n{tmux.screen()}")
        proc = find_process(tmux.pane_pid(), needle)
        cpu = cpu_seconds(proc) if proc is not None else float("nan")
        return seen - start, cpu
    finally:
        tmux.kill()


def median_ratio(values: list[float], bases: list[float]) -> float:
    """The median of the round-by-round ratios `values[i] / bases[i]`."""
    return statistics.median(value / base for value, base in zip(values, bases, strict=True))


def main(argv: list[str] | None = None) -> int:
    """Run the rounds and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7, help="counted rounds (default 7)")
    parser.add_argument("--before", help="another nbtui executable, measured as 'nbtui-before'")
    parser.add_argument("--no-console", action="store_true", help="leave out jupyter console")
    args = parser.parse_args(argv)
    clients = ["nbtui"]
    if args.before:
        clients.insert(0, "nbtui-before")
    if not args.no_console:
        clients.append("jupyter-console")
    times: dict[str, list[float]] = {client: [] for client in clients}
    cpus: dict[str, list[float]] = {client: [] for client in clients}
    load_before = os.getloadavg()
    with Kernel() as kernel:
        for round_ in range(args.runs + 1):
            for client in clients:
                seconds, cpu = launch(client, kernel, args.before)
                if round_:
                    times[client].append(seconds)
                    cpus[client].append(cpu)
            if round_:
                line = "  ".join(f"{c} {times[c][-1]:.2f}" for c in clients)
                print(f"round {round_}: {line}", file=sys.stderr, flush=True)
    load_after = os.getloadavg()
    base = statistics.median(times["jupyter-console"]) if "jupyter-console" in times else None
    print(
        "| client | startup to ready (s) | vs jupyter console | paired ratio "
        "| CPU s at ready | paired CPU ratio |"
    )
    print("|---|---:|---:|---:|---:|---:|")
    for client in clients:
        median = statistics.median(times[client])
        ratio = f"{median / base:.2f}x" if base else "-"
        cpu = statistics.median(cpus[client])
        paired = paired_cpu = "-"
        if base:
            # Round by round: a loaded machine's drift moves both clients of a round.
            paired = f"{median_ratio(times[client], times['jupyter-console']):.2f}x"
            paired_cpu = f"{median_ratio(cpus[client], cpus['jupyter-console']):.2f}x"
        print(f"| {client} | {median:.2f} | {ratio} | {paired} | {cpu:.2f} | {paired_cpu} |")
    print(
        f"\n{args.runs} rounds; load average {load_before[0]:.1f} before, {load_after[0]:.1f} after"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
