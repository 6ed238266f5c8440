"""A kernel made of a script: a transport that answers like ipykernel, without sockets.

`ScriptedTransport` stands where `ZmqTransport` stands under a real `KernelClient`, so
the session and the console above it run unchanged: the tests say what the kernel
publishes (`publish`, `on_execute`) and read what was sent to it (`sent`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from jupyter_client.session import Session

from nbtui.app.kernel.client import KernelClient
from nbtui.app.kernel.connection import ConnectionInfo, parse_connection_info
from nbtui.app.kernel.transports import Deliver

KERNEL_INFO: dict[str, Any] = {
    "status": "ok",
    "protocol_version": "5.3",
    "implementation": "ipython",
    "implementation_version": "8.0.0",
    "language_info": {"name": "python", "version": "3.11.0", "pygments_lexer": "ipython3"},
}

Output = tuple[str, dict[str, Any]]
"""An iopub message a cell publishes: (msg_type, content)."""


class FakeClock:
    """A monotonic clock that moves only when told."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        """Let `seconds` pass."""
        self.now += seconds


def connection_info() -> ConnectionInfo:
    """Connection info for a kernel nobody listens for (the transport is scripted)."""
    ports = dict(shell_port=1, iopub_port=2, stdin_port=3, control_port=4, hb_port=5)
    # Not this host: no process here for the liveness monitor to look for.
    data = {"ip": "192.0.2.1", "transport": "tcp", "key": "k", **ports}
    return parse_connection_info(data, "the scripted kernel")


class ScriptedTransport:
    """Answers requests at once, as an idle ipykernel would, and publishes what the test
    scripts. Cells print nothing unless `on_execute` says otherwise."""

    kind = "scripted"
    bad_signatures = 0
    malformed = 0
    problem = ""

    def __init__(self, kernel_info: dict[str, Any] | None = None) -> None:
        self._session = Session(key=b"", username="kernel")
        self.kernel = Session(key=b"", username="kernel")
        """The kernel's own session (its replies' and its output's header)."""
        self.kernel_info = dict(KERNEL_INFO if kernel_info is None else kernel_info)
        self.sent: list[tuple[str, dict[str, Any]]] = []
        """Everything the client sent: (channel, message)."""
        self.alive = True
        """False: the heartbeat goes unanswered, and so do requests."""
        self.on_execute: Callable[[str], list[Output]] = lambda code: []
        """What a cell publishes between its execute_input and its idle."""
        self.complete_reply: dict[str, Any] = {"status": "complete"}
        self.payload: list[dict[str, Any]] = []
        """The execute_reply's payload (ipykernel's `ask_exit` for one)."""
        self.count = 0
        self.hold = False
        """True: cells stay busy until `finish()`."""
        self._held: list[dict[str, Any]] = []
        self._deliver: Deliver | None = None

    @property
    def session(self) -> Session:
        """The client's session: builds and signs its messages."""
        return self._session

    async def connect(self, deliver: Deliver) -> None:
        """Take the client's delivery function."""
        self._deliver = deliver

    def sent_types(self, channel: str | None = None) -> list[str]:
        """The msg_types sent, on `channel` or on all."""
        return [msg["header"]["msg_type"] for sent, msg in self.sent if channel in (None, sent)]

    def publish(
        self, msg_type: str, content: dict[str, Any], parent: dict[str, Any] | None = None
    ) -> None:
        """The kernel publishes a message on iopub (parent: the request's header)."""
        self._send("iopub", msg_type, content, parent)

    def _send(
        self, channel: str, msg_type: str, content: dict[str, Any], parent: dict[str, Any] | None
    ) -> None:
        assert self._deliver is not None, "not connected"
        msg = self.kernel.msg(msg_type, content, parent=parent)
        self._deliver(channel, msg)

    def send(self, channel: str, msg: dict[str, Any]) -> None:
        """Take a request; its answers come on the next turn of the event loop."""
        self.sent.append((channel, msg))
        if self.alive:
            asyncio.get_running_loop().call_soon(self._answer, channel, msg)

    def _answer(self, channel: str, msg: dict[str, Any]) -> None:
        header = msg["header"]
        msg_type = header["msg_type"]
        reply_type = msg_type.replace("_request", "_reply")
        if msg_type == "kernel_info_request":
            self._send(channel, reply_type, self.kernel_info, header)
            self.publish("status", {"execution_state": "busy"}, header)
            self.publish("status", {"execution_state": "idle"}, header)
        elif msg_type == "execute_request":
            self.publish("status", {"execution_state": "busy"}, header)
            self.count += 1
            code = msg["content"]["code"]
            self.publish("execute_input", {"code": code, "execution_count": self.count}, header)
            for output_type, content in self.on_execute(code):
                self.publish(output_type, content, header)
            if self.hold:
                self._held.append(header)
            else:
                self._end(header)
        elif msg_type == "is_complete_request":
            self._send(channel, reply_type, self.complete_reply, header)
        elif msg_type == "complete_request":
            content = {"status": "ok", "matches": [], "cursor_start": 0, "cursor_end": 0}
            self._send(channel, reply_type, content, header)
        elif msg_type == "history_request":
            self._send(channel, reply_type, {"status": "ok", "history": []}, header)
        elif msg_type.endswith("_request"):
            self._send(channel, reply_type, {"status": "ok"}, header)

    def _end(self, header: dict[str, Any]) -> None:
        reply = {"status": "ok", "execution_count": self.count, "payload": self.payload}
        self._send("shell", "execute_reply", reply, header)
        self.publish("status", {"execution_state": "idle"}, header)

    def finish(self) -> None:
        """End every held cell."""
        held, self._held = self._held, []
        for header in held:
            self._end(header)

    async def ping(self, timeout: float) -> float | None:
        """A heartbeat: answered at once while `alive`."""
        await asyncio.sleep(0)
        return 0.0001 if self.alive else None

    def watch_link(self) -> None:
        """No connection events to watch: liveness rests on pings alone."""
        return None

    async def interrupt(self) -> bool:
        """No out-of-band interrupt: the client sends interrupt_request."""
        return False

    async def close(self) -> None:
        """Nothing to close."""


def scripted_client(
    transport: ScriptedTransport | None = None, username: str = "you"
) -> tuple[KernelClient, ScriptedTransport]:
    """A real `KernelClient` on a scripted kernel."""
    transport = transport or ScriptedTransport()
    return KernelClient(connection_info(), username=username, transport=transport), transport
