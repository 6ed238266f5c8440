"""How nbtui words what the kernel layer finds: the `--list` tables, sizes and ages.

The kernel layer (`nbtui.app.kernel`) hands out numbers and records; every string a
person reads about them is made here, so the CLI, the picker screens and the panes
say the same thing the same way.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from nbtui.app.kernel.discovery import KernelEntry, runtime_dir
from nbtui.app.kernel.gpu import REMOTE, GpuDevice, GpuSnapshot
from nbtui.app.kernel.units import format_bytes

if TYPE_CHECKING:
    from nbtui.app.kernel.queue import Waiting

    # Only for the type: the server module pulls tornado in, which `--list` never needs.
    from nbtui.app.kernel.remote import RemoteFile
    from nbtui.app.kernel.server import ServerKernelModel
    from nbtui.app.kernel.usage import UsageSnapshot

__all__ = [
    "HEADERS",
    "display_name",
    "entries_json",
    "format_ago",
    "format_bytes",
    "format_duration",
    "format_elapsed",
    "format_latency",
    "format_remote_table",
    "format_server_table",
    "format_table",
    "format_timestamp_ago",
    "gpu_column",
    "gpu_device_line",
    "gpu_lines",
    "gpu_note",
    "idle_holder_warning",
    "memory_limit_line",
    "memory_warning_line",
    "remote_json",
    "row",
    "waiting_text",
]

HEADERS = ("FILE", "KERNEL", "STATE", "ACTIVITY", "PID", "MEMORY", "CPU", "AGE")
"""The columns of the `nbtui --list` table and of the kernel picker."""


def format_duration(seconds: float) -> str:
    """A span of time, in whole units: the one way nbtui writes an age or a duration.

    At most two units, the larger first, each rounded down: what is shown has always
    been reached, and it changes at most once a minute past the first minute.

    Args:
        seconds: The span; negative counts as 0.

    Returns:
        For example `12 s`, `4 min`, `3 h 5 min`, `3 h`, `2 d 7 h`.
    """
    whole = int(max(0.0, seconds))
    if whole < 60:
        return f"{whole} s"
    minutes = whole // 60
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


def format_ago(seconds: float, *, now_below: float = 0.0) -> str:
    """How long ago something happened (see `format_duration`).

    Args:
        seconds: How long ago; negative counts as 0.
        now_below: Under this many seconds say `now`: for a view redrawn too rarely
            for its seconds to be true.

    Returns:
        For example `12 s ago`, `3 h 5 min ago`, or `now`.
    """
    if seconds < now_below:
        return "now"
    return f"{format_duration(seconds)} ago"


def format_elapsed(seconds: float) -> str:
    """How long something has been running, for a clock that ticks every second.

    Tenths under a minute, then seconds always: a running clock has to be seen to move.

    Args:
        seconds: Since the start; negative counts as 0.

    Returns:
        For example `4.2 s`, `2 min 5 s`, `1 h 2 min 5 s`.
    """
    seconds = max(0.0, seconds)
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {rest} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min {rest} s"


def format_latency(seconds: float | None, *, coarse: bool = False) -> str:
    """A round trip (heartbeat, control request): milliseconds, unlike an age.

    Args:
        seconds: The round trip, or None when unknown.
        coarse: In steps (`<1 ms`, `<10 ms`, `<100 ms`, then tenths of a second), for a
            one-line summary that must not redraw with every beat's jitter.

    Returns:
        For example `0.1 ms`, `12 ms`, `1.4 s`; `-` when unknown.
    """
    if seconds is None:
        return "-"
    if coarse:
        for step in (0.001, 0.01, 0.1):
            if seconds < step:
                return f"<{step * 1000:.0f} ms"
        return f"{seconds:.1f} s"
    if seconds < 0.01:
        return f"{seconds * 1000:.1f} ms"
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    return f"{seconds:.1f} s"


def display_name(path: Path, runtime: Path | None = None) -> str:
    """How a connection file is named to the user.

    Args:
        path: The connection file.
        runtime: The Jupyter runtime dir; the real one by default.

    Returns:
        The file name for a file in the runtime dir, else the full path.
    """
    runtime = runtime_dir() if runtime is None else runtime
    with contextlib.suppress(OSError):
        if path.parent.resolve() == runtime.resolve():
            return path.name
    return str(path)


def row(entry: KernelEntry, now: float, runtime: Path | None = None) -> tuple[str, ...]:
    """One row of the `--list` table, one cell per `HEADERS` column.

    Args:
        entry: What the probe of one connection file found.
        now: The current `time.time()`, which the age is counted to.
        runtime: The Jupyter runtime dir (see `display_name`).

    Returns:
        file, kernel, state, activity, pid, memory, cpu, age.
    """
    kernel = entry.kernel_name or "?"
    if entry.language and entry.language != entry.kernel_name:
        kernel = f"{kernel} ({entry.language})"
    if entry.info is None:
        kernel = "-"
    state = entry.state.upper() if entry.state in ("stale", "invalid") else entry.state
    return (
        display_name(entry.path, runtime),
        kernel,
        state,
        entry.execution_state or "-",
        str(entry.pid) if entry.pid is not None else "-",
        format_bytes(entry.memory),
        f"{entry.cpu:.0f}%" if entry.cpu is not None else "-",
        format_duration(now - entry.mtime),
    )


def format_table(
    entries: Sequence[KernelEntry],
    now: float | None = None,
    runtime: Path | None = None,
    summary: bool = True,
    gpu: Mapping[Path, GpuSnapshot] | None = None,
) -> str:
    """The `nbtui --list` table.

    Args:
        entries: The probed connection files, in the order to show (newest first).
        now: The current `time.time()`; now by default.
        runtime: The Jupyter runtime dir (see `display_name`).
        summary: Add the line that counts alive, stale, stopped and invalid files.
        gpu: The GPU reading of each file's kernel (by path): a GPU column after CPU
            (`gpu_column`), and a line saying why when no kernel has a GPU to show.

    Returns:
        The table, then the summary, then one line per file with a problem.
    """
    now = time.time() if now is None else now
    headers: tuple[str, ...] = HEADERS
    rows = [row(entry, now, runtime) for entry in entries]
    if gpu is not None:
        at = HEADERS.index("CPU") + 1
        headers = (*HEADERS[:at], "GPU", *HEADERS[at:])
        rows = [
            (*cells[:at], gpu_column(gpu.get(entry.path)), *cells[at:])
            for entry, cells in zip(entries, rows, strict=True)
        ]
    rows = [headers, *rows]
    widths = [max(len(cells[column]) for cells in rows) for column in range(len(headers))]
    right = set(range(headers.index("PID"), len(headers)))
    lines = [
        "  ".join(
            cell.rjust(width) if column in right else cell.ljust(width)
            for column, (cell, width) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()
        for cells in rows
    ]
    if gpu is not None:
        note = gpu_note(gpu.values())
        if note:
            lines.append(f"GPU: {note}")
    if summary:
        alive = sum(1 for entry in entries if entry.alive)
        stale = sum(1 for entry in entries if entry.stale)
        invalid = sum(1 for entry in entries if entry.info is None)
        stopped = sum(1 for entry in entries if entry.state == "stopped")
        silent = sum(1 for entry in entries if entry.state == "no answer")
        counts = f"{alive} alive, {stale} stale"
        if stopped:
            counts += f", {stopped} stopped"
        if silent:
            counts += f", {silent} not answering"
        if invalid:
            counts += f", {invalid} invalid"
        if stale:
            counts += " (nbtui --prune removes the stale files)"
        lines.append(counts)
    for entry in entries:
        if entry.error:
            lines.append(f"{display_name(entry.path, runtime)}: {entry.error}")
        elif entry.alive and not entry.responsive:
            lines.append(
                f"{display_name(entry.path, runtime)}: the heartbeat answers but "
                "requests get no reply: the key is probably wrong"
            )
        elif entry.state == "stopped":
            lines.append(
                f"{display_name(entry.path, runtime)}: process {entry.pid} is stopped "
                f"(SIGSTOP), not dead: kill -CONT {entry.pid} resumes it"
            )
        elif entry.state == "no answer":
            lines.append(
                f"{display_name(entry.path, runtime)}: process {entry.pid} holds its ports "
                "but the heartbeat does not answer"
            )
    return "\n".join(lines)


def entries_json(
    entries: Sequence[KernelEntry],
    now: float | None = None,
    gpu: Mapping[Path, GpuSnapshot] | None = None,
) -> str:
    """The `nbtui --list --json` output.

    Args:
        entries: The probed connection files.
        now: The current `time.time()`, which ages are counted to; now by default.
        gpu: The GPU reading of each file's kernel (by path), if GPUs were looked at.

    Returns:
        A JSON array of `KernelEntry.as_json` objects, indented; with `gpu`, each has
        `gpu_memory` (bytes the kernel holds on its GPUs; null: no GPU, or not visible).
    """
    now = time.time() if now is None else now
    objects = [entry.as_json(now) for entry in entries]
    if gpu is not None:
        for entry, data in zip(entries, objects, strict=True):
            reading = gpu.get(entry.path)
            data["gpu_memory"] = reading.kernel_memory if reading is not None else None
    return json.dumps(objects, indent=2)


def gpu_note(readings: Iterable[GpuSnapshot]) -> str:
    """Why the `--list` GPU column is empty: the first reason a reading gives (no
    driver, no device), or "" when some kernel has a GPU to show."""
    notes = []
    for reading in readings:
        if reading.devices:
            return ""
        notes.append(reading.note)
    local = [note for note in notes if note and note != REMOTE]
    return local[0] if local else ""


def format_server_table(kernels: Sequence[ServerKernelModel], now: float | None = None) -> str:
    """The `nbtui --server URL --list` table.

    Args:
        kernels: The server's kernels, as its REST API lists them.
        now: The current `time.time()`; now by default.

    Returns:
        id, name, state, connections and last activity, one kernel a line.
    """
    rows = [("ID", "NAME", "STATE", "CONN", "LAST ACTIVITY")]
    for kernel in kernels:
        rows.append(
            (
                kernel.id,
                kernel.name,
                kernel.execution_state,
                str(kernel.connections),
                format_timestamp_ago(kernel.last_activity, now),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )


def format_timestamp_ago(stamp: str, now: float | None = None) -> str:
    """How long ago a Jupyter Server's time stamp was (see `format_ago`).

    Args:
        stamp: An ISO 8601 time as the server writes it (`2026-01-01T00:00:00.000000Z`).
        now: The current `time.time()`; now by default.

    Returns:
        For example `12 s ago`; the stamp itself if it cannot be read, `-` if empty.
    """
    try:
        then = datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return stamp or "-"
    return format_ago((time.time() if now is None else now) - then)


def waiting_text(waiting: Waiting, now: float) -> str:
    """What a queued cell waits behind, for its line in the transcript.

    Args:
        waiting: The cell's place in the queue (`nbtui.app.kernel.queue`).
        now: `time.monotonic()`, for how long the running cell has run.

    Returns:
        For example `queued behind alice's In [12], running 4 min`, or
        `queued (2nd in line) behind your In [13], running 12 s`.
    """
    line = f" ({_ordinal(waiting.place)} in line)" if waiting.place > 1 else ""
    behind = waiting.behind
    if behind is None:
        return f"queued{line}: the kernel has not started it yet"
    who = "your" if behind.is_self else f"{behind.username}'s"
    count = behind.execution_count
    cell = f"In [{count}]" if count is not None else "cell"
    running = format_duration(now - (behind.started or now))
    return f"queued{line} behind {who} {cell}, running {running}"


def _ordinal(number: int) -> str:
    if 10 <= number % 100 <= 20:
        return f"{number}th"
    return f"{number}{ {1: 'st', 2: 'nd', 3: 'rd'}.get(number % 10, 'th') }"


def format_remote_table(files: Sequence[RemoteFile], now: float | None = None) -> str:
    """The `nbtui --ssh HOST --list` table.

    Args:
        files: The remote side's connection files, newest first.
        now: The current `time.time()` (ages count from the files' times there); now
            by default.

    Returns:
        The table (file, kernel, state, ip, age), then one line per invalid file.
    """
    now = time.time() if now is None else now
    rows = [("FILE", "KERNEL", "STATE", "IP", "AGE")]
    for remote in files:
        info = remote.info
        rows.append(
            (
                remote.name,
                (info.kernel_name or "?") if info else "?",
                remote.state,
                info.ip if info else "",
                format_duration(now - remote.mtime),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]
    lines += [f"{remote.name}: {remote.problem}" for remote in files if remote.problem]
    return "\n".join(lines)


def remote_json(files: Sequence[RemoteFile], now: float | None = None) -> str:
    """The `nbtui --ssh HOST --list --json` output: no keys."""
    now = time.time() if now is None else now
    return json.dumps(
        [
            {
                "path": str(remote.path),
                "state": remote.state,
                "kernel_name": remote.info.kernel_name if remote.info else None,
                "ip": remote.info.ip if remote.info else None,
                "age_seconds": round(now - remote.mtime, 1),
                "problem": remote.problem or None,
            }
            for remote in files
        ],
        indent=2,
    )


def gpu_device_line(device: GpuDevice) -> str:
    """One NVIDIA device in the resource pane.

    Returns:
        For example `GPU 0 A100: 87 %, 30.0 GiB of 80.0 GiB, kernel 11.2 GiB`; a figure
        the driver does not give is `?`, and the kernel's share may be "not visible".
    """
    parts = [f"{device.utilisation} %" if device.utilisation is not None else "? %"]
    if device.memory_used is not None and device.memory_total is not None:
        parts.append(f"{format_bytes(device.memory_used)} of {format_bytes(device.memory_total)}")
    if device.kernel_memory is not None:
        parts.append(f"kernel {format_bytes(device.kernel_memory)}")
    else:
        parts.append("kernel's share not visible")
    return f"GPU {device.index} {device.name}: {', '.join(parts)}"


def gpu_lines(snapshot: GpuSnapshot) -> list[str]:
    """The resource pane's GPU lines: one per device, or the one line saying why there
    are none (no driver, no device, a remote kernel)."""
    if not snapshot.devices:
        return [snapshot.note or "no NVIDIA GPU"]
    return [gpu_device_line(device) for device in snapshot.devices]


def gpu_column(snapshot: GpuSnapshot | None) -> str:
    """The `--list` GPU cell: GPU memory the kernel holds (all devices together).

    Returns:
        `2.1 GiB`; `0 B` when it holds none; `?` when its share cannot be seen; `-`
        where there is no GPU to speak of (no driver, a remote kernel): the line under
        the table says why.
    """
    if snapshot is None or not snapshot.devices:
        return "-"
    held = snapshot.kernel_memory
    return "?" if held is None else format_bytes(held)


def idle_holder_warning(
    idle_seconds: float | None,
    snapshot: GpuSnapshot | None,
    *,
    after: float = 1800.0,
    at_least: int = 256 << 20,
) -> str | None:
    """A kernel that has run nothing for a while but keeps GPU memory others could use.

    Args:
        idle_seconds: How long the kernel has run nothing (None: busy, or unknown).
        snapshot: The latest GPU sample.
        after: Idle seconds before the warning.
        at_least: Bytes held (on one device) before the warning.

    Returns:
        For example `idle 2 h, holds 11.2 GiB of GPU 0`; None when the kernel is busy,
        recently active, or holds little.
    """
    if idle_seconds is None or idle_seconds < after or snapshot is None:
        return None
    held = [
        f"{format_bytes(device.kernel_memory)} of GPU {device.index}"
        for device in snapshot.devices
        if device.kernel_memory is not None and device.kernel_memory >= at_least
    ]
    if not held:
        return None
    return f"idle {format_duration(idle_seconds)}, holds {' and '.join(held)}"


def _share_of(snapshot: UsageSnapshot) -> str:
    """What the memory share is counted against, for the pane's words."""
    limit = snapshot.memory_limit
    if limit is not None and limit.source == "cgroup":
        return f"its cgroup {limit.cgroup} limit"
    return "what the host can give it"


def memory_limit_line(snapshot: UsageSnapshot) -> str | None:
    """The resource pane's line about the limit the memory share is counted against.

    Returns:
        For example `limit cgroup /jobs/x 300 MiB · 45%` (the kernel's memory over its
        cgroup's limit), `limit host 23.5 GiB (no cgroup limit) · 6%` (its memory over
        itself plus what the host has available), `limit host memory (remote) · 6%` for
        a remote kernel, whose cgroup cannot be read from here; None when there is
        neither a limit nor a share.
    """
    limit = snapshot.memory_limit
    share = snapshot.memory_share
    at = f" · {share:.0%}" if share is not None else ""
    if limit is None:
        return f"limit host memory (remote){at}" if share is not None else None
    if limit.source == "cgroup":
        return f"limit cgroup {limit.cgroup} {format_bytes(limit.limit)}{at}"
    return f"limit host {format_bytes(limit.limit)} (no cgroup limit){at}"


def memory_warning_line(snapshot: UsageSnapshot, threshold: float) -> str | None:
    """The resource pane's warning when the kernel's memory passed `threshold`
    (`--memory-warn`) of what it may hold; None when it has not."""
    if not snapshot.memory_warning or snapshot.memory_share is None:
        return None
    return (
        f"⚠ kernel memory at {snapshot.memory_share:.0%} of {_share_of(snapshot)} "
        f"(warns above {threshold:.0%})"
    )
