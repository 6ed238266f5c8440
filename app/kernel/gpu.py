"""What the NVIDIA GPUs do, and how much of their memory the kernel holds.

Through NVML with NVIDIA's own bindings (`nvidia-ml-py`, module `pynvml`): pure Python,
it loads libnvidia-ml only in `nvmlInit`. Where there is no driver (most machines,
and every one without an NVIDIA card) that first call fails, the failure is remembered
and every later sample is the same one line at no cost: NVML is never asked again.

Per device: utilisation (% of the last sample period the GPU ran a kernel), memory used
and total, and the memory held by the kernel's own processes: NVML lists the processes
on each device with their memory; those whose pid is the kernel's or one of its
children's (psutil; a kernel's CUDA work may run in a worker process) are the kernel's.
NVML's pids are the host's: inside a container with its own pid namespace none of
them exists here, and then the kernel's share is "not visible", never 0.

`GpuSampler.sample` blocks (NVML calls take about a millisecond per device): run it
with `asyncio.to_thread` at the usage pace. The pane's lines are worded in
`nbtui.app.present`; `python -m nbtui.app.gpu_check [PID]` prints them, on a GPU box or here.
"""

from __future__ import annotations

import contextlib
import importlib
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import psutil

__all__ = [
    "NO_DRIVER",
    "REMOTE",
    "GpuDevice",
    "GpuSampler",
    "GpuSnapshot",
    "kernel_pids",
]

NO_DRIVER = "no NVIDIA GPU: the driver is not loaded"
REMOTE = "GPU: the kernel is remote"

# pynvml's NVML_ERROR_* values (nvml.h): fixed by the C API.
_LIBRARY_NOT_FOUND = 12
_DRIVER_NOT_LOADED = 9
_NO_PERMISSION = 4


@dataclass(frozen=True)
class GpuDevice:
    """One NVIDIA device at one moment. Every figure may be missing."""

    index: int
    name: str
    utilisation: int | None = None
    """% of the last sample period in which the GPU was running work."""
    memory_used: int | None = None
    """Bytes in use on the device, by anyone."""
    memory_total: int | None = None
    kernel_memory: int | None = None
    """Bytes the kernel's processes hold on this device; None: not visible (another pid
    namespace, or the driver does not tell per process)."""


@dataclass(frozen=True)
class GpuSnapshot:
    """What the GPU part of the resource pane shows."""

    at: float
    """`time.monotonic()` of the sample."""
    devices: tuple[GpuDevice, ...] = ()
    note: str = ""
    """Why there are no devices, in one line (`NO_DRIVER`, `REMOTE`, ...), else ""."""

    @property
    def kernel_memory(self) -> int | None:
        """Bytes the kernel holds on all devices together; None if not visible on any."""
        held = [device.kernel_memory for device in self.devices if device.kernel_memory is not None]
        return sum(held) if held else None


def kernel_pids(pid: int) -> set[int]:
    """The kernel's pid and its children's (recursively); just `pid` if psutil cannot
    look (it is gone, or another user's)."""
    pids = {pid}
    with contextlib.suppress(psutil.Error):
        pids.update(child.pid for child in psutil.Process(pid).children(recursive=True))
    return pids


def _error_note(error: BaseException) -> str:
    value = getattr(error, "value", None)
    if value in (_LIBRARY_NOT_FOUND, _DRIVER_NOT_LOADED):
        return NO_DRIVER
    if value == _NO_PERMISSION:
        return "no NVIDIA GPU: no permission to use the driver"
    text = " ".join(str(error).split()) or type(error).__name__
    return f"no NVIDIA GPU: {text}"


def _text(value: object) -> str:
    if isinstance(value, bytes):  # older bindings answer bytes
        return value.decode("utf-8", "replace")
    return str(value)


class GpuSampler:
    """Samples every NVIDIA device; NVML is initialised once, on the first sample.

    Args:
        nvml: The NVML bindings; the `pynvml` module by default (tests pass a fake with
            its functions and recorded answers).
        pid_exists: Whether a pid exists here (tests); psutil's by default.
    """

    def __init__(self, nvml: Any = None, *, pid_exists: Any = None) -> None:
        self._nvml = nvml
        self._pid_exists = pid_exists if pid_exists is not None else psutil.pid_exists
        self._lock = threading.Lock()
        self._ready = False
        self.failure: str | None = None
        """Why NVML is unusable, once that is known: no call is made again."""

    def _init(self) -> bool:
        if self._ready:
            return True
        if self.failure is not None:
            return False
        if self._nvml is None:
            try:
                self._nvml = importlib.import_module("pynvml")
            except ImportError:
                self.failure = "no NVIDIA GPU: nvidia-ml-py is not installed"
                return False
        try:
            self._nvml.nvmlInit()
        except Exception as error:  # noqa: BLE001 - NVMLError and a missing library alike
            self.failure = _error_note(error)
            return False
        self._ready = True
        return True

    def sample(self, pid: int | None = None, *, local: bool = True) -> GpuSnapshot:
        """One reading of every device, blocking: run it in a thread.

        Args:
            pid: The local kernel's process (the usage snapshot's `pid`); None: the
                kernel's share is not looked for.
            local: False for a remote kernel: this machine's GPUs are not its own, and
                nothing is asked of NVML.
        """
        if not local:
            return GpuSnapshot(at=time.monotonic(), note=REMOTE)
        return self.sample_many([pid])[pid]

    def sample_many(self, pids: Iterable[int | None]) -> dict[int | None, GpuSnapshot]:
        """One reading of every device, with the share of each of several local kernels
        (`--list`): NVML is asked once for all of them. Blocking.

        Args:
            pids: The kernels' processes (None: a kernel whose pid is unknown).
        """
        wanted = list(dict.fromkeys(pids))
        now = time.monotonic()
        with self._lock:
            if not self._init():
                note = self.failure or NO_DRIVER
                return {pid: GpuSnapshot(at=now, note=note) for pid in wanted}
            try:
                rows = self._read()
            except Exception as error:  # noqa: BLE001 - a driver that fails now: one line
                note = _error_note(error)
                return {pid: GpuSnapshot(at=now, note=note) for pid in wanted}
        if not rows:
            note = "no NVIDIA GPU: the driver sees no device"
            return {pid: GpuSnapshot(at=now, note=note) for pid in wanted}
        result: dict[int | None, GpuSnapshot] = {}
        for pid in wanted:
            ours = kernel_pids(pid) if pid is not None else set()
            devices = tuple(
                replace(
                    device,
                    kernel_memory=self._held(processes, ours) if pid is not None else None,
                )
                for device, processes in rows
            )
            result[pid] = GpuSnapshot(at=now, devices=devices)
        return result

    def _read(self) -> list[tuple[GpuDevice, list[Any]]]:
        """Every device's figures, with the processes NVML lists on it."""
        nvml = self._nvml
        rows = []
        for index in range(int(nvml.nvmlDeviceGetCount())):
            handle = nvml.nvmlDeviceGetHandleByIndex(index)
            name = _text(self._ask(nvml.nvmlDeviceGetName, handle) or "")
            rates = self._ask(nvml.nvmlDeviceGetUtilizationRates, handle)
            memory = self._ask(nvml.nvmlDeviceGetMemoryInfo, handle)
            processes = list(self._ask(nvml.nvmlDeviceGetComputeRunningProcesses, handle) or [])
            processes += list(self._ask(nvml.nvmlDeviceGetGraphicsRunningProcesses, handle) or [])
            device = GpuDevice(
                index=index,
                name=name,
                utilisation=int(rates.gpu) if rates is not None else None,
                memory_used=int(memory.used) if memory is not None else None,
                memory_total=int(memory.total) if memory is not None else None,
            )
            rows.append((device, processes))
        return rows

    def _ask(self, call: Any, handle: Any) -> Any:
        """One per-device query; None where the device does not support it."""
        try:
            return call(handle)
        except Exception as error:  # NVML_ERROR_NOT_SUPPORTED and kin carry a code
            if getattr(error, "value", None) is None:
                raise
            return None

    def _held(self, processes: Sequence[Any], ours: set[int]) -> int | None:
        """Bytes the kernel's processes hold; None when that cannot be seen."""
        held = 0
        seen: set[int] = set()
        for process in processes:
            pid = int(process.pid)
            if pid in seen:
                continue  # a process both computing and drawing is listed twice
            seen.add(pid)
            if pid in ours:
                used = process.usedGpuMemory
                if used is None:
                    return None  # the driver does not tell per process (WDDM, MIG)
                held += int(used)
        if held == 0 and seen and not any(self._pid_exists(pid) for pid in seen):
            return None  # NVML's pids are another pid namespace's: ours cannot be told
        return held

    def close(self) -> None:
        """Shut NVML down if it was initialised."""
        with self._lock:
            if self._ready:
                with contextlib.suppress(Exception):
                    self._nvml.nvmlShutdown()
                self._ready = False
