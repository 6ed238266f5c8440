"""How nbtui words what the kernel layer finds: the `--list` tables, sizes and ages.

The kernel layer (`nbtui.app.kernel`) hands out numbers and records; every string a
person reads about them is made here, so the CLI, the picker screens and the panes
say the same thing the same way.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from nbtui.app.kernel.discovery import KernelEntry, runtime_dir

if TYPE_CHECKING:
    # Only for the type: the server module pulls tornado in, which `--list` never needs.
    from nbtui.app.kernel.server import ServerKernelModel

__all__ = [
    "HEADERS",
    "display_name",
    "entries_json",
    "format_age",
    "format_bytes",
    "format_server_table",
    "format_table",
    "row",
    "server_age",
]

HEADERS = ("FILE", "KERNEL", "STATE", "ACTIVITY", "PID", "MEMORY", "CPU", "AGE")
"""The columns of the `nbtui --list` table and of the kernel picker."""


def format_age(seconds: float) -> str:
    """A compact age, in its largest whole unit.

    Args:
        seconds: How long ago; negative counts as 0.

    Returns:
        For example `12s`, `5m`, `3h`, `2d`.
    """
    seconds = max(0.0, seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{int(seconds // size)}{unit}"
    return f"{int(seconds)}s"


def format_bytes(count: float | None) -> str:
    """A size in binary units, the one way nbtui writes any size.

    Whole numbers up to MiB: a kernel's memory is read again every few seconds, and a
    figure whose decimals change at every reading redraws at every reading.

    Args:
        count: Bytes, or None when unknown.

    Returns:
        For example `512 B`, `12 KiB`, `512 MiB`, `1.2 GiB`; `-` when unknown.
    """
    if count is None:
        return "-"
    value = float(count)
    for unit in ("B", "KiB", "MiB", "GiB"):
        shown = f"{value:.1f}" if unit == "GiB" else f"{value:.0f}"
        if abs(float(shown)) < 1024:  # 1023.7 KiB is "1 MiB", not "1024 KiB"
            return f"{shown} {unit}"
        value /= 1024
    return f"{value:.1f} TiB"


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
        format_age(now - entry.mtime),
    )


def format_table(
    entries: Sequence[KernelEntry],
    now: float | None = None,
    runtime: Path | None = None,
    summary: bool = True,
) -> str:
    """The `nbtui --list` table.

    Args:
        entries: The probed connection files, in the order to show (newest first).
        now: The current `time.time()`; now by default.
        runtime: The Jupyter runtime dir (see `display_name`).
        summary: Add the line that counts alive, stale and invalid files.

    Returns:
        The table, then the summary, then one line per file with a problem.
    """
    now = time.time() if now is None else now
    rows = [HEADERS, *(row(entry, now, runtime) for entry in entries)]
    widths = [max(len(cells[column]) for cells in rows) for column in range(len(HEADERS))]
    right = {4, 5, 6, 7}
    lines = [
        "  ".join(
            cell.rjust(width) if column in right else cell.ljust(width)
            for column, (cell, width) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()
        for cells in rows
    ]
    if summary:
        alive = sum(1 for entry in entries if entry.alive)
        stale = sum(1 for entry in entries if entry.stale)
        invalid = sum(1 for entry in entries if entry.info is None)
        counts = f"{alive} alive, {stale} stale"
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
    return "\n".join(lines)


def entries_json(entries: Sequence[KernelEntry], now: float | None = None) -> str:
    """The `nbtui --list --json` output.

    Args:
        entries: The probed connection files.
        now: The current `time.time()`, which ages are counted to; now by default.

    Returns:
        A JSON array of `KernelEntry.as_json` objects, indented.
    """
    now = time.time() if now is None else now
    return json.dumps([entry.as_json(now) for entry in entries], indent=2)


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
                server_age(kernel.last_activity, now),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )


def server_age(stamp: str, now: float | None = None) -> str:
    """How long ago a Jupyter Server's time stamp was.

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
    seconds = max(0.0, (time.time() if now is None else now) - then)
    if seconds < 90:
        return f"{seconds:.0f} s ago"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min ago"
    if seconds < 129600:
        return f"{seconds / 3600:.0f} h ago"
    return f"{seconds / 86400:.0f} days ago"
