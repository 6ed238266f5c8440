"""What one probe of one connection file found: a :class:`KernelEntry`.

:mod:`nbtui.app.kernel.probing` fills entries in; `nbtui --list`, the picker and
prune read them. An entry is made for every file, valid or not, so a listing can say
why a file is not a kernel.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from nbtui.app.kernel.connection import ConnectionInfo, load_connection_file
from nbtui.app.kernel.errors import NbtuiError

__all__ = ["KernelEntry", "file_mtime", "unprobed_entry"]


@dataclass(frozen=True)
class KernelEntry:
    """What one probe of one connection file found."""

    path: Path
    """The connection file probed."""
    mtime: float
    """When the file was last written: about when the kernel started."""
    info: ConnectionInfo | None = None
    """None when the file is not a valid connection file (see `error`)."""
    error: str | None = None
    """Why the file is not a valid connection file, as one sentence; None when it is."""
    alive: bool = False
    """The heartbeat answered."""
    responsive: bool = False
    """A signed reply came on control: the key is right."""
    execution_state: str | None = None
    """"busy" or "idle" when the activity was probed, else None."""
    language: str = ""
    """The kernel's language (kernel_info's `language_info.name`), "" when not asked or
    not answered."""
    implementation: str = ""
    """The kernel's implementation (kernel_info's `implementation`, e.g. "ipython")."""
    pid: int | None = None
    """The kernel's process id: from its usage reply, else the local process listening on
    its shell port."""
    hostname: str | None = None
    """The host the kernel says it runs on (usage reply), if it said."""
    memory: int | None = None
    """Bytes (PSS where the kernel's psutil has it, else RSS)."""
    cpu: float | None = None
    """Percent of one CPU since the previous usage request from any client."""
    hb_rtt: float | None = field(default=None, compare=False)
    """Seconds the heartbeat took to echo, when it answered."""
    process: str | None = None
    """For a silent local kernel whose process still listens on its shell port: "stopped"
    (SIGSTOP, ctrl+z, a debugger) or "running"; None otherwise."""

    @property
    def kernel_name(self) -> str:
        """The kernelspec name recorded in the connection file ("" when absent or invalid)."""
        return self.info.kernel_name if self.info is not None else ""

    @property
    def stale(self) -> bool:
        """A valid connection file with no kernel behind it: silent, and no local
        process holds its shell port."""
        return self.info is not None and not self.alive and self.process is None

    @property
    def state(self) -> str:
        """One word: alive, stale, invalid, "no reply" (heartbeat but no reply), or for a
        silent kernel whose process is there, stopped or "no answer"."""
        if self.info is None:
            return "invalid"
        if not self.alive:
            if self.process == "stopped":
                return "stopped"
            return "no answer" if self.process is not None else "stale"
        if not self.responsive:
            return "no reply"
        return "alive"

    def as_json(self, now: float | None = None) -> dict[str, Any]:
        """A JSON-ready dict, for `nbtui --list --json`."""
        now = time.time() if now is None else now
        return {
            "path": str(self.path),
            "file": self.path.name,
            "kernel_name": self.kernel_name,
            "language": self.language or None,
            "implementation": self.implementation or None,
            "state": self.state,
            "alive": self.alive,
            "stale": self.stale,
            "responsive": self.responsive,
            "process_state": self.process,
            "execution_state": self.execution_state,
            "pid": self.pid,
            "hostname": self.hostname,
            "memory_bytes": self.memory,
            "cpu_percent": self.cpu,
            "modified": datetime.fromtimestamp(self.mtime, timezone.utc).isoformat(),
            "age_seconds": round(max(0.0, now - self.mtime), 1),
            "ip": self.info.ip if self.info is not None else None,
            "error": self.error,
        }


def file_mtime(path: Path) -> float:
    """When `path` was last written (epoch seconds), 0.0 when it cannot be read."""
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def unprobed_entry(path: Path) -> KernelEntry:
    """The entry for `path` before any probe: its connection info, or why it has none."""
    mtime = file_mtime(path)
    try:
        info = load_connection_file(path)
    except NbtuiError as error:
        return KernelEntry(path=path, mtime=mtime, error=str(error))
    return KernelEntry(path=path, mtime=mtime, info=info)
