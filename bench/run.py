"""Every nbtui benchmark in one command: one markdown table, nbtui beside the raw client and
`jupyter console`, as medians of --runs runs with ratios to raw where that applies.

Sections (each against fresh ipykernels on 127.0.0.1, clients in a private tmux server):

* flood to screen  -- bench/flood.py's measurement: `for i in range(N): print(i)` then a
                      marker; seconds until the marker is on screen (raw: in hand). Its peak
                      RSS at the largest N is the memory figure. bench/tail_client.py
                      runs the same way: a client that only writes the last screenful of
                      each message, the least a client drawn in tmux can add to raw.
* small messages   -- 20,000 `print(i, flush=True)`: lines received against lines sent, for
                      nbtui's own kernel layer and model run headless (KernelClient +
                      Transcript, drained at 30 Hz as the app does), a raw jupyter_client
                      draining iopub as fast as it can, and a raw client that stops reading
                      for 5 s mid-flood (iopub drops for a slow subscriber).
* startup          -- launch to ready prompt against a running kernel ('idle' / 'In [').
* idle CPU         -- CPU seconds of the client process over 30 s idle, at 200x50 (nbtui's
                      side panes shown) and at 80x24 (hidden); and the bytes it writes to
                      its terminal over the 200x50 window (tmux pipe-pane).
* peer output      -- another client (a raw jupyter_client) runs a print: milliseconds until
                      its output is on the client's screen.
* terminal traffic -- bytes the client writes to its terminal (tmux pipe-pane) during a
                      500k-line flood, per second of that flood.
* keystrokes       -- keystroke-to-screen latency while `for i in range(3_000_000): print(i)`
                      runs: a unique token typed with send-keys, polled with capture-pane.

`python bench/run.py --smoke` is the CI check: small sizes, one run, no timing assertions.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shlex
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nbtui.app.kernel.client import KernelClient
from nbtui.app.kernel.connection import load_connection_file
from nbtui.app.kernel.model import StreamOutput, Transcript

sys.path.insert(0, str(Path(__file__).resolve().parent))

import flood  # the sibling script, found through the line above
from _common import client_command, cpu_seconds, settle
from flood import READY_TIMEOUT, Kernel, Tmux, find_process

TUI_CLIENTS = ("nbtui", "jupyter-console")


@dataclass
class Config:
    """The sizes of one benchmark run: FULL, or SMOKE for CI."""

    runs: int
    """Runs of each measurement; the table shows medians."""
    flood_lines: list[int]
    """Values of N for the flood to screen."""
    small: int
    """Flushed prints in the small-messages section."""
    pause: float
    """Seconds the slow raw client stops reading mid-flood."""
    idle: float
    """Seconds over which idle CPU is measured."""
    traffic_lines: int
    """Lines of the flood during which terminal bytes are counted."""
    busy_lines: int
    """Lines of the flood during which keystrokes are timed (long enough to outlast them)."""
    samples: int
    """Keystrokes, and peer outputs, timed per run."""
    timeout: float
    """Seconds one flood may take before it counts as failed."""


FULL = Config(
    runs=3,
    flood_lines=[100_000, 500_000, 1_000_000],
    small=20_000,
    pause=5.0,
    idle=30.0,
    traffic_lines=500_000,
    busy_lines=3_000_000,
    samples=10,
    timeout=300,
)
SMOKE = Config(
    runs=1,
    flood_lines=[10_000],
    small=2_000,
    pause=1.0,
    idle=5.0,
    traffic_lines=20_000,
    busy_lines=1_000_000,
    samples=3,
    timeout=60,
)


@dataclass
class Rows:
    """metric -> client -> values over the runs (None: failed / not applicable)."""

    data: dict[str, dict[str, list[Any]]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    failures: int = 0
    """Measurements that raised or timed out: the exit status says so (not slowness)."""

    def add(self, metric: str, client: str, value: Any) -> None:
        """Record one run's value (None: failed) of `metric` for `client`."""
        self.data.setdefault(metric, {}).setdefault(client, []).append(value)


def log(text: str) -> None:
    """Progress on stderr, as a `# ` comment line, so that stdout stays the table."""
    print(f"# {text}", file=sys.stderr, flush=True)


# -- many small messages ---------------------------------------------------------------------


def small_code(n: int) -> str:
    """The cell of the small-messages section: `n` prints, each flushed as its own message."""
    return f"for i in range({n}): print(i, flush=True)"


def count_digits(text: str) -> int:
    """How many whole numbered lines a stream text holds."""
    return sum(1 for line in text.split("\n") if line.isdigit())


def raw_small(kernel: Kernel, n: int, pause: float | None) -> tuple[int, bool]:
    """Lines received by a BlockingKernelClient (its sockets are read only in get_msg, so a
    sleep really stops reading); with `pause`, it sleeps that long after n/5 lines."""
    kc = kernel.km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=READY_TIMEOUT)
        settle(kc)
        msg_id = kc.execute(small_code(n))
        lines, paused, idle = 0, pause is None, False
        while True:
            try:
                msg = kc.get_iopub_msg(timeout=10.0)
            except Exception:  # noqa: BLE001 -- 10 s of silence: the idle was lost
                break
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            if msg["msg_type"] == "stream":
                lines += count_digits(msg["content"]["text"])
                if not paused and lines >= n // 5:
                    paused = True
                    time.sleep(pause or 0)
            elif msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                idle = True
                break
        return lines, idle
    finally:
        kc.stop_channels()


def nbtui_small(kernel: Kernel, n: int) -> tuple[int, bool]:
    """nbtui's kernel layer and model, headless, drained at 30 Hz like the app's frames."""

    async def go() -> tuple[int, bool]:
        client = KernelClient(load_connection_file(Path(kernel.connection_file)))
        try:
            await client.attach()
            model = Transcript(client.session_id)
            await asyncio.sleep(0.3)
            model.apply_all(client.drain())
            code = small_code(n)
            msg_id = client.execute(code)
            cell = model.add_own_cell(msg_id, code, client.username)
            last = time.monotonic()
            while cell.finished is None and time.monotonic() - last < 10.0:
                await asyncio.sleep(1 / 30)
                messages = client.drain()
                if messages:
                    last = time.monotonic()
                model.apply_all(messages)
            received = sum(
                out.received
                for out in cell.outputs
                if isinstance(out, StreamOutput) and out.name == "stdout"
            )
            return received, cell.finished is not None
        finally:
            await client.close()

    return asyncio.run(go())


def bench_small(cfg: Config, rows: Rows) -> None:
    """The small-messages section: lines received by nbtui's headless kernel layer, a raw
    client, and a raw client that pauses; a failure is noted and counted, not raised."""
    for run in range(cfg.runs):
        for client in ("nbtui", "raw", "slow raw"):
            try:
                with Kernel() as kernel:
                    if client == "nbtui":
                        got, idle = nbtui_small(kernel, cfg.small)
                    else:
                        got, idle = raw_small(
                            kernel, cfg.small, cfg.pause if client == "slow raw" else None
                        )
            except Exception as exc:  # noqa: BLE001 -- report, keep benchmarking
                rows.notes.append(f"small messages, {client}: {exc}")
                rows.failures += 1
                got, idle = None, False
            rows.add("small", client, got)
            if not idle:
                rows.notes.append(
                    f"small messages run {run + 1}, {client}: never saw the cell's final idle"
                )
            log(f"small messages run {run + 1} {client}: {got}/{cfg.small}")


# -- a client in tmux: startup, idle, traffic, keystrokes -------------------------------------


def wait_quiet(tmux: Tmux, seconds: float = 0.5, timeout: float = 10.0) -> None:
    """Until the screen has not changed for `seconds`."""
    deadline = time.perf_counter() + timeout
    last, since = tmux.screen(), time.perf_counter()
    while time.perf_counter() < deadline:
        time.sleep(0.05)
        now = tmux.screen()
        if now != last:
            last, since = now, time.perf_counter()
        elif time.perf_counter() - since >= seconds:
            return


def start_client(client: str, kernel: Kernel, tmux: Tmux) -> tuple[float, Any]:
    """Launch `client` in `tmux`: seconds until its ready text showed, and its process."""
    command, ready, needle = client_command(client, kernel.connection_file)
    start = time.perf_counter()
    tmux.start(f"{command}; echo CLIENT-EXIT=$?; sleep 600")
    seen = tmux.wait_for(ready, READY_TIMEOUT)
    if seen is None:
        raise RuntimeError(f"{client} never showed {ready!r}")
    proc = find_process(tmux.pane_pid(), needle)
    if proc is None:
        raise RuntimeError(f"{client}: process not found")
    return seen - start, proc


def idle_cpu(tmux: Tmux, proc: Any, seconds: float) -> float:
    """CPU seconds `proc` spends over `seconds` (see `cpu_seconds`), once its screen is quiet."""
    wait_quiet(tmux)
    before = cpu_seconds(proc)
    time.sleep(seconds)
    return cpu_seconds(proc) - before


def peer_output(kernel: Kernel, tmux: Tmux, samples: int) -> list[float]:
    """Seconds from another client's execute() until its printed token is on screen."""
    kc = kernel.km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=READY_TIMEOUT)
        settle(kc)
        wait_quiet(tmux)
        seconds: list[float] = []
        for k in range(samples):
            token = f"Pz{chr(97 + k)}Wx"
            # Split in the source, which the client shows too: only the output matches.
            start = time.perf_counter()
            kc.execute(f"print({token[:3]!r} + {token[3:]!r})")
            seen = tmux.wait_for(token, 10.0)
            if seen is None:
                raise RuntimeError(f"another client's output {token} never showed")
            seconds.append(seen - start)
            settle(kc, quiet=0.5)
        return seconds
    finally:
        kc.stop_channels()


def idle_narrow(client: str, cfg: Config, rows: Rows) -> None:
    """Idle CPU at 80x24, where nbtui's side panes are hidden (the overlay is F2's)."""
    with Kernel() as kernel:
        tmux = Tmux(80, 24)
        try:
            _, proc = start_client(client, kernel, tmux)
            rows.add("idle 80x24", client, idle_cpu(tmux, proc, cfg.idle))
        finally:
            tmux.kill()


def session_run(client: str, cfg: Config, rows: Rows, tmp: Path, run: int) -> None:
    """One client in one tmux session at 200x50: startup, idle CPU, peer output (nbtui
    only), terminal traffic during a flood, then keystrokes during a longer flood.

    Raises:
        RuntimeError: The client did not start, or a marker never showed.
    """
    with Kernel() as kernel:
        tmux = Tmux()
        try:
            startup, proc = start_client(client, kernel, tmux)
            rows.add("startup", client, startup)
            # What the client writes to its terminal while nothing happens (clocks,
            # redraws of unchanged panes), over the idle CPU window.
            quiet = tmp / f"idle-{client}-{run}.bin"
            quiet.touch()
            wait_quiet(tmux)
            tmux.run("pipe-pane", "-o", "-t", "bench", f"cat >> {shlex.quote(str(quiet))}")
            rows.add("idle", client, idle_cpu(tmux, proc, cfg.idle))
            tmux.run("pipe-pane", "-t", "bench")
            rows.add("idle bytes", client, quiet.stat().st_size / cfg.idle)
            if client == "nbtui":
                # jupyter console shows other clients' output only with
                # include_other_output=True, which is off by default.
                rows.add("peer", client, peer_output(kernel, tmux, cfg.samples))

            pipe = tmp / f"pipe-{client}-{run}.bin"
            pipe.touch()
            tmux.run("pipe-pane", "-o", "-t", "bench", f"cat >> {shlex.quote(str(pipe))}")
            tmux.run("send-keys", "-t", "bench", "-l", flood.cell_line(cfg.traffic_lines))
            time.sleep(0.3)
            size0 = pipe.stat().st_size
            start = time.perf_counter()
            tmux.run("send-keys", "-t", "bench", "Enter")
            seen = tmux.wait_for(flood.MARK, cfg.timeout)
            if seen is None:
                raise RuntimeError(f"{client}: the traffic flood's marker never showed")
            time.sleep(0.2)  # let cat write out what the pane received
            size = pipe.stat().st_size - size0
            rows.add("traffic", client, (size / (seen - start), size))
            tmux.run("pipe-pane", "-t", "bench")
            wait_quiet(tmux)

            keys = keystrokes(tmux, client, cfg, rows)
            rows.add("keys", client, keys)
            rows.failures += keys is None and client == "nbtui"
        finally:
            tmux.kill()


def keystrokes(tmux: Tmux, client: str, cfg: Config, rows: Rows) -> list[float] | None:
    """Seconds from send-keys to screen for `cfg.samples` tokens typed while a long flood
    runs; None (with a note) when the flood never showed or input was blocked while busy."""
    # One line that both editors run on Enter (a bare `for` waits for a blank line in one).
    code = f'exec("for i in range({cfg.busy_lines}): print(i)")'
    tmux.run("send-keys", "-t", "bench", "-l", code)
    time.sleep(0.3)
    tmux.run("send-keys", "-t", "bench", "Enter")
    # Until the flood is on screen: a printed number of 5+ digits (not the typed range).
    deadline = time.perf_counter() + 10
    while time.perf_counter() < deadline:
        if set(re.findall(r"\b\d{5,}\b", tmux.screen())) - {str(cfg.busy_lines)}:
            break
        time.sleep(0.05)
    else:
        rows.notes.append(f"keystrokes, {client}: the flood never showed")
        return None
    time.sleep(0.5)
    samples: list[float] = []
    for k in range(cfg.samples):
        token = f"Qz{chr(97 + k)}Wx"
        start = time.perf_counter()
        tmux.run("send-keys", "-t", "bench", "-l", token)
        seen, screen = None, ""
        while time.perf_counter() - start < 30.0:
            screen = tmux.screen()
            if token in screen:
                seen = time.perf_counter()
                break
            time.sleep(flood.POLL)
        if seen is None:
            rows.notes.append(f"keystrokes, {client}: token {k + 1} not on screen within 30 s")
            return None
        if str(cfg.busy_lines - 1) in screen:
            # Shown only once the flood was over: typed ahead, not echoed while busy.
            rows.notes.append(
                f"keystrokes, {client}: token {k + 1} showed only after the "
                f"flood ended ({seen - start:.1f} s)"
                + ("" if samples else ": input blocked while busy")
            )
            return samples if samples and client != "jupyter-console" else None
        samples.append(seen - start)
        time.sleep(0.2)
    if client == "jupyter-console":
        # Its editor is not running while a cell runs: the tty (cooked mode) echoes the keys
        # into the output, where they scroll away, and the editor gets them afterwards.
        tmux.wait_for(str(cfg.busy_lines - 1), cfg.timeout)
        wait_quiet(tmux)
        if any(line.startswith("In [") and "Qza" in line for line in tmux.screen().splitlines()):
            rows.notes.append(
                f"keystrokes, {client}: the keys showed only as the terminal's own echo inside "
                f"the output (p50 {percentile(samples, 0.5) * 1000:.0f} ms) and reached its "
                "prompt after the cell ended: input blocked while busy"
            )
            return None
    return samples


def bench_sessions(cfg: Config, rows: Rows, tmp: Path, clients: list[str]) -> None:
    """The tmux sections for each terminal client, at 200x50 then 80x24; a failure is
    noted and counted, not raised."""
    for run in range(cfg.runs):
        for client in clients:
            try:
                session_run(client, cfg, rows, tmp, run)
                idle_narrow(client, cfg, rows)
                log(f"session run {run + 1} {client}: done")
            except Exception as exc:  # noqa: BLE001 -- report, keep benchmarking
                rows.notes.append(f"session run {run + 1}, {client}: {exc}")
                rows.failures += 1
                log(f"session run {run + 1} {client}: {exc}")


# -- flood to screen (bench/flood.py) ---------------------------------------------------------


def bench_flood(cfg: Config, rows: Rows, clients: list[str]) -> None:
    """The flood to screen for raw, the terminal clients and the tail-only floor, with
    peak RSS; a failure is noted and counted, not raised."""
    for n in cfg.flood_lines:
        for run in range(cfg.runs):
            # "tail" calibrates the method: the least any client drawn in tmux can add.
            for client in ("raw", *clients, "tail"):
                try:
                    result = flood.measure(client, n, cfg.timeout)
                except Exception as exc:  # noqa: BLE001 -- report, keep benchmarking
                    result = flood.Result(None, notes=[f"{client}: {exc}"])
                rows.add(f"flood {n}", client, result.seconds)
                rows.failures += result.seconds is None
                if result.peak_rss is not None:
                    rows.add(f"rss {n}", client, result.peak_rss)
                rows.notes.extend(f"flood N={n} run {run + 1}: {note}" for note in result.notes)
                if result.lines is not None and result.lines != n:
                    rows.notes.append(
                        f"flood N={n} run {run + 1}: raw received {result.lines}/{n} lines"
                    )
                shown = "timeout" if result.seconds is None else f"{result.seconds:.3f} s"
                log(f"flood N={n} run {run + 1} {client}: {shown}")


# -- the table ---------------------------------------------------------------------------------


def median(values: list[Any] | None) -> float | None:
    """The median of the values that are not None; None when there are none."""
    done = [v for v in values or [] if v is not None]
    return statistics.median(done) if done else None


def percentile(values: list[float], q: float) -> float:
    """The nearest-rank `q` quantile (0..1) of a non-empty list."""
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def table(cfg: Config, rows: Rows, clients: list[str]) -> str:
    """The markdown table of every metric (nbtui, raw client, jupyter console), then the
    notes."""
    cols = ["nbtui", "raw", "jupyter-console"]
    out = [
        f"medians of {cfg.runs} run(s); ratios are to raw where raw applies\n",
        "| metric | nbtui | raw client | jupyter console |",
        "|---|---:|---:|---:|",
    ]

    def cell(metric: str, client: str, fmt: str, ratio: bool = True) -> str:
        values = rows.data.get(metric, {}).get(client)
        if values is None:
            return "-"
        med = median(values)
        if med is None:
            return "failed"
        text = fmt.format(med)
        failed = sum(1 for v in values if v is None)
        if failed:
            text += f" ({failed} failed)"
        raw = median(rows.data.get(metric, {}).get("raw"))
        if ratio and raw and client != "raw":
            text += f" ({med / raw:.2f}x)"
        return text

    for n in cfg.flood_lines:
        out.append(
            f"| flood to screen, {n:,} lines (s) | "
            + " | ".join(cell(f"flood {n}", c, "{:.3f}") for c in cols)
            + " |"
        )
    floor = [cell(f"flood {n}", "tail", "{:.3f}") for n in cfg.flood_lines]
    if any(value != "-" for value in floor):
        sizes = " / ".join(f"{n:,}" for n in cfg.flood_lines)
        out.append(
            f"| the method's floor: tail-only client in tmux, {sizes} lines (s) | - | "
            + " / ".join(floor)
            + " | - |"
        )
    n = max(cfg.flood_lines)
    rss = rows.data.get(f"rss {n}", {})
    out.append(
        f"| peak RSS at {n:,} lines (MiB, max of runs) | "
        + " | ".join(f"{max(rss[c]) / 2**20:.0f}" if rss.get(c) else "-" for c in cols)
        + " |"
    )
    small = rows.data.get("small", {})
    out.append(
        f"| {cfg.small:,} flushed prints: lines received | "
        + " | ".join(cell("small", c, "{:,.0f}", ratio=False) for c in cols)
        + " |"
    )
    slow = small.get("slow raw")
    if slow is not None:
        med = median(slow)
        text = "failed" if med is None else f"{med:,.0f}"
        out.append(f"| same, raw client pausing {cfg.pause:g} s mid-flood | - | {text} | - |")

    def tui(metric: str, fmt: str, pick: Any = None) -> str:
        vals = rows.data.get(metric, {})
        parts = []
        for c in cols:
            if c == "raw" or c not in clients:
                parts.append("-")
                continue
            got = vals.get(c)
            if not got:
                parts.append("failed")
                continue
            picked = [pick(v) if pick else v for v in got if v is not None]
            parts.append(fmt.format(statistics.median(picked)) if picked else "failed")
        return " | ".join(parts)

    out.append("| startup to ready prompt (s) | " + tui("startup", "{:.2f}") + " |")
    out.append(f"| idle CPU over {cfg.idle:g} s, 200x50 (CPU s) | " + tui("idle", "{:.3f}") + " |")
    out.append(
        f"| idle CPU over {cfg.idle:g} s, 80x24 (CPU s) | " + tui("idle 80x24", "{:.3f}") + " |"
    )
    out.append(
        f"| terminal bytes/s while idle over {cfg.idle:g} s, 200x50 | "
        + tui("idle bytes", "{:.1f}")
        + " |"
    )
    peer = rows.data.get("peer", {}).get("nbtui", [])
    runs = [v for v in peer if v]
    if runs:
        p50 = statistics.median(percentile(v, 0.5) * 1000 for v in runs)
        top = statistics.median(max(v) * 1000 for v in runs)
        out.append(
            f"| another client's output to screen, p50 / max (ms) | {p50:.0f} / {top:.0f}"
            " | - | n/a: off by default |"
        )
    out.append(
        f"| terminal bytes/s, {cfg.traffic_lines:,}-line flood (MB/s) | "
        + tui("traffic", "{:.2f}", lambda v: v[0] / 1e6)
        + " |"
    )
    out.append(
        f"| terminal bytes total, {cfg.traffic_lines:,}-line flood (MB) | "
        + tui("traffic", "{:.2f}", lambda v: v[1] / 1e6)
        + " |"
    )
    for name, q in (("p50", 0.5), ("p95", 0.95)):
        keys = rows.data.get("keys", {})
        parts = []
        for c in cols:
            if c == "raw" or c not in clients:
                parts.append("-")
                continue
            runs = [percentile(v, q) * 1000 for v in keys.get(c, []) if v]
            if runs:
                parts.append(f"{statistics.median(runs):.0f}")
            elif c == "jupyter-console":
                parts.append("n/a: input blocked while busy")
            else:
                parts.append("failed")
        out.append(
            f"| keystroke to screen during a flood, {name} (ms) | " + " | ".join(parts) + " |"
        )
    if rows.notes:
        out.append("\nNotes:")
        out.extend(f"- {note}" for note in rows.notes)
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    """Run the chosen sections and print the table; exit status 1 when a measurement
    failed (not when one was slow)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument(
        "--smoke", action="store_true", help="CI check: small sizes, one run, under a minute"
    )
    parser.add_argument("--runs", type=int, help="runs per measurement (median)")
    parser.add_argument(
        "--only",
        nargs="+",
        choices=("flood", "small", "session"),
        default=["flood", "small", "session"],
        help="sections to run",
    )
    parser.add_argument(
        "--clients",
        nargs="+",
        choices=TUI_CLIENTS,
        default=list(TUI_CLIENTS),
        help="terminal clients to run (raw always runs)",
    )
    args = parser.parse_args(argv)
    cfg = SMOKE if args.smoke else FULL
    if args.runs:
        cfg.runs = args.runs
    if shutil.which("tmux") is None:
        parser.error("tmux is not installed")
    rows = Rows()
    began = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="nbtui-bench-") as tmp:
        os.environ["JUPYTER_RUNTIME_DIR"] = str(Path(tmp, "runtime"))
        os.environ["IPYTHONDIR"] = str(Path(tmp, "ipython"))
        if "flood" in args.only:
            bench_flood(cfg, rows, args.clients)
        if "small" in args.only:
            bench_small(cfg, rows)
        if "session" in args.only:
            bench_sessions(cfg, rows, Path(tmp), args.clients)
    print(table(cfg, rows, args.clients))
    log(f"took {time.perf_counter() - began:.0f} s")
    if rows.failures:
        log(f"{rows.failures} measurement(s) failed: see the notes")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
