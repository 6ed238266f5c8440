"""What flood.py and run.py share: settling a raw client, launching a terminal client, and
measuring a process's CPU time."""

from __future__ import annotations

import glob
import os
import shlex
import shutil
import sys
from typing import Any

import psutil

PASSED_ENV = ("JUPYTER_RUNTIME_DIR", "IPYTHONDIR", "PATH", "HOME")
"""Environment a client in a private tmux server needs (tmux starts it with its own)."""


def settle(kc: Any, quiet: float = 0.2) -> None:
    """Read a BlockingKernelClient's iopub until it has been silent for `quiet` seconds:
    the busy/idle of wait_for_ready's kernel_info must not count in a measurement."""
    while True:
        try:
            kc.get_iopub_msg(timeout=quiet)
        except Exception:  # noqa: BLE001 -- queue.Empty: nothing more pending
            return


def client_command(client: str, conn: str) -> tuple[str, str, str]:
    """The shell command that runs `client` on connection file `conn` in a pane, the text
    that shows when it is ready, and a word that finds its process under the pane."""
    passed = " ".join(
        f"{name}={shlex.quote(os.environ[name])}" for name in PASSED_ENV if name in os.environ
    )
    conn = shlex.quote(conn)
    if client == "tail":
        script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "tail_client.py")
        command = f"{shlex.quote(sys.executable)} {shlex.quote(script)} {conn}"
        return f"env {passed} {command}", "tail-ready>", "tail_client"
    if client == "nbtui":
        script = shutil.which("nbtui")
        if script is None:
            raise RuntimeError("nbtui is not installed")
        command, ready, needle = f"{shlex.quote(script)} --existing {conn}", "idle", "nbtui"
    else:
        script = shutil.which("jupyter-console") or shutil.which("jupyter")
        if script is None:
            raise RuntimeError("jupyter console is not installed")
        sub = "" if script.endswith("jupyter-console") else " console"
        command = f"{shlex.quote(script)}{sub} --existing {conn}"
        ready, needle = "In [", "console"
    # Both clients may cache their bytecode, as a user's install does (pip compiles a
    # wheel's modules as it installs them): with PYTHONDONTWRITEBYTECODE set, as on the
    # machines here, an editable nbtui compiled its ~100 modules at every launch while
    # jupyter console's came compiled from site-packages.
    return f"env -u PYTHONDONTWRITEBYTECODE {passed} {command}", ready, needle


def cpu_seconds(proc: psutil.Process) -> float:
    """CPU time of every thread of `proc` so far: from the scheduler's nanosecond counters
    where Linux has them (psutil's user + system move in 10 ms ticks, too coarse for an
    idle client's few tens of milliseconds), else psutil's."""
    stats = glob.glob(f"/proc/{proc.pid}/task/*/schedstat")
    if stats:
        total = 0
        for path in stats:
            try:
                with open(path) as file:
                    total += int(file.read().split()[0])
            except (OSError, ValueError, IndexError):
                continue  # a thread that ended between glob and open
        return total / 1e9
    times = proc.cpu_times()
    return float(times.user + times.system)
