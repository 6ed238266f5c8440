"""A misbehaving kernel's iopub: a plain zmq PUB socket signing with jupyter_client's
Session, flooding faster than nbtui decodes (issue 13, item 25)."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import zmq
from jupyter_client.session import Session

from nbtui.app.kernel.connection import ConnectionInfo
from nbtui.app.kernel.messages import Msg
from nbtui.app.kernel.model import Notice, Transcript
from nbtui.app.kernel.transports.zeromq import ZmqTransport

KEY = "0f4c7a2e-5b1d-4e8a-9c3f-2d6b8a1e7f90"
DEADLINE = 30.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class FakeKernel:
    """Only an iopub: a PUB socket that never drops (SNDHWM 0), signing as a kernel."""

    def __init__(self) -> None:
        self.context = zmq.Context()
        self.pub = self.context.socket(zmq.PUB)
        self.pub.setsockopt(zmq.SNDHWM, 0)
        self.port = self.pub.bind_to_random_port("tcp://127.0.0.1")
        self.session = Session(key=KEY.encode())
        self.parent = self.session.msg("execute_request", {"code": "flood()"})["header"]

    def info(self) -> ConnectionInfo:
        ports = {name: free_port() for name in ("shell", "stdin", "control", "hb")}
        ports["iopub"] = self.port
        return ConnectionInfo("tcp", "127.0.0.1", ports, KEY, "hmac-sha256", path=Path("k"))

    def status(self, state: str) -> None:
        self.session.send(self.pub, "status", {"execution_state": state}, parent=self.parent)

    def stream(self, text: str) -> None:
        content = {"name": "stdout", "text": text}
        self.session.send(self.pub, "stream", content, parent=self.parent)

    def close(self) -> None:
        self.pub.close(linger=0)
        self.context.term()


@pytest.fixture
def fake_kernel() -> Iterator[FakeKernel]:
    kernel = FakeKernel()
    try:
        yield kernel
    finally:
        kernel.close()


async def until(predicate: Any, what: str, deadline: float = DEADLINE) -> None:
    end = time.monotonic() + deadline
    while not predicate():
        assert time.monotonic() < end, f"{what}: not within {deadline} s"
        await asyncio.sleep(0.005)


async def test_a_flood_faster_than_nbtui_reads_is_bounded_counted_and_reported(
    fake_kernel: FakeKernel,
) -> None:
    transport = ZmqTransport(fake_kernel.info())
    transport.backlog = 1000
    got: list[Msg] = []
    await transport.connect(lambda channel, raw: got.append(Msg.from_dict(channel, raw)))
    try:
        # ZeroMQ's slow joiner: publish until the subscription is through.
        end = time.monotonic() + DEADLINE
        while not got:
            assert time.monotonic() < end, "the subscription never came through"
            fake_kernel.status("busy")
            await asyncio.sleep(0.02)
        await until(lambda: not transport._pumps[0].buffer, "the buffer drained")
        got.clear()

        flood = 20_000
        sender = threading.Thread(
            target=lambda: [fake_kernel.stream(f"{index}\n") for index in range(flood)]
        )
        sender.start()
        # The UI draws a long frame: the event loop decodes nothing meanwhile. Without a
        # bound, everything the kernel sends waits in memory; with one, the excess goes.
        end = time.monotonic() + DEADLINE
        while transport.dropped == 0:
            assert time.monotonic() < end, "nothing was dropped"
            assert len(transport._pumps[0].buffer) <= 1000
            time.sleep(0.005)  # blocks the loop on purpose: this is the long frame
        sender.join()
        fake_kernel.status("idle")  # a status message still finds room

        def settled() -> bool:
            streams = sum(1 for msg in got if msg.msg_type == "stream")
            return streams + transport.dropped == flood and any(
                msg.msg_type == "status" and msg.content.get("execution_state") == "idle"
                for msg in got
            )

        await until(settled, "every message delivered or counted as dropped")
    finally:
        await transport.close()
    assert 0 < transport.dropped < flood
    reports = [msg for msg in got if msg.channel == "nbtui" and msg.msg_type == "dropped"]
    assert sum(msg.content["count"] for msg in reports) == transport.dropped
    # What the transcript makes of it: one notice with the exact count.
    transcript = Transcript("me")
    transcript.apply_all(got)
    notices = [entry for entry in transcript.entries if isinstance(entry, Notice)]
    assert transcript.dropped_messages == transport.dropped
    assert notices
    assert all("the kernel sent faster than nbtui could read" in n.text for n in notices)
    shown = sum(int(notice.text.split()[0].replace(",", "")) for notice in notices)
    assert shown == transport.dropped
