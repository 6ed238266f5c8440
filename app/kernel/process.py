"""The kernel's process, for a kernel on this machine: running, stopped, or gone.

The evidence that tells a stopped or hung kernel from a dead one (`LivenessMonitor`
takes a `ProcessWatch`). Only a kernel on this machine reached over TCP has a process to
look at: the one listening on its shell port (`KernelTarget.pid_port`).
"""

from __future__ import annotations

import contextlib
import socket
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Protocol

import psutil

if TYPE_CHECKING:
    from nbtui.app.kernel.target import KernelTarget

__all__ = ["LocalProcess", "ProcessCheck", "ProcessState", "ProcessWatch", "local_process"]

ProcessState = Literal["running", "stopped", "gone", "unknown"]
"""What the operating system says of a process, in one word."""


@dataclass(frozen=True)
class ProcessCheck:
    """What the operating system says about the kernel's process."""

    state: ProcessState
    """running, stopped (SIGSTOP, ctrl+z, a debugger), gone, or unknown (cannot tell)."""
    pid: int | None = None
    detail: str = ""
    """The evidence in a few words ("process 4242 is gone", ...)."""


class ProcessWatch(Protocol):
    """Looks at the kernel's process; `LocalProcess` for a kernel on this machine."""

    def check(self) -> ProcessCheck:
        """Blocking (psutil): the monitor runs it in a thread."""
        ...

    def forget(self) -> None:
        """The kernel restarted: the next check looks for its new process."""
        ...


_FOREIGN_LISTENERS = ("ssh", "docker-proxy", "rootlessport", "kubectl")
"""Processes that listen on a kernel's port for a kernel elsewhere: their life says
nothing about the kernel's."""


class LocalProcess:
    """The process of a kernel on this machine: the one listening on its shell port
    (the pid is in no connection file, PROTOCOL.md), or the pid its `usage_reply` gave.

    Args:
        port: The kernel's shell port.
    """

    def __init__(self, port: int) -> None:
        self.port = port
        self._process: psutil.Process | None = None
        self._hint: int | None = None

    def learn(self, pid: int | None, hostname: str | None) -> None:
        """A pid the kernel reported (`usage_reply`): used when it is this host's."""
        if pid is not None and hostname == socket.gethostname():
            self._hint = pid

    def forget(self) -> None:
        """The kernel restarted: the next check looks for its new process."""
        self._process = None
        self._hint = None

    def _listener(self) -> ProcessCheck | psutil.Process:
        try:
            connections = psutil.net_connections(kind="tcp")
        except (psutil.Error, OSError):
            return ProcessCheck("unknown")  # macOS without root, for one
        listening = [
            conn
            for conn in connections
            if conn.status == psutil.CONN_LISTEN and conn.laddr and conn.laddr.port == self.port
        ]
        if not listening:
            # Every listening socket of every user is in that list (Linux's /proc/net):
            # an empty one means no process holds the port any more.
            return ProcessCheck("gone", detail=f"nothing listens on its shell port {self.port}")
        pid = listening[0].pid
        if pid is None:
            return ProcessCheck("unknown")  # another user's process
        try:
            return psutil.Process(pid)
        except psutil.NoSuchProcess:
            return ProcessCheck("gone", pid, f"process {pid} is gone")
        except psutil.Error:
            return ProcessCheck("unknown", pid)

    def _find(self) -> ProcessCheck | psutil.Process:
        if self._hint is not None:
            with contextlib.suppress(psutil.Error):
                return psutil.Process(self._hint)
        return self._listener()

    def check(self) -> ProcessCheck:
        """What the process is doing now; "gone" once the process first seen has ended."""
        process = self._process
        if process is None:
            found = self._find()
            if isinstance(found, ProcessCheck):
                return found
            with contextlib.suppress(psutil.Error):
                if found.name().startswith(_FOREIGN_LISTENERS):
                    return ProcessCheck("unknown", found.pid)
            self._process = process = found
        pid = process.pid
        try:
            # is_running() compares the start time too: a reused pid is not our kernel.
            if not process.is_running():
                return ProcessCheck("gone", pid, f"process {pid} is gone")
            status = process.status()
        except psutil.NoSuchProcess:
            return ProcessCheck("gone", pid, f"process {pid} is gone")
        except psutil.Error:
            return ProcessCheck("unknown", pid)
        if status in (psutil.STATUS_ZOMBIE, psutil.STATUS_DEAD):
            return ProcessCheck("gone", pid, f"process {pid} has exited")
        if status == psutil.STATUS_STOPPED:
            return ProcessCheck(
                "stopped", pid, f"process {pid} is stopped (SIGSTOP): kill -CONT {pid} resumes it"
            )
        if status == psutil.STATUS_TRACING_STOP:
            return ProcessCheck("stopped", pid, f"process {pid} is stopped by a debugger")
        return ProcessCheck("running", pid)


def local_process(info: KernelTarget) -> LocalProcess | None:
    """A `LocalProcess` for a kernel on this machine reached over TCP (its `pid_port`);
    None otherwise (a server's kernel, a tunnel, another host: no process here to look at)."""
    port = info.pid_port
    if port is None:
        return None
    if sys.platform == "win32":
        return None  # no SIGSTOP, and a different way to list listeners
    return LocalProcess(port)
