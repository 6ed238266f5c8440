"""UsagePoller against a real ipykernel, and the psutil fallback for a silent kernel."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from pathlib import Path
from typing import Any

from jupyter_client import KernelManager

from nbtui.app.kernel.client import KernelClient
from nbtui.app.kernel.connection import ConnectionInfo, load_connection_file
from nbtui.app.kernel.gpu import REMOTE
from nbtui.app.kernel.limits import memory_limit
from nbtui.app.kernel.messages import Msg
from nbtui.app.kernel.usage import NOT_REPORTED, UsagePoller, UsageSnapshot


class SilentKernel:
    """A client of a kernel that never answers usage_request (like xeus-python)."""

    def __init__(self, info: ConnectionInfo) -> None:
        self.info = info
        self.asked: list[str] = []

    async def request(
        self, channel: str, msg_type: str, content: dict[str, Any], timeout: float
    ) -> Msg | None:
        self.asked.append(f"{channel}:{msg_type}")
        return None


def kernel_pid(km: KernelManager) -> int:
    return int(km.provisioner.process.pid)  # type: ignore[union-attr]


async def test_usage_reply_fields_and_history(kernel: KernelManager, client: KernelClient) -> None:
    seen: list[UsageSnapshot] = []
    poller = UsagePoller(client, on_update=seen.append)
    first = await poller.poll()
    second = await poller.poll()
    assert seen == [first, second]
    assert first.source == "kernel"
    assert first.pid == kernel_pid(kernel)
    assert first.hostname
    assert first.cpu_count and first.cpu_count >= 1
    assert first.kernel_memory is not None and first.kernel_memory > 1_000_000
    assert first.host_memory is not None and first.host_memory.total
    assert first.memory_share is not None and 0 < first.memory_share < 1
    assert not first.memory_warning
    # host_cpu_percent is left out whenever psutil says 0.0 (always on the first call):
    # it may be None on either reading.
    assert len(second.memory_history) == len(first.memory_history) + 1
    assert len(second.cpu_history) > len(first.cpu_history)
    assert second.at > first.at
    # This machine's own figures for a local kernel: its real memory limit, its GPUs.
    limit = memory_limit(first.pid)
    assert first.memory_limit == limit
    assert first.gpu is not None
    if not first.gpu.devices:
        assert first.gpu.note.startswith("no NVIDIA GPU")


async def test_probes_never_reach_the_inbox_as_replies(client: KernelClient) -> None:
    client.drain()
    poller = UsagePoller(client)
    await poller.poll()
    replies = [msg for msg in client.drain() if msg.msg_type == "usage_reply"]
    assert replies == []


async def test_memory_warning_threshold(client: KernelClient) -> None:
    poller = UsagePoller(client, memory_threshold=0.0)
    snapshot = await poller.poll()
    assert snapshot.memory_warning


async def test_poller_task_polls_until_stopped(client: KernelClient) -> None:
    seen: list[UsageSnapshot] = []
    poller = UsagePoller(client, interval=0.05, on_update=seen.append)
    poller.start()
    deadline = time.monotonic() + 10
    while len(seen) < 3:
        assert time.monotonic() < deadline, "the poller did not poll three times"
        await asyncio.sleep(0.01)
    await poller.stop()
    assert not poller.running
    assert poller.snapshot is seen[-1]


async def test_silent_local_kernel_falls_back_to_psutil(kernel: KernelManager) -> None:
    fake = SilentKernel(load_connection_file(Path(kernel.connection_file)))
    poller = UsagePoller(fake, timeout=0.1)
    assert poller.local
    first = await poller.poll()
    second = await poller.poll()
    assert fake.asked == ["control:usage_request"] * 2
    assert first.source == "psutil"
    assert first.pid == kernel_pid(kernel)  # the process listening on the shell port
    assert first.kernel_memory is not None and first.kernel_memory > 1_000_000
    assert first.kernel_cpu is None  # psutil's first reading means nothing
    assert second.kernel_cpu is not None
    assert first.host_memory is not None and first.host_memory.available
    assert first.memory_share is not None
    assert len(second.memory_history) == 2


async def test_silent_remote_kernel_is_not_reported(kernel: KernelManager) -> None:
    info = dataclasses.replace(
        load_connection_file(Path(kernel.connection_file)), ip="192.0.2.7"
    )  # TEST-NET-1: never this host
    poller = UsagePoller(SilentKernel(info), timeout=0.1)
    assert not poller.local
    snapshot = await poller.poll()
    assert snapshot.source == "none"
    assert snapshot.note == NOT_REPORTED
    assert snapshot.kernel_memory is None
    assert not snapshot.memory_warning
    # Nothing of this machine is the remote kernel's: no limit, one GPU line, no NVML.
    assert snapshot.memory_limit is None
    assert snapshot.gpu is not None and snapshot.gpu.note == REMOTE
    assert poller.gpu_sampler.failure is None  # never initialised


async def test_closing_the_client_ends_the_poller_quietly(kernel: KernelManager) -> None:
    kc = KernelClient(load_connection_file(Path(kernel.connection_file)))
    await kc.attach()
    seen: list[UsageSnapshot] = []
    poller = UsagePoller(kc, interval=0.02, on_update=seen.append)
    poller.start()
    deadline = time.monotonic() + 10
    while not seen:
        assert time.monotonic() < deadline
        await asyncio.sleep(0.01)
    await kc.close()
    while poller.running:
        assert time.monotonic() < deadline, "the poller outlived its client"
        await asyncio.sleep(0.01)
    await poller.stop()
