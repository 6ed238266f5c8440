"""How messages reach a kernel: the one interface between `KernelClient` and the wire.

`KernelClient` builds, routes and awaits messages; a transport only moves them. Two
exist: `ZmqTransport` (the kernel's own five sockets, directly or through SSH tunnels)
and `nbtui.app.kernel.server.WebSocketTransport` (a Jupyter Server's kernel channels).
Nothing above `KernelClient` knows which one it talks through.

iopub drops messages silently for a subscriber that falls behind (libzmq's default
high-water mark is 1000). The receive high-water mark is lifted here so that libzmq's
I/O thread keeps pulling from the network even while the UI is busy drawing a frame:
a slow frame then costs memory for a moment, never output.
"""

from __future__ import annotations

import asyncio
import time
import weakref
from collections.abc import Callable
from typing import Any, Protocol, cast

import zmq
import zmq.asyncio
from jupyter_client.asynchronous.client import AsyncKernelClient
from jupyter_client.session import Session

from nbtui.app.kernel.connection import ConnectionInfo
from nbtui.app.kernel.errors import NbtuiError
from nbtui.app.kernel.pacing import stop_tasks

__all__ = ["CHANNELS", "Deliver", "Transport", "ZmqTransport"]

CHANNELS = ("shell", "iopub", "stdin", "control")
"""The message channels; the heartbeat is the transport's own business."""

Deliver = Callable[[str, dict[str, Any]], None]
"""Called with (channel, message dict as `Session.deserialize` returns it)."""

# A reader yields to the event loop after this many messages or bytes, so a flood cannot
# starve the UI: awaiting a message that is already queued does not yield by itself, and
# decoding a few megabytes of big messages takes tens of milliseconds.
_BATCH = 200
_BATCH_BYTES = 1 << 20


class Transport(Protocol):
    """Moves signed messages between a `KernelClient` and one kernel."""

    kind: str
    """Shown to the user: "zmq", "zmq over ssh", "websocket v1", ..."""
    bad_signatures: int
    """Messages dropped because their signature did not match (a wrong key)."""
    malformed: int
    """Messages dropped because they could not be decoded."""
    problem: str
    """Why the connection is down, when the transport knows better than "no heartbeat"."""

    @property
    def session(self) -> Session:
        """Builds, signs and reads this transport's messages; the client uses it too."""

    async def connect(self, deliver: Deliver) -> None:
        """Open the channels and start the readers; each decoded message goes to `deliver`.

        Raises:
            NbtuiError: The channels cannot be opened at all.
        """

    def send(self, channel: str, msg: dict[str, Any]) -> None:
        """Send a message built by `session.msg` without waiting for the network."""

    async def ping(self, timeout: float) -> float | None:
        """One liveness round trip in seconds, or None if none came within `timeout`."""

    def hb_monitor(self) -> zmq.asyncio.Socket | None:
        """A zmq socket monitor on the heartbeat, when the transport has one."""

    async def interrupt(self) -> bool:
        """Interrupt out of band (a server's REST API); False: use interrupt_request."""

    async def close(self) -> None:
        """Stop the readers and release the connection; never touches the kernel."""


def _release(sockets: list[zmq.asyncio.Socket], context: zmq.asyncio.Context) -> None:
    """Close every socket, then the context.

    Runs from `close()` or, for a transport that was never closed, when it is collected:
    a context collected with sockets still open waits for them forever. `destroy` also
    closes sockets this list never saw: jupyter_client's `connect_*` makes its socket
    before connecting it, and a refused address leaves that socket open, unreturned.
    """
    for socket in sockets:
        if not socket.closed:
            socket.close(linger=0)
    context.destroy(linger=0)


class ZmqTransport:
    """The kernel's own ZeroMQ sockets, from a connection file (maybe through a tunnel)."""

    def __init__(self, info: ConnectionInfo) -> None:
        self.info = info
        self.kind = "zmq over ssh" if info.tunnel else "zmq"
        self.bad_signatures = 0
        self.malformed = 0
        self.problem = ""
        self._context = zmq.asyncio.Context()
        self._context.setsockopt(zmq.RCVHWM, 0)
        self._context.setsockopt(zmq.LINGER, 0)
        self._jc = AsyncKernelClient(context=self._context)
        self._jc.load_connection_info(cast(Any, info.as_jupyter_dict()))
        self._session: Session = self._jc.session
        self._sockets: dict[str, zmq.asyncio.Socket] = {}
        self._hb: zmq.asyncio.Socket | None = None
        self._hb_lock = asyncio.Lock()
        self._tasks: list[asyncio.Task[None]] = []
        self._all_sockets: list[zmq.asyncio.Socket] = []
        """Every socket ever opened, so that none can outlive the context."""
        self._finalizer = weakref.finalize(self, _release, self._all_sockets, self._context)
        self._closed = False

    @property
    def session(self) -> Session:
        """A session keyed for this kernel: the client builds its messages with it."""
        return self._session

    async def connect(self, deliver: Deliver) -> None:
        if self._sockets:
            return
        if self._closed:
            raise NbtuiError("the connection to the kernel is closed")
        identity = self._session.bsession
        jc = self._jc
        opens: dict[str, Callable[[], zmq.Socket[Any]]] = {
            "shell": lambda: jc.connect_shell(identity=identity),
            "iopub": jc.connect_iopub,
            "stdin": lambda: jc.connect_stdin(identity=identity),
            "control": lambda: jc.connect_control(identity=identity),
        }
        sockets: dict[str, zmq.asyncio.Socket] = {}
        for channel, open_socket in opens.items():
            try:
                # The client was built on an asyncio context, so these are asyncio sockets.
                sockets[channel] = cast(zmq.asyncio.Socket, open_socket())
            except zmq.ZMQError as error:
                # Nothing is usable without every channel: let go of all of it now, so
                # that no half-made socket can keep the context's term() waiting.
                self._all_sockets.extend(sockets.values())
                self._closed = True
                self._finalizer()
                raise NbtuiError(
                    f"cannot connect to the kernel's {channel} port at "
                    f"{self.info.endpoint(channel)!r}: {error.strerror}"
                ) from None
        self._sockets = sockets
        self._all_sockets.extend(sockets.values())
        for channel, socket in self._sockets.items():
            self._tasks.append(asyncio.create_task(self._read(channel, socket, deliver)))

    async def _read(self, channel: str, socket: zmq.asyncio.Socket, deliver: Deliver) -> None:
        session = self._session
        received = size = 0
        while not self._closed:
            try:
                frames = await socket.recv_multipart()
            except (asyncio.CancelledError, zmq.ContextTerminated, zmq.ZMQError):
                return
            received += 1
            size += sum(map(len, frames))
            if received >= _BATCH or size >= _BATCH_BYTES:
                received = size = 0
                await asyncio.sleep(0)
            try:
                _, parts = session.feed_identities(frames)
                raw = session.deserialize(parts)
            except ValueError as error:
                if "Signature" in str(error):
                    self.bad_signatures += 1
                else:
                    self.malformed += 1
                continue
            except Exception:  # noqa: BLE001 - hostile input must never kill the reader
                self.malformed += 1
                continue
            deliver(channel, raw)

    def send(self, channel: str, msg: dict[str, Any]) -> None:
        # After close this raises zmq.ZMQError, which ends the probes' loops.
        self._session.send(self._sockets[channel], msg)

    async def interrupt(self) -> bool:
        return False

    # -- heartbeat -------------------------------------------------------------------------

    def _hb_socket(self) -> zmq.asyncio.Socket:
        if self._hb is None:
            # Each missed ping replaces the socket: forget the closed ones, or a kernel
            # that stays dead for days would grow this list by one a second.
            self._all_sockets[:] = [socket for socket in self._all_sockets if not socket.closed]
            self._hb = cast(zmq.asyncio.Socket, self._jc.connect_hb())
            self._all_sockets.append(self._hb)
        return self._hb

    async def _echo(self, socket: zmq.asyncio.Socket) -> None:
        await socket.send(b"ping")
        await socket.recv()

    async def ping(self, timeout: float) -> float | None:
        """Safe to cancel: the socket is then replaced like after a miss."""
        async with self._hb_lock:
            try:
                socket = self._hb_socket()
            except zmq.ZMQError:
                return None
            started = time.perf_counter()
            answered = False
            try:
                await asyncio.wait_for(self._echo(socket), timeout)
                answered = True
            except (asyncio.TimeoutError, zmq.ZMQError):
                pass
            finally:
                if not answered:
                    # A REQ socket that missed its reply (or was cancelled while waiting
                    # for it) is stuck: start a fresh one next time.
                    socket.close(linger=0)
                    if self._hb is socket:
                        self._hb = None
            if not answered:
                return None
            return time.perf_counter() - started

    def hb_monitor(self) -> zmq.asyncio.Socket | None:
        """Connection events of the heartbeat port, as a zmq monitor socket.

        The monitored socket is a second heartbeat socket that never sends, so it stays
        connected for the client's whole life: its monitor reports `EVENT_DISCONNECTED`
        within milliseconds of a `kill -9`, and `EVENT_HANDSHAKE_SUCCEEDED` when something
        listens on the port again. Read frames with `recv_multipart()`: the first is
        `struct.pack("=hi", event, value)`, the second the endpoint. Closed with the client.

        Returns:
            The monitor socket, or None when this libzmq cannot monitor.
        """
        if self._closed:
            raise NbtuiError("the connection to the kernel is closed")
        watch = self._context.socket(zmq.REQ)
        # Reconnect attempts back off to one a second while the kernel is away (options
        # must be set before connect: libzmq copies them into the connection then).
        watch.setsockopt(zmq.RECONNECT_IVL_MAX, 1000)
        if self.info.curve:
            watch.curve_secretkey = (self.info.curve_secretkey or "").encode()
            watch.curve_publickey = (self.info.curve_publickey or "").encode()
            watch.curve_serverkey = (self.info.curve_publickey or "").encode()
        self._all_sockets.append(watch)
        events = zmq.EVENT_DISCONNECTED | zmq.EVENT_HANDSHAKE_SUCCEEDED
        try:
            monitor = watch.get_monitor_socket(events)
        except zmq.ZMQError:
            return None
        self._all_sockets.append(monitor)
        # Connect only once the monitor listens: on loopback the first handshake can
        # finish before a monitor started afterwards would be there to see it.
        try:
            watch.connect(self.info.url("hb"))
        except zmq.ZMQError:
            monitor.close(linger=0)
            watch.close(linger=0)
            return None
        return monitor

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        await stop_tasks(self._tasks)
        self._finalizer()
