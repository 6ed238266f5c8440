"""The ZeroMQ transport against addresses zmq refuses: one sentence, nothing left open."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest

from nbtui.app.kernel.connection import ConnectionInfo
from nbtui.app.kernel.errors import NbtuiError
from nbtui.app.kernel.transports.zeromq import ZmqTransport

PORTS = {"shell": 50001, "iopub": 50002, "stdin": 50003, "control": 50004, "hb": 50005}


def info(ip: str, transport: str = "tcp") -> ConnectionInfo:
    """Connection info made directly, past the file's validation, as a caller could."""
    return ConnectionInfo(
        transport=transport,
        ip=ip,
        ports=dict(PORTS),
        key="k",
        signature_scheme="hmac-sha256",
        path=Path("kernel-x.json"),
    )


def in_a_thread(work: object, deadline: float = 30.0) -> list[object]:
    """Run `work()` (a coroutine function) in its own thread and loop; what it returned or
    raised. A hang (a context's term() waiting on an open socket) fails, not blocks."""
    result: list[object] = []

    def run() -> None:
        try:
            result.append(asyncio.run(work()))  # type: ignore[operator]
        except BaseException as error:  # noqa: BLE001 - handed back to the test
            result.append(error)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(deadline)
    assert not thread.is_alive(), "the transport hung closing its sockets"
    return result


@pytest.mark.parametrize(
    ("ip", "transport"),
    [("a b", "tcp"), ("-1", "tcp"), ("127.0.0.1\n", "tcp"), ("/tmp/" + "x" * 200, "ipc")],
    ids=["space", "minus-one", "newline", "ipc-path-too-long"],
)
def test_a_refused_address_is_one_sentence_and_closes_everything(ip: str, transport: str) -> None:
    async def attach() -> str:
        zmq_transport = ZmqTransport(info(ip, transport))
        try:
            await zmq_transport.connect(lambda channel, msg: None)
        except NbtuiError as error:
            return str(error)
        finally:
            await zmq_transport.close()
        return "connected"

    (outcome,) = in_a_thread(attach)
    assert isinstance(outcome, str), outcome
    assert outcome.startswith("cannot connect to the kernel's shell port")
    assert "\n" not in outcome


def test_ping_and_monitor_on_a_refused_address_do_not_raise() -> None:
    async def probe() -> tuple[float | None, object]:
        zmq_transport = ZmqTransport(info("a b"))
        try:
            return await zmq_transport.ping(0.1), zmq_transport.watch_link()
        finally:
            await zmq_transport.close()

    (outcome,) = in_a_thread(probe)
    assert outcome == (None, None)
