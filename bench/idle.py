"""Terminal bytes of a settled, idle client: nbtui (one or more builds) beside jupyter
console, all at once, each on a fresh ipykernel in its own tmux server.

Each client is launched, left alone for `--after` seconds (the monitor settles, the
first probes are done), then tmux's `pipe-pane` records everything it writes to its
terminal for `--window` seconds. Prints bytes/s per client and size, and with
`--show` what was written, one screen row per line (escape sequences dropped).

    python bench/idle.py                                 # this checkout's nbtui
    python bench/idle.py --build before=/tmp/main-site   # and another build, by PYTHONPATH

A build is a directory made with `pip install --no-deps --target DIR CHECKOUT`: its
`nbtui` package comes before this checkout's on the path.
"""

from __future__ import annotations

import argparse
import re
import shlex
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import client_command  # the sibling module, found through the line above
from flood import READY_TIMEOUT, Kernel, Tmux

_MOVE = re.compile(rb"\x1b\[(\d+);(\d+)H")
_ESCAPE = re.compile(rb"\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][A-Z0-9]|\x1b[=>]")


def rows_written(data: bytes) -> list[str]:
    """What `data` wrote, one entry per cursor move: `row:col text` (styles dropped)."""
    out = []
    moves = list(_MOVE.finditer(data))
    for index, move in enumerate(moves):
        end = moves[index + 1].start() if index + 1 < len(moves) else len(data)
        text = _ESCAPE.sub(b"", data[move.end() : end]).decode("utf-8", "replace").rstrip()
        if text:
            out.append(f"{int(move[1]):>3}:{int(move[2]):<3} {text}")
    return out


def measure(
    label: str, client: str, path: str | None, size: tuple[int, int], args: argparse.Namespace
) -> tuple[int, str]:
    """Launch one client, wait, record its terminal for the window: bytes and where."""
    with Kernel() as kernel:
        tmux = Tmux(*size)
        tmux.socket = f"idle-{label}-{size[0]}x{size[1]}-{id(tmux)}"
        pipe = Path(args.tmp) / f"{label}-{size[0]}x{size[1]}.bin"
        try:
            command, ready, _ = client_command(client, kernel.connection_file)
            if path is not None:
                command = f"env PYTHONPATH={shlex.quote(path)} {command}"
            tmux.start(f"{command}; echo CLIENT-EXIT=$?; sleep 600")
            launched = time.perf_counter()
            if tmux.wait_for(ready, READY_TIMEOUT) is None:
                raise RuntimeError(f"{label} never showed {ready!r}")
            time.sleep(max(0.0, launched + args.after - time.perf_counter()))
            tmux.run("pipe-pane", "-o", "-t", "bench", f"cat >> {shlex.quote(str(pipe))}")
            time.sleep(args.window)
            tmux.run("pipe-pane", "-t", "bench")
            time.sleep(0.2)
            return (pipe.stat().st_size if pipe.exists() else 0), str(pipe)
        finally:
            tmux.kill()


def main(argv: list[str] | None = None) -> int:
    """Run every client at every size at once; print the table (and the writes)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--after", type=float, default=40.0, help="seconds before the window")
    parser.add_argument("--window", type=float, default=60.0, help="seconds recorded")
    parser.add_argument(
        "--build", action="append", default=[], help="LABEL=DIR: nbtui from DIR (PYTHONPATH)"
    )
    parser.add_argument("--show", action="store_true", help="print what each client wrote")
    parser.add_argument("--tmp", default=tempfile.mkdtemp(prefix="nbtui-idle-"))
    args = parser.parse_args(argv)
    Path(args.tmp).mkdir(parents=True, exist_ok=True)
    clients: list[tuple[str, str, str | None]] = [("nbtui", "nbtui", None)]
    for build in args.build:
        label, _, path = build.partition("=")
        clients.append((label, "nbtui", str(Path(path).resolve())))
    clients.append(("jupyter-console", "jupyter-console", None))
    sizes = [(200, 50), (80, 24)]
    results: dict[tuple[str, tuple[int, int]], tuple[int, str] | str] = {}

    def run(label: str, client: str, path: str | None, size: tuple[int, int]) -> None:
        try:
            results[label, size] = measure(label, client, path, size, args)
        except Exception as error:  # noqa: BLE001 -- one client's failure is a row, not a crash
            results[label, size] = f"failed: {error}"

    threads = [
        threading.Thread(target=run, args=(label, client, path, size))
        for label, client, path in clients
        for size in sizes
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    print(f"| terminal bytes/s, {args.window:g} s from {args.after:g} s after launch | ", end="")
    print(" | ".join(f"{w}x{h}" for w, h in sizes) + " |")
    print("|---|" + "---:|" * len(sizes))
    for label, _, _ in clients:
        cells = []
        for size in sizes:
            result = results[label, size]
            cells.append(result if isinstance(result, str) else f"{result[0] / args.window:.1f}")
        print(f"| {label} | " + " | ".join(cells) + " |")
    if args.show:
        for (label, size), result in results.items():
            if isinstance(result, str) or not Path(result[1]).exists():
                continue
            print(f"\n## {label} {size[0]}x{size[1]}: {result[0]} bytes")
            for row in rows_written(Path(result[1]).read_bytes()):
                print("  " + row[:160])
    return 0


if __name__ == "__main__":
    sys.exit(main())
