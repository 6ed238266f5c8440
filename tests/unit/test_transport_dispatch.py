"""Which transport a target gets, and a client over a transport of the test's own:
no Textual, no sockets, no kernel."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import pytest
from jupyter_client.session import Session

from nbtui.app.kernel.client import KernelClient
from nbtui.app.kernel.connection import ConnectionInfo
from nbtui.app.kernel.errors import NbtuiError
from nbtui.app.kernel.server import ServerKernel
from nbtui.app.kernel.target import KernelTarget, PaneRow, pane_row
from nbtui.app.kernel.transports import (
    TRANSPORTS,
    Deliver,
    LinkWatch,
    TransportClosed,
    open_transport,
    transport_factory,
)
from nbtui.app.kernel.transports.websocket import WebSocketTransport
from nbtui.app.kernel.transports.zeromq import ZmqTransport

PORTS = dict(zip(("shell", "iopub", "stdin", "control", "hb"), range(50001, 50006), strict=True))


def connection(**changes: Any) -> ConnectionInfo:
    info = ConnectionInfo(
        transport="tcp", ip="127.0.0.1", ports=PORTS, key="k" * 32, signature_scheme="hmac-sha256"
    )
    return replace(info, **changes)


SERVER = ServerKernel("http://h:8888", "0123456789ab", "python3", "s3cret", "JUPYTER_TOKEN")


# -- the dispatch ----------------------------------------------------------------------


async def test_a_connection_file_gets_zeromq_and_opens_nothing() -> None:
    transport = open_transport(connection())
    try:
        assert isinstance(transport, ZmqTransport)
        assert transport.kind == "zmq"
        assert not transport._sockets  # nothing is connected before connect()
    finally:
        await transport.close()


async def test_a_tunnelled_connection_says_so() -> None:
    transport = open_transport(connection(tunnel="ssh me@box"))
    try:
        assert isinstance(transport, ZmqTransport)
        assert transport.kind == "zmq over ssh"
    finally:
        await transport.close()


async def test_a_server_kernel_gets_its_websocket_and_opens_nothing() -> None:
    transport = open_transport(SERVER)
    assert isinstance(transport, WebSocketTransport)
    assert transport.kind == "websocket"
    assert transport.kernel is SERVER
    assert transport.session.key == b""  # the server signs for us
    assert transport.watch_link() is None  # its ping is all the liveness it has
    await transport.close()


def test_every_registered_transport_resolves_to_its_class() -> None:
    assert transport_factory("zmq") is ZmqTransport
    assert transport_factory("websocket") is WebSocketTransport
    assert set(TRANSPORTS) == {"zmq", "websocket"}


def test_an_unknown_transport_is_one_sentence() -> None:
    with pytest.raises(NbtuiError, match=r"no transport named 'carrier pigeon' \(known: "):
        transport_factory("carrier pigeon")


def test_each_target_names_a_registered_transport() -> None:
    targets: list[KernelTarget] = [connection(), connection(tunnel="ssh box"), SERVER]
    for target in targets:
        assert target.transport_name in TRANSPORTS


# -- the targets answer what callers used to ask with isinstance --------------------------


def test_targets_answer_the_same_questions() -> None:
    local, tunnelled, remote = connection(), connection(tunnel="ssh box"), SERVER
    assert (local.is_local, tunnelled.is_local, remote.is_local) == (True, False, False)
    assert (local.pid_port, tunnelled.pid_port, remote.pid_port) == (50001, None, None)
    assert (local.pings_kernel, remote.pings_kernel) == (True, False)
    assert local.label == "stdin"
    assert remote.label == "h:8888 01234567"
    assert local.restart_detail == "on the same ports"
    assert remote.restart_detail == ""
    assert remote.join_command() == "nbtui --server http://h:8888 --kernel-id 0123456789ab"


def test_pane_rows_are_plain_data_and_hold_no_secret() -> None:
    for target in (connection(tunnel="ssh box"), SERVER):
        rows = target.pane_rows("websocket v1")
        assert all(isinstance(row, PaneRow) for row in rows)
        text = " ".join(part for row in rows for part, _ in row.parts)
        assert "k" * 8 not in text
        assert "s3cret" not in text
    labels = [row.label for row in connection(tunnel="ssh box").pane_rows("")]
    assert labels == ["file", "", "tunnel", "ports"]
    assert [row.label for row in SERVER.pane_rows("")] == ["server", "", "id"]
    assert SERVER.pane_rows("")[1].parts[0] == ("websocket", "value")
    assert SERVER.pane_rows("websocket v1")[1].parts[0] == ("websocket v1", "value")


def test_only_a_readable_file_warns() -> None:
    readable = connection(group_readable=True)
    assert "readable by other users" in readable.pane_warning
    assert "can be read by other users" in readable.exposure_notice
    for quiet in (connection(), SERVER):
        assert quiet.pane_warning == quiet.exposure_notice == ""


# -- a transport of the test's own, registered like a new one would be ----------------


@dataclass(frozen=True)
class PigeonTarget:
    """A made-up kind of target: only the protocol, nothing of the two real ones."""

    kernel_name: str = "python3"
    transport_name: str = "pigeon"
    label: str = "loft 1"
    is_local: bool = False
    pid_port: int | None = None
    pings_kernel: bool = False
    exposure_notice: str = ""
    pane_warning: str = ""
    restart_detail: str = ""
    restarting_detail: str = "the pigeons say so"

    def join_command(self) -> str:
        return "nbtui --pigeon loft-1"

    def pane_rows(self, transport: str) -> tuple[PaneRow, ...]:
        return (pane_row("loft", ("1", "value")),)

    def no_heartbeat(self, timeout: float) -> str:
        return "no pigeon came back"

    def no_reply(self, timeout: float, bad_signatures: int, *, key_proven: bool) -> str:
        return f"the pigeons carry no answers after {timeout:g} s"


class PigeonTransport:
    """Answers kernel_info at once, or never; counts what it was asked."""

    answers = True

    def __init__(self, target: PigeonTarget) -> None:
        self.target = target
        self.kind = "pigeon"
        self.bad_signatures = 0
        self.malformed = 0
        self.problem = ""
        self.sent: list[tuple[str, str]] = []
        self.pings = 0
        self.closed = False
        self._session = Session(key=b"unused")
        self._deliver: Deliver | None = None

    @property
    def session(self) -> Session:
        return self._session

    async def connect(self, deliver: Deliver) -> None:
        self._deliver = deliver

    def send(self, channel: str, msg: dict[str, Any]) -> None:
        if self.closed:
            raise TransportClosed("closed")
        msg_type = msg["header"]["msg_type"]
        self.sent.append((channel, msg_type))
        if msg_type == "kernel_info_request" and self.answers and self._deliver is not None:
            reply = self._session.msg(
                "kernel_info_reply", {"status": "ok", "implementation": "pigeon"}, msg["header"]
            )
            self._deliver(channel, reply)
            # Busy and idle on iopub for it, as kernels publish: iopub is through.
            for state in ("busy", "idle"):
                status = self._session.msg("status", {"execution_state": state}, msg["header"])
                self._deliver("iopub", status)

    async def ping(self, timeout: float) -> float | None:
        self.pings += 1
        return 0.001

    def watch_link(self) -> LinkWatch | None:
        return None

    async def interrupt(self) -> bool:
        return False

    async def close(self) -> None:
        self.closed = True


@pytest.fixture
def pigeons(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(TRANSPORTS, "pigeon", (__name__, "PigeonTransport"))


@pytest.mark.usefixtures("pigeons")
async def test_a_new_transport_is_one_registry_line_away() -> None:
    client = KernelClient(PigeonTarget(), username="ada")
    assert isinstance(client.transport, PigeonTransport)
    try:
        info = await client.attach(reply_timeout=1.0)
        assert info["implementation"] == "pigeon"
        # A transport whose ping proves no kernel is not pinged before kernel_info.
        assert client.transport.pings == 0
        assert client.transport.sent[0] == ("control", "kernel_info_request")
    finally:
        await client.close()
    assert client.transport.closed


@pytest.mark.usefixtures("pigeons")
async def test_attach_failures_are_worded_by_the_target(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(PigeonTransport, "answers", False)
    client = KernelClient(PigeonTarget())
    try:
        with pytest.raises(NbtuiError, match=r"the pigeons carry no answers after 1\.05 s"):
            await client.attach(reply_timeout=0.05)
    finally:
        await client.close()


@pytest.mark.usefixtures("pigeons")
async def test_a_closed_transport_ends_a_probe_quietly() -> None:
    client = KernelClient(PigeonTarget())
    await client.transport.close()
    with pytest.raises(TransportClosed):
        await client.request("control", "kernel_info_request", {}, timeout=0.1)
    await client.close()
