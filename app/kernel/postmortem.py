"""Why a kernel died, in one line, from what can be known and nothing more.

Evidence, strongest first:

- The out-of-memory killer: the kernel's memory cgroup counts its kills (`oom_kill` in
  v1 `memory.oom_control`, v2 `memory.events`); a count higher than when the `Watch`
  began, or a kernel log record naming the kernel's pid ("Killed process 4242", read
  from /dev/kmsg or `dmesg`, both best effort: they may need root), says it was.
- For a kernel nbtui started: its exit status from the process manager: a signal
  (SIGKILL, SIGSEGV, ...) or an exit status with the last lines of its log.
- Otherwise the last figures seen (memory, CPU, what was running and whose) and
  "cause unknown": a guess is never presented as fact.

A `Watch` is made while the kernel lives, because the cgroup's path and its kill count
can only be read while the pid exists; `cause()` is asked after the death. Both block on
file reads (and `cause` possibly on `dmesg`): run them in a thread from the event loop.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import signal
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nbtui.app.kernel.limits import CgroupRef, MemoryLimit, memory_cgroup
from nbtui.app.kernel.limits import memory_limit as read_memory_limit
from nbtui.app.kernel.sanitize import sanitize_line
from nbtui.app.kernel.units import format_bytes

__all__ = [
    "REMOTE_UNKNOWN",
    "UNKNOWN",
    "KernelLog",
    "LastSeen",
    "Watch",
    "describe_exit",
    "oom_victims",
    "process_exit_status",
]

UNKNOWN = "cause unknown"
REMOTE_UNKNOWN = "the kernel is remote: cause unknown"

_KILLED = re.compile(r"Killed process (\d+)\b|oom-kill:.*\bpid=(\d+)\b")
_DMESG_TIME = re.compile(r"^\[\s*(\d+\.\d+)\]")
_SGR = re.compile(r"\x1b\[[0-9;:]*m")


def _plain(text: str) -> str:
    """One line of text with no escape at all: `sanitize_line` keeps colours, a reason
    shown in a notice has none."""
    return _SGR.sub("", sanitize_line(text))


def oom_victims(lines: Iterable[str]) -> set[int]:
    """The pids the out-of-memory killer names in these kernel log lines
    ("Out of memory: Killed process 4242 (python)", "oom-kill:...,pid=4242,...")."""
    pids: set[int] = set()
    for line in lines:
        for match in _KILLED.finditer(line):
            pids.add(int(match.group(1) or match.group(2)))
    return pids


class KernelLog:
    """The operating system's kernel log, from a mark onwards (best effort).

    /dev/kmsg records carry a sequence number, so a mark is exact; `dmesg` lines carry a
    time since boot. Either may be refused (`kernel.dmesg_restrict`, no root): then
    there is nothing, never an error.

    Args:
        kmsg: The /dev/kmsg device (tests pass a file).
        dmesg: The command that prints the log, tried when kmsg cannot be read.
    """

    def __init__(
        self, kmsg: Path = Path("/dev/kmsg"), dmesg: tuple[str, ...] | None = ("dmesg",)
    ) -> None:
        self.kmsg = kmsg
        self.dmesg = dmesg

    def _kmsg(self) -> list[tuple[float, str]] | None:
        try:
            fd = os.open(self.kmsg, os.O_RDONLY | os.O_NONBLOCK)
        except OSError:
            return None
        records: list[tuple[float, str]] = []
        pending = ""
        try:
            for _ in range(100_000):  # the ring buffer is finite; this is a guard
                try:
                    data = os.read(fd, 8192)
                except BlockingIOError:
                    break
                except OSError as error:
                    if error.errno == errno.EPIPE:
                        continue  # records were overwritten while reading: go on
                    break
                if not data:
                    break
                # The device gives one record a read; a plain file (tests) gives chunks.
                *lines, pending = (pending + data.decode("utf-8", "replace")).split("\n")
                for line in lines:
                    head, semicolon, message = line.partition(";")
                    fields = head.split(",")
                    if line.startswith(" ") or not semicolon or len(fields) < 2:
                        continue  # a record's continuation (" SUBSYSTEM=...")
                    with contextlib.suppress(ValueError):
                        records.append((float(fields[1]), message))
        finally:
            os.close(fd)
        return records

    def _dmesg(self) -> list[tuple[float, str]] | None:
        if not self.dmesg:
            return None
        try:
            done = subprocess.run(
                self.dmesg, capture_output=True, text=True, errors="replace", timeout=5, check=False
            )
        except (OSError, subprocess.SubprocessError):
            return None
        if done.returncode != 0:
            return None
        records: list[tuple[float, str]] = []
        for line in done.stdout.splitlines():
            match = _DMESG_TIME.match(line)
            if match:
                records.append((float(match.group(1)), line[match.end() :].strip()))
        return records

    def read(self) -> tuple[str, list[tuple[float, str]]]:
        """("kmsg" | "dmesg" | "", records as (sequence or time, message))."""
        records = self._kmsg()
        if records:
            return "kmsg", records
        records = self._dmesg()
        if records:
            return "dmesg", records
        return "", []

    def mark(self) -> tuple[str, float]:
        """Where the log ends now."""
        source, records = self.read()
        return source, max((key for key, _ in records), default=-1.0)

    def since(self, mark: tuple[str, float]) -> list[str]:
        """Messages logged after `mark` (all of them if the mark came from another source)."""
        source, records = self.read()
        after = mark[1] if source == mark[0] else -1.0
        return [message for key, message in records if key > after]


@dataclass(frozen=True)
class LastSeen:
    """The last figures seen of a kernel, for when nothing else is known."""

    memory: int | None = None
    """Bytes the kernel held (the usage snapshot's `kernel_memory`)."""
    cpu: float | None = None
    """% of one CPU."""
    gpu_memory: int | None = None
    """Bytes the kernel held on its GPUs (all together); None: none seen, or no GPU."""
    running: str | None = None
    """What was running: the first line of the cell; "" idle; None not known."""
    owner: str | None = None
    """Whose cell it was."""

    def describe(self) -> str:
        """ "last seen holding 1.2 GiB, 98 % CPU, 2.0 GiB of GPU memory, running `x = f()`
        (alice)", or ""."""
        parts = []
        if self.memory is not None:
            parts.append(f"holding {format_bytes(self.memory)}")
        if self.cpu is not None:
            parts.append(f"{self.cpu:.0f} % CPU")
        if self.gpu_memory:
            parts.append(f"{format_bytes(self.gpu_memory)} of GPU memory")
        if self.running:
            code = _plain(self.running.strip().split("\n", 1)[0])
            code = code if len(code) <= 40 else code[:39] + "…"
            whose = f" ({_plain(self.owner)})" if self.owner else ""
            parts.append(f"running `{code}`{whose}")
        elif self.running is not None:
            parts.append("idle")
        return f"last seen {', '.join(parts)}" if parts else ""


def describe_exit(status: int) -> str:
    """A process's exit status as `subprocess` reports it (negative: killed by that
    signal): "killed by SIGKILL", "killed by SIGSEGV (segmentation fault)", "exited
    with status 1"."""
    if status < 0:
        number = -status
        try:
            name = signal.Signals(number).name
        except ValueError:
            return f"killed by signal {number}"
        if number == signal.SIGKILL:
            return f"killed by {name}"
        what = signal.strsignal(number)
        return f"killed by {name} ({what.lower()})" if what else f"killed by {name}"
    if status == 0:
        return "exited (status 0)"
    return f"exited with status {status}"


def _tail(log_path: Path | None, lines: int = 3, width: int = 160) -> str:
    """The last non-empty lines of a log, joined on one line: what the kernel said last."""
    if log_path is None:
        return ""
    try:
        with log_path.open("rb") as log:
            log.seek(0, os.SEEK_END)
            log.seek(max(0, log.tell() - 16384))
            text = log.read().decode("utf-8", "replace")
    except OSError:
        return ""
    kept = [_plain(line).strip() for line in text.splitlines()]
    tail = " | ".join([line for line in kept if line][-lines:])
    return tail if len(tail) <= width else "…" + tail[-(width - 1) :]


def process_exit_status(manager: Any) -> int | None:
    """The exit status of a kernel nbtui started, from its jupyter_client manager
    (`OwnKernel.manager`): negative for a signal, None while it runs or when unknown.

    Ask before `OwnKernel.shutdown()`, which forgets the process. The provisioner's own
    `poll()` says 0 when it has no process, which would read as a clean exit.
    """
    process = getattr(getattr(manager, "provisioner", None), "process", None)
    if process is None:
        return None
    status = process.poll()
    return status if isinstance(status, int) else None


class Watch:
    """Watches one kernel's life so that its death can be explained.

    Make it while the kernel lives (the pid must exist: its cgroup is read now, with the
    kill count to compare with later), feed it `observe()` at the usage pace, and ask
    `cause()` once it died.

    Args:
        pid: The kernel's process (the usage snapshot's `pid`, or the liveness
            `ProcessCheck`'s); None when unknown.
        local: The kernel runs on this machine (`usage.is_local`); a remote kernel's
            death can only be told with "cause unknown".
        log_path: A kernel nbtui started: its log file (`OwnKernel.log_path`), whose
            last lines explain an exit status.
        proc: Where procfs is (tests pass a fake tree).
        mountinfo: Where the mounts are listed; `proc`/self/mountinfo by default.
        kernel_log: The OS kernel log; a `KernelLog` by default (tests pass their own).
        read_kernel_log: False: the kernel log is not read at all.
        host_total: The host's memory (tests); psutil's by default.
    """

    def __init__(
        self,
        pid: int | None,
        *,
        local: bool = True,
        log_path: Path | None = None,
        proc: Path = Path("/proc"),
        mountinfo: Path | None = None,
        kernel_log: KernelLog | None = None,
        read_kernel_log: bool = True,
        host_total: int | None = None,
    ) -> None:
        self.pid = pid
        self.local = local
        self.log_path = log_path
        self.last = LastSeen()
        """The figures `observe` was given last."""
        self.cgroup: CgroupRef | None = None
        self.limit: MemoryLimit | None = None
        self.baseline_kills: int | None = None
        self._log = kernel_log or (KernelLog() if read_kernel_log else None)
        self._mark: tuple[str, float] | None = None
        if local and pid is not None:
            self.cgroup = memory_cgroup(pid, proc=proc, mountinfo=mountinfo)
            self.baseline_kills = self.cgroup.oom_kills() if self.cgroup else None
            self.limit = read_memory_limit(
                pid, proc=proc, mountinfo=mountinfo, host_total=host_total
            )
            if self._log is not None:
                self._mark = self._log.mark()

    def observe(
        self,
        memory: int | None = None,
        cpu: float | None = None,
        running: str | None = None,
        owner: str | None = None,
        gpu_memory: int | None = None,
    ) -> None:
        """The latest figures (call it with every usage snapshot and cell change).

        A memory, CPU or GPU figure left None keeps the last one known; `running` and
        `owner` always replace: the cell running now, "" when the kernel is idle, None
        when that is not known.
        """
        self.last = LastSeen(
            memory=memory if memory is not None else self.last.memory,
            cpu=cpu if cpu is not None else self.last.cpu,
            gpu_memory=gpu_memory if gpu_memory is not None else self.last.gpu_memory,
            running=running,
            owner=owner if running else None,
        )

    def _oom_evidence(self) -> str | None:
        """How the out-of-memory killer is known to have killed the kernel, or None."""
        counted = False
        if self.cgroup is not None and self.baseline_kills is not None:
            now = self.cgroup.oom_kills()
            counted = now is not None and now > self.baseline_kills
        named = False
        if self._log is not None and self._mark is not None and self.pid is not None:
            named = self.pid in oom_victims(self._log.since(self._mark))
        if named:
            return "named in the kernel log"
        if counted:
            return f"its cgroup {self.cgroup.path if self.cgroup else ''} counted a kill"
        return None

    def cause(self, exit_status: int | None = None) -> str:
        """Why the kernel died, in one line.

        Args:
            exit_status: A kernel nbtui started: its process's exit status as
                `subprocess` gives it (`manager.provisioner.process.returncode`,
                negative for a signal); None when unknown.
        """
        seen = self.last.describe()
        if not self.local and exit_status is None:
            return f"{REMOTE_UNKNOWN} ({seen})" if seen else REMOTE_UNKNOWN
        # The out-of-memory killer sends SIGKILL: any other end rules it out.
        possible = exit_status is None or exit_status == -signal.SIGKILL
        evidence = self._oom_evidence() if possible else None
        if evidence is not None:
            limit = self.limit.describe() if self.limit is not None else "limit unknown"
            line = f"killed by the out-of-memory killer ({evidence}): {limit}"
            if self.last.memory is not None:
                line += f"; last seen holding {format_bytes(self.last.memory)}"
            return line
        if exit_status is not None:
            line = describe_exit(exit_status)
            if exit_status > 0:
                tail = _tail(self.log_path)
                if tail:
                    line = f"{line}: {tail}"
            return f"{line}; {seen}" if seen and exit_status < 0 else line
        return f"{UNKNOWN} ({seen})" if seen else UNKNOWN
