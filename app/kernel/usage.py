"""How much CPU and memory the kernel uses, and how much the host has left.

ipykernel (>= 6.7) answers `usage_request` on the control channel. It is not in the
messaging spec and its fields grew until 6.14; without psutil in the kernel's
environment it answers only hostname, pid and cpu_count; xeus-python never answers.
So every field is optional, a request times out after about a second, and a local
kernel that does not report is measured here with psutil instead: the process that
listens on the kernel's shell port.

For a local kernel each reading also carries what only this machine can tell, read in a
thread: its real memory limit (`limits.memory_limit`: its cgroup's, else the host's),
against which the memory share is counted, and its GPUs (`gpu.GpuSampler`, NVML). A
remote kernel's GPUs are not this machine's: its reading says so and nothing is asked.

The probes are control requests: the transcript model tracks busy per execute request
and ignores their busy/idle, and nothing of them reaches the transcript.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Literal, Protocol

import psutil

from nbtui.app.kernel.gpu import REMOTE, GpuSampler, GpuSnapshot
from nbtui.app.kernel.limits import MemoryLimit, memory_limit
from nbtui.app.kernel.messages import Msg
from nbtui.app.kernel.pacing import PacedPoller, sleep_paced
from nbtui.app.kernel.sanitize import sanitize_line
from nbtui.app.kernel.transports import TransportClosed

if TYPE_CHECKING:
    from nbtui.app.kernel.target import KernelTarget

__all__ = [
    "NOT_REPORTED",
    "HostMemory",
    "UsagePoller",
    "UsageSnapshot",
    "is_local",
    "memory_share",
    "parse_usage",
]

NOT_REPORTED = "not reported by this kernel"

UsageSource = Literal["kernel", "psutil", "none"]


class UsageClient(Protocol):
    """What the poller needs of a client; `KernelClient` has it."""

    info: KernelTarget
    """Where the kernel is: a local one (`is_local`) is measured with psutil too."""

    async def request(
        self, channel: str, msg_type: str, content: dict[str, Any], timeout: float
    ) -> Msg | None:
        """A request and its reply, or None after `timeout`."""


@dataclass(frozen=True)
class HostMemory:
    """psutil's `virtual_memory()` fields, in bytes (percent in %)."""

    total: int | None = None
    available: int | None = None
    used: int | None = None
    percent: float | None = None


@dataclass(frozen=True)
class UsageSnapshot:
    """One reading of the kernel's resource use. Every figure may be missing."""

    source: UsageSource
    """Who measured: the kernel's `usage_reply`, psutil here, or nobody."""
    at: float
    """`time.monotonic()` of the reading."""
    hostname: str | None = None
    pid: int | None = None
    kernel_cpu: float | None = None
    """% of one CPU (may exceed 100 on several cores)."""
    kernel_memory: int | None = None
    """Bytes (PSS from the kernel where available, RSS from psutil)."""
    host_cpu_percent: float | None = None
    cpu_count: int | None = None
    host_memory: HostMemory | None = None
    cpu_history: tuple[float, ...] = ()
    """Recent kernel_cpu readings, oldest first."""
    memory_history: tuple[int, ...] = ()
    """Recent kernel_memory readings, oldest first."""
    memory_share: float | None = None
    """How much of what it could have the kernel holds: kernel_memory / its cgroup's
    limit where one binds (`memory_limit`), else kernel_memory / (kernel_memory + host
    available)."""
    memory_warning: bool = False
    """memory_share passed the poller's threshold: the out-of-memory killer is near."""
    memory_limit: MemoryLimit | None = None
    """A local kernel's real limit (its cgroup's, else the host's memory); None for a
    remote kernel, whose cgroup cannot be read from here."""
    gpu: GpuSnapshot | None = None
    """The GPUs of a local kernel's host and what the kernel holds on them; for a remote
    kernel a snapshot that only says so; None before the first reading."""
    note: str = ""
    """Why figures are missing, e.g. "not reported by this kernel"."""


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def _integer(value: object) -> int | None:
    number = _number(value)
    return None if number is None else int(number)


def parse_usage(content: Mapping[str, Any], at: float | None = None) -> UsageSnapshot:
    """The fields of a `usage_reply` that are present and well formed.

    Args:
        content: The reply's content.
        at: The reading's time; now by default.
    """
    memory = content.get("host_virtual_memory")
    host = None
    if isinstance(memory, Mapping):
        host = HostMemory(
            total=_integer(memory.get("total")),
            available=_integer(memory.get("available")),
            used=_integer(memory.get("used")),
            percent=_number(memory.get("percent")),
        )
    hostname = content.get("hostname")
    return UsageSnapshot(
        source="kernel",
        at=time.monotonic() if at is None else at,
        # Shown in the resources pane, and code in the kernel can change what it answers.
        hostname=sanitize_line(hostname) if isinstance(hostname, str) else None,
        pid=_integer(content.get("pid")),
        kernel_cpu=_number(content.get("kernel_cpu")),
        kernel_memory=_integer(content.get("kernel_memory")),
        host_cpu_percent=_number(content.get("host_cpu_percent")),
        cpu_count=_integer(content.get("cpu_count")),
        host_memory=host,
    )


def memory_share(
    kernel_memory: int | None, host: HostMemory | None, limit: MemoryLimit | None = None
) -> float | None:
    """kernel / its cgroup's limit where one binds, else kernel / (kernel + host
    available); None when a figure is missing.

    Without a cgroup limit the denominator is what the kernel could hold before the host
    runs out: what it holds plus what is still free for anyone. With one, the cgroup's
    limit is what the out-of-memory killer goes by, however much the host has free.
    """
    if kernel_memory is None:
        return None
    if limit is not None and limit.source == "cgroup" and limit.limit:
        return kernel_memory / limit.limit
    if host is None or host.available is None:
        return None
    whole = kernel_memory + host.available
    return kernel_memory / whole if whole > 0 else None


def is_local(target: KernelTarget) -> bool:
    """Whether the kernel runs on this machine: psutil can see its process, and a
    heartbeat need not wait for a network. One rule (`KernelTarget.is_local`) for the
    resource pane and for discovery (`--list`, the picker, prune)."""
    return target.is_local


class _LocalProbe:
    """psutil readings of a local kernel process; blocking, run in a thread."""

    def __init__(self, port: int | None) -> None:
        self.port = port
        """The TCP port the kernel listens on (`KernelTarget.pid_port`); None: the pid
        the kernel reports is all there is to go by."""
        self.process: psutil.Process | None = None
        self._primed_host = False
        self._primed_pid: int | None = None

    def _find(self, pid: int | None) -> psutil.Process | None:
        if pid is not None:
            with contextlib.suppress(psutil.Error):
                return psutil.Process(pid)
        if self.port is None:
            return None
        with contextlib.suppress(psutil.Error, OSError):
            for conn in psutil.net_connections(kind="tcp"):
                if (
                    conn.status == psutil.CONN_LISTEN
                    and conn.pid is not None
                    and conn.laddr
                    and conn.laddr.port == self.port
                ):
                    return psutil.Process(conn.pid)
        return None

    def measure(self, pid: int | None = None) -> UsageSnapshot:
        process = self.process
        if process is None or not process.is_running() or (pid is not None and process.pid != pid):
            process = self.process = self._find(pid)
        cpu: float | None = None
        rss: int | None = None
        if process is not None:
            try:
                with process.oneshot():
                    rss = int(process.memory_info().rss)
                    value = float(process.cpu_percent(None))
                    # psutil's first reading has nothing to compare with: it says 0.0.
                    cpu = value if self._primed_pid == process.pid else None
                    self._primed_pid = process.pid
            except psutil.Error:
                self.process = process = None
        vm = psutil.virtual_memory()
        host_cpu = float(psutil.cpu_percent(None))
        if not self._primed_host:
            self._primed_host = True
            host_cpu_value: float | None = None
        else:
            host_cpu_value = host_cpu
        return UsageSnapshot(
            source="psutil",
            at=time.monotonic(),
            hostname=socket.gethostname(),
            pid=process.pid if process is not None else pid,
            kernel_cpu=cpu,
            kernel_memory=rss,
            host_cpu_percent=host_cpu_value,
            cpu_count=psutil.cpu_count(),
            host_memory=HostMemory(
                total=int(vm.total),
                available=int(vm.available),
                used=int(vm.used),
                percent=float(vm.percent),
            ),
            note="" if process is not None else "kernel process not found",
        )


class UsagePoller(PacedPoller):
    """Asks the kernel for its resource use every `interval` seconds.

    Args:
        client: The kernel client.
        interval: Seconds between polls (JupyterLab uses 5 s).
        on_update: Called with every new snapshot, in the event loop.
        timeout: How long to wait for a `usage_reply`.
        memory_threshold: Warn when kernel_memory passes this share of
            kernel_memory + host available memory.
        history: How many readings the sparkline histories keep.
        quiet_interval: Seconds between polls while no cell runs (`busy` is False); None:
            always `interval`. An idle kernel's figures barely move, and every poll costs
            the client a millisecond or two of CPU (bench/).
    """

    def __init__(
        self,
        client: UsageClient,
        interval: float = 5.0,
        on_update: Callable[[UsageSnapshot], None] | None = None,
        *,
        timeout: float = 1.0,
        memory_threshold: float = 0.8,
        history: int = 60,
        quiet_interval: float | None = None,
    ) -> None:
        super().__init__()
        self.client = client
        self.interval = interval
        self.on_update = on_update
        self.timeout = timeout
        self.memory_threshold = memory_threshold
        self.quiet_interval = quiet_interval
        self.local = is_local(client.info)
        self._cpu: deque[float] = deque(maxlen=history)
        self._memory: deque[int] = deque(maxlen=history)
        self._probe: _LocalProbe | None = None
        self.gpu_sampler = GpuSampler()
        """NVML, initialised at the first local reading (and never again without a driver)."""
        self.snapshot: UsageSnapshot | None = None
        """The latest reading, None before the first poll."""

    # -- life cycle ------------------------------------------------------------------------

    TASK_NAME = "nbtui-usage"

    def _busy_changed(self, busy: bool) -> None:
        if busy and self.quiet_interval is not None:
            self._wake.set()  # a cell started: memory may climb, poll at the full pace

    @property
    def pace(self) -> float:
        """Seconds from the end of one poll to the next."""
        if self.quiet_interval is None or self._busy:
            return self.interval
        return self.quiet_interval

    async def _run(self) -> None:
        while not self._stopping:
            try:
                await self.poll()
            except TransportClosed:
                return  # the client was closed under us
            # The next poll is scheduled after this one ends: a slow kernel slows the
            # poll instead of piling requests up.
            await sleep_paced(self._wake, lambda: self.pace)

    # -- one poll --------------------------------------------------------------------------

    async def poll(self) -> UsageSnapshot:
        """One reading: the kernel's answer, else psutil for a local kernel."""
        reply = await self.client.request("control", "usage_request", {}, self.timeout)
        reading: UsageSnapshot
        if reply is not None:
            reading = parse_usage(reply.content)
            if self.local and reading.kernel_memory is None:
                # ipykernel without psutil tells only hostname, pid and cpu_count.
                measured = await self._measure(reading.pid)
                reading = _merge(reading, measured)
        elif self.local:
            reading = await self._measure(None)
            if reading.kernel_memory is None and reading.note:
                reading = _with(reading, note=f"{NOT_REPORTED}; {reading.note}")
        else:
            reading = UsageSnapshot(source="none", at=time.monotonic(), note=NOT_REPORTED)
        if self.local:
            limit, gpu = await asyncio.to_thread(self._host_figures, reading.pid)
            reading = _with(reading, memory_limit=limit, gpu=gpu)
        else:
            reading = _with(reading, gpu=GpuSnapshot(at=reading.at, note=REMOTE))
        return self._record(reading)

    def _host_figures(self, pid: int | None) -> tuple[MemoryLimit, GpuSnapshot]:
        """A local kernel's memory limit (the host's while its process is unknown) and
        GPUs: file reads and NVML calls, blocking."""
        return memory_limit(pid), self.gpu_sampler.sample(pid)

    async def _measure(self, pid: int | None) -> UsageSnapshot:
        if self._probe is None:
            self._probe = _LocalProbe(self.client.info.pid_port)
        return await asyncio.to_thread(self._probe.measure, pid)

    def _record(self, reading: UsageSnapshot) -> UsageSnapshot:
        if reading.kernel_cpu is not None:
            self._cpu.append(reading.kernel_cpu)
        if reading.kernel_memory is not None:
            self._memory.append(reading.kernel_memory)
        share = memory_share(reading.kernel_memory, reading.host_memory, reading.memory_limit)
        snapshot = _with(
            reading,
            cpu_history=tuple(self._cpu),
            memory_history=tuple(self._memory),
            memory_share=share,
            memory_warning=share is not None and share > self.memory_threshold,
        )
        self.snapshot = snapshot
        if self.on_update is not None:
            self.on_update(snapshot)
        return snapshot


def _with(snapshot: UsageSnapshot, **changes: Any) -> UsageSnapshot:
    return replace(snapshot, **changes)


def _merge(reported: UsageSnapshot, measured: UsageSnapshot) -> UsageSnapshot:
    """The kernel's figures, completed by psutil's where the kernel said nothing."""
    return _with(
        reported,
        source="kernel" if measured.kernel_memory is None else "psutil",
        pid=reported.pid if reported.pid is not None else measured.pid,
        kernel_cpu=reported.kernel_cpu if reported.kernel_cpu is not None else measured.kernel_cpu,
        kernel_memory=measured.kernel_memory,
        host_cpu_percent=reported.host_cpu_percent
        if reported.host_cpu_percent is not None
        else measured.host_cpu_percent,
        host_memory=reported.host_memory or measured.host_memory,
    )
