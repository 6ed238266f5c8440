"""The GPU sampler over NVML's call layer, with recorded device answers.

`FakeNvml` stands in for the `pynvml` module (the only fake of this kind allowed): its
answers are what nvidia-ml-py returns on an A100 box (`c_nvmlMemory_t`,
`c_nvmlUtilization_t`, `c_nvmlProcessInfo_t` carry these attributes).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import pytest

from nbtui.app.kernel.gpu import (
    NO_DRIVER,
    REMOTE,
    GpuDevice,
    GpuSampler,
    GpuSnapshot,
    kernel_pids,
)
from nbtui.app.present import gpu_column, gpu_lines, idle_holder_warning

GiB = 1 << 30


class FakeNvmlError(Exception):
    """pynvml.NVMLError: the error code is `value`."""

    def __init__(self, value: int) -> None:
        super().__init__(f"NVML error {value}")
        self.value = value


@dataclass
class FakeNvml:
    """The pynvml functions the sampler calls, answering from recorded data."""

    devices: list[dict[str, Any]] = field(default_factory=list)
    init_error: int | None = None
    calls: list[str] = field(default_factory=list)

    def nvmlInit(self) -> None:
        self.calls.append("init")
        if self.init_error is not None:
            raise FakeNvmlError(self.init_error)

    def nvmlShutdown(self) -> None:
        self.calls.append("shutdown")

    def nvmlDeviceGetCount(self) -> int:
        self.calls.append("count")
        return len(self.devices)

    def nvmlDeviceGetHandleByIndex(self, index: int) -> dict[str, Any]:
        return self.devices[index]

    def nvmlDeviceGetName(self, handle: dict[str, Any]) -> Any:
        return handle["name"]

    def nvmlDeviceGetUtilizationRates(self, handle: dict[str, Any]) -> Any:
        if handle.get("utilisation") is None:
            raise FakeNvmlError(3)  # NVML_ERROR_NOT_SUPPORTED
        return SimpleNamespace(gpu=handle["utilisation"], memory=0)

    def nvmlDeviceGetMemoryInfo(self, handle: dict[str, Any]) -> Any:
        return SimpleNamespace(
            total=handle["total"], used=handle["used"], free=handle["total"] - handle["used"]
        )

    def nvmlDeviceGetComputeRunningProcesses(self, handle: dict[str, Any]) -> list[Any]:
        return [SimpleNamespace(pid=pid, usedGpuMemory=used) for pid, used in handle["compute"]]

    def nvmlDeviceGetGraphicsRunningProcesses(self, handle: dict[str, Any]) -> list[Any]:
        return [SimpleNamespace(pid=pid, usedGpuMemory=used) for pid, used in handle["graphics"]]


def a100(
    compute: list[tuple[int, int | None]], graphics: list[tuple[int, int | None]] | None = None
) -> dict[str, Any]:
    return {
        "name": "NVIDIA A100-SXM4-80GB",
        "utilisation": 87,
        "total": 80 * GiB,
        "used": 30 * GiB,
        "compute": compute,
        "graphics": graphics or [],
    }


@pytest.fixture
def child() -> Iterator[subprocess.Popen[bytes]]:
    """A real child of this process: the kernel's worker holding GPU memory."""
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        yield process
    finally:
        process.kill()
        process.wait()


def test_the_kernel_and_its_children_hold_their_memory(child: subprocess.Popen[bytes]) -> None:
    kernel = os.getpid()
    assert child.pid in kernel_pids(kernel)
    other = os.getppid()
    nvml = FakeNvml(
        devices=[
            a100([(kernel, 8 * GiB), (child.pid, 3 * GiB), (other, 19 * GiB)]),
            # The same worker drawing as well as computing is listed twice, counted once.
            {**a100([(child.pid, GiB)], graphics=[(child.pid, GiB)]), "utilisation": None},
        ]
    )
    snapshot = GpuSampler(nvml).sample(kernel)
    first, second = snapshot.devices
    assert (first.utilisation, first.memory_used, first.memory_total) == (87, 30 * GiB, 80 * GiB)
    assert first.kernel_memory == 11 * GiB
    assert second.utilisation is None  # NVML_ERROR_NOT_SUPPORTED: that figure alone is missing
    assert second.kernel_memory == GiB
    assert snapshot.kernel_memory == 12 * GiB
    assert gpu_lines(snapshot) == [
        "GPU 0 NVIDIA A100-SXM4-80GB: 87 %, 30.0 GiB of 80.0 GiB, kernel 11.0 GiB",
        "GPU 1 NVIDIA A100-SXM4-80GB: ? %, 30.0 GiB of 80.0 GiB, kernel 1.0 GiB",
    ]
    assert gpu_column(snapshot) == "12.0 GiB"


def test_several_kernels_for_the_list_ask_nvml_once(child: subprocess.Popen[bytes]) -> None:
    # Two kernels: this process (with `child` as its worker) and one unrelated to it.
    other = os.getppid()
    nvml = FakeNvml(devices=[a100([(child.pid, 2 * GiB), (other, 5 * GiB)])])
    snapshots = GpuSampler(nvml).sample_many([os.getpid(), child.pid, None, child.pid])
    assert nvml.calls == ["init", "count"]
    assert {pid: gpu_column(snapshot) for pid, snapshot in snapshots.items()} == {
        os.getpid(): "2.0 GiB",
        child.pid: "2.0 GiB",
        None: "?",
    }


def test_a_kernel_holding_nothing_and_old_bindings_answering_bytes() -> None:
    nvml = FakeNvml(devices=[{**a100([(os.getppid(), GiB)]), "name": b"Tesla T4"}])
    snapshot = GpuSampler(nvml).sample(os.getpid())
    assert snapshot.devices[0].name == "Tesla T4"
    assert snapshot.devices[0].kernel_memory == 0
    assert gpu_column(snapshot) == "0 B"


def test_pids_of_another_namespace_are_not_visible_not_zero() -> None:
    # In a container, NVML lists the host's pids: none of them exists here.
    nvml = FakeNvml(devices=[a100([(4_000_001, 5 * GiB)])])
    sampler = GpuSampler(nvml, pid_exists=lambda pid: False)
    snapshot = sampler.sample(os.getpid())
    assert snapshot.devices[0].kernel_memory is None
    assert gpu_lines(snapshot)[0].endswith("kernel's share not visible")
    assert gpu_column(snapshot) == "?"


def test_a_driver_that_does_not_tell_memory_per_process() -> None:
    nvml = FakeNvml(devices=[a100([(os.getpid(), None)])])
    assert GpuSampler(nvml).sample(os.getpid()).devices[0].kernel_memory is None


def test_no_driver_is_one_line_and_nvml_is_asked_once() -> None:
    nvml = FakeNvml(init_error=9)  # NVML_ERROR_DRIVER_NOT_LOADED
    sampler = GpuSampler(nvml)
    for _ in range(3):
        snapshot = sampler.sample(os.getpid())
        assert gpu_lines(snapshot) == [NO_DRIVER]
        assert gpu_column(snapshot) == "-"
    assert nvml.calls == ["init"]


def test_a_remote_kernel_asks_nothing() -> None:
    nvml = FakeNvml(devices=[a100([])])
    snapshot = GpuSampler(nvml).sample(1234, local=False)
    assert gpu_lines(snapshot) == [REMOTE]
    assert nvml.calls == []


def test_no_device() -> None:
    snapshot = GpuSampler(FakeNvml()).sample(None)
    assert gpu_lines(snapshot) == ["no NVIDIA GPU: the driver sees no device"]


def test_close_shuts_nvml_down_once() -> None:
    nvml = FakeNvml(devices=[a100([])])
    sampler = GpuSampler(nvml)
    sampler.sample(None)
    sampler.close()
    sampler.close()
    assert nvml.calls == ["init", "count", "shutdown"]


def test_this_machine_without_a_gpu_shows_the_one_line() -> None:
    # The real bindings: here libnvidia-ml is not there (a GPU box skips this).
    snapshot = GpuSampler().sample(os.getpid())
    if snapshot.devices:
        pytest.skip("this machine has an NVIDIA GPU")
    assert gpu_lines(snapshot) == [NO_DRIVER]


def test_the_command_prints_the_pane() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "nbtui.app.gpu_check", str(os.getpid())],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    if "GPU 0" in done.stdout:
        pytest.skip("this machine has an NVIDIA GPU")
    assert done.stdout == NO_DRIVER + "\n"


def held(gib: float, index: int = 0) -> GpuSnapshot:
    device = GpuDevice(index=index, name="A100", kernel_memory=int(gib * GiB))
    return GpuSnapshot(at=0.0, devices=(device,))


def test_idle_holder_warning() -> None:
    assert idle_holder_warning(2 * 3600 + 59, held(11.2)) == "idle 2 h, holds 11.2 GiB of GPU 0"
    assert idle_holder_warning(80 * 60, held(11.2)) == "idle 1 h 20 min, holds 11.2 GiB of GPU 0"
    assert idle_holder_warning(None, held(11.2)) is None  # busy
    assert idle_holder_warning(60, held(11.2)) is None  # just finished a cell
    assert idle_holder_warning(7200, held(0.01)) is None  # holds next to nothing
    assert idle_holder_warning(7200, GpuSnapshot(at=0.0, note=NO_DRIVER)) is None
