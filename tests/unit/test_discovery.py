"""What one probe makes of a kernel's replies, with the sockets stubbed out."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
import zmq.asyncio

from nbtui.app.kernel import discovery, probing
from nbtui.app.kernel.connection import ConnectionInfo
from nbtui.app.kernel.discovery import KernelEntry


def info(ip: str = "127.0.0.1", **fields: Any) -> ConnectionInfo:
    return ConnectionInfo(
        transport="tcp",
        ip=ip,
        ports=dict.fromkeys(("shell", "iopub", "stdin", "control", "hb"), 1),
        key="k" * 32,
        signature_scheme="hmac-sha256",
        kernel_name="python3",
        **fields,
    )


class Replies:
    """Stands in for the probe's sockets: records the heartbeat timeout, answers requests."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, usage: dict[str, Any]) -> None:
        self.usage = usage
        self.hb_timeouts: list[float] = []
        monkeypatch.setattr(probing._Probe, "ping", self.ping)
        monkeypatch.setattr(probing._Probe, "channel", lambda probe, name: name)
        monkeypatch.setattr(probing._Probe, "requests", self.requests)

    async def ping(self, timeout: float) -> float:
        self.hb_timeouts.append(timeout)
        return 0.0001

    async def requests(
        self, sock: str, msg_types: Sequence[str], timeout: float
    ) -> dict[str, dict[str, Any]]:
        answers = {
            "kernel_info_request": {"language_info": {"name": "python"}},
            "usage_request": self.usage,
        }
        return {msg_type: answers[msg_type] for msg_type in msg_types}


async def probe(entry: KernelEntry) -> KernelEntry:
    context = zmq.asyncio.Context()
    try:
        return await probing._probe(
            entry,
            context,
            details=True,
            activity=False,
            hb_timeout=discovery.HB_TIMEOUT,
            reply_timeout=discovery.REPLY_TIMEOUT,
        )
    finally:
        context.destroy(linger=0)


async def test_usage_reply_is_read_as_the_resource_pane_reads_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # The hostname reaches `--list --json` and the terminal: made safe, as parse_usage does.
    Replies(
        monkeypatch,
        {"hostname": "box\x1b]0;pwned\x07", "pid": 4242.0, "kernel_memory": 3e9, "kernel_cpu": 5},
    )
    entry = await probe(KernelEntry(path=tmp_path / "kernel-a.json", mtime=0.0, info=info()))
    assert entry.responsive
    assert entry.hostname == "box"
    assert entry.pid == 4242
    assert entry.memory == 3_000_000_000
    assert entry.cpu == 5.0


@pytest.mark.parametrize(
    ("where", "remote"),
    [
        (info("127.0.0.1"), False),
        (info("::"), False),
        (info("*"), False),
        (dataclasses.replace(info("/tmp/kernel"), transport="ipc"), False),
        (info("127.0.0.1", tunnel="ssh me@far"), True),
        (info("192.0.2.7"), True),
    ],
)
async def test_heartbeat_waits_longer_for_kernels_that_are_not_local(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, where: ConnectionInfo, remote: bool
) -> None:
    replies = Replies(monkeypatch, {})
    await probe(KernelEntry(path=tmp_path / "kernel-a.json", mtime=0.0, info=where))
    expected = discovery.REMOTE_HB_TIMEOUT if remote else discovery.HB_TIMEOUT
    assert replies.hb_timeouts == [expected]
