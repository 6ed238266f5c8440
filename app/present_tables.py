"""The command-line tables: `nbtui --list` (and its JSON), `--server URL --list` and
`--ssh HOST --list`, and the kernel picker's rows.

Split from `nbtui.app.present`, whose durations, ages and GPU words they use.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from nbtui.app.kernel.discovery import KernelEntry
from nbtui.app.kernel.gpu import REMOTE, GpuSnapshot
from nbtui.app.kernel.units import format_bytes
from nbtui.app.present import display_name, format_duration, format_timestamp_ago, gpu_column

if TYPE_CHECKING:
    # Only for the type: the server module pulls tornado in, which `--list` never needs.
    from nbtui.app.kernel.remote import RemoteFile
    from nbtui.app.kernel.server import ServerKernelModel

__all__ = [
    "HEADERS",
    "entries_json",
    "format_remote_table",
    "format_server_table",
    "format_table",
    "gpu_note",
    "remote_json",
    "row",
]


HEADERS = ("FILE", "KERNEL", "STATE", "ACTIVITY", "PID", "MEMORY", "CPU", "AGE")
"""The columns of the `nbtui --list` table and of the kernel picker."""


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
