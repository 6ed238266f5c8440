"""usage_reply parsing, the memory warning's arithmetic, and what counts as local."""

from __future__ import annotations

import asyncio
import dataclasses
import os
from typing import Any

from nbtui.app.kernel.connection import ConnectionInfo
from nbtui.app.kernel.limits import MemoryLimit
from nbtui.app.kernel.messages import Msg
from nbtui.app.kernel.usage import (
    HostMemory,
    UsagePoller,
    UsageSnapshot,
    is_local,
    memory_share,
    parse_usage,
)

GIB = 1 << 30


def info(ip: str, transport: str = "tcp") -> ConnectionInfo:
    return ConnectionInfo(
        transport=transport,
        ip=ip,
        ports=dict.fromkeys(("shell", "iopub", "stdin", "control", "hb"), 1),
        key="k" * 32,
        signature_scheme="hmac-sha256",
    )


def test_parse_full_reply() -> None:
    snap = parse_usage(
        {
            "hostname": "box",
            "pid": 42,
            "kernel_cpu": 12.5,
            "kernel_memory": 3 * GIB,
            "host_cpu_percent": 30.0,
            "cpu_count": 8,
            "host_virtual_memory": {
                "total": 16 * GIB,
                "available": 5 * GIB,
                "used": 11 * GIB,
                "percent": 68.7,
                "free": 1,
            },
        },
        at=1.0,
    )
    assert snap.source == "kernel"
    assert (snap.hostname, snap.pid, snap.cpu_count) == ("box", 42, 8)
    assert snap.kernel_cpu == 12.5
    assert snap.kernel_memory == 3 * GIB
    assert snap.host_memory == HostMemory(16 * GIB, 5 * GIB, 11 * GIB, 68.7)


def test_parse_minimal_and_malformed_reply() -> None:
    # ipykernel without psutil: hostname, pid, cpu_count only.
    snap = parse_usage({"hostname": "box", "pid": 42, "cpu_count": 4})
    assert snap.kernel_cpu is None and snap.kernel_memory is None and snap.host_memory is None
    bad = parse_usage(
        {"pid": "42", "kernel_cpu": True, "hostname": 3, "host_virtual_memory": [1, 2]}
    )
    assert bad.pid is None and bad.kernel_cpu is None and bad.hostname is None
    assert bad.host_memory is None


def test_a_hostname_cannot_carry_escapes() -> None:
    snap = parse_usage({"hostname": "box\x1b]52;c;aGVsbG8=\x07\u202e\n2"})
    assert snap.hostname == "box 2"


def test_memory_share() -> None:
    host = HostMemory(total=16 * GIB, available=1 * GIB)
    assert memory_share(4 * GIB, host) == 0.8
    assert memory_share(None, host) is None
    assert memory_share(4 * GIB, None) is None
    assert memory_share(4 * GIB, dataclasses.replace(host, available=None)) is None
    assert memory_share(0, HostMemory(available=0)) is None


def test_memory_share_counts_against_a_binding_cgroup_limit() -> None:
    # The host has plenty free, but the cgroup allows 300 MiB: that is what kills.
    host = HostMemory(total=64 * GIB, available=60 * GIB)
    cgroup = MemoryLimit(limit=300 << 20, source="cgroup", cgroup="/jobs/x")
    assert memory_share(270 << 20, host, cgroup) == 0.9
    assert memory_share(270 << 20, None, cgroup) == 0.9  # no host figures needed
    # No cgroup limit: what it holds over itself plus what the host has available.
    assert memory_share(4 * GIB, host, MemoryLimit(limit=64 * GIB, source="host")) == 4 / 64


def test_is_local() -> None:
    assert is_local(info("127.0.0.1"))
    assert is_local(info("::1"))
    assert is_local(info("0.0.0.0"))
    assert is_local(info("::"))
    assert is_local(info("*"))  # ipykernel --ip='*' listens on every interface
    assert is_local(info("localhost"))
    assert is_local(info("/tmp/kernel", transport="ipc"))
    assert not is_local(info("192.0.2.7"))
    assert not is_local(info("example.invalid"))


class MinimalKernel:
    """A kernel whose usage_reply has only hostname, pid and cpu_count (ipykernel
    without psutil); the pid is this test process, so psutil can measure it."""

    def __init__(self) -> None:
        self.info = info("127.0.0.1")

    async def request(
        self, channel: str, msg_type: str, content: dict[str, Any], timeout: float
    ) -> Msg | None:
        return Msg.from_dict(
            "control",
            {
                "header": {"msg_id": "r", "msg_type": "usage_reply"},
                "parent_header": {},
                "metadata": {},
                "content": {"hostname": "box", "pid": os.getpid(), "cpu_count": 2},
            },
        )


async def test_minimal_reply_is_completed_by_psutil_for_a_local_kernel() -> None:
    poller = UsagePoller(MinimalKernel())
    first = await poller.poll()
    second = await poller.poll()
    assert first.source == "psutil"
    assert first.hostname == "box"
    assert first.cpu_count == 2
    assert first.pid == os.getpid()
    assert first.kernel_memory is not None and first.kernel_memory > 0
    assert first.host_memory is not None
    assert second.kernel_cpu is not None
    assert len(second.memory_history) == 2


async def test_quiet_interval_while_idle_and_a_starting_cell_wakes_the_poller() -> None:
    kernel = MinimalKernel()
    seen: list[UsageSnapshot] = []
    poller = UsagePoller(kernel, interval=0.01, quiet_interval=3600.0, on_update=seen.append)
    assert poller.pace == 3600.0
    poller.start()
    try:
        for _ in range(500):
            if seen:
                break
            await asyncio.sleep(0.01)
        assert len(seen) == 1  # the first poll, then an hour's quiet
        poller.busy = True
        assert poller.pace == 0.01
        for _ in range(500):
            if len(seen) >= 3:
                break
            await asyncio.sleep(0.01)
        assert len(seen) >= 3
    finally:
        await poller.stop()
