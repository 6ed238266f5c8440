"""Removing stale connection files (`nbtui --prune`, the picker's prune key).

A file is removed only when a second probe, just before, still finds no kernel and no
local process listens on its ports: a kernel suspended during the listing, or one whose
heartbeat thread is stuck, keeps its file.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from nbtui.app.kernel.kernel_entry import KernelEntry
from nbtui.app.kernel.probing import HB_TIMEOUT, listening_pids, probe_all
from nbtui.app.kernel.usage import is_local

__all__ = ["PruneResult", "prune"]


@dataclass(frozen=True)
class PruneResult:
    """What `prune` did with each stale connection file."""

    removed: list[Path]
    """Files deleted (or already gone when their turn came)."""
    kept: list[tuple[Path, str]]
    """Files left in place, with why."""


async def prune(entries: Sequence[KernelEntry]) -> PruneResult:
    """Remove the connection files of stale entries, checking each again just before.

    A file is kept when its kernel answers the heartbeat now (it may have been
    suspended during the listing), or when a local process listens on one of its ports.
    """
    stale = [entry for entry in entries if entry.stale]
    again = await probe_all(
        [entry.path for entry in stale], details=False, usage=False, hb_timeout=max(HB_TIMEOUT, 0.5)
    )
    local_ports = {
        port
        for entry in again
        if entry.info is not None and entry.info.transport == "tcp" and is_local(entry.info)
        for port in entry.info.ports.values()
    }
    listeners = await asyncio.to_thread(listening_pids, local_ports)
    removed: list[Path] = []
    kept: list[tuple[Path, str]] = []
    for entry in again:
        if entry.info is None:
            kept.append((entry.path, entry.error or "not a valid connection file"))
            continue
        if entry.alive:
            kept.append((entry.path, "its kernel answers again"))
            continue
        busy_ports = [port for port in entry.info.ports.values() if port in listeners]
        if busy_ports and is_local(entry.info):
            kept.append(
                (entry.path, f"process {listeners[busy_ports[0]]} listens on port {busy_ports[0]}")
            )
            continue
        try:
            entry.path.unlink()
        except FileNotFoundError:
            removed.append(entry.path)
        except OSError as error:
            kept.append((entry.path, f"cannot remove: {error.strerror or error}"))
        else:
            removed.append(entry.path)
    return PruneResult(removed, kept)
