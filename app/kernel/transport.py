"""How messages reach a kernel: the one interface between `KernelClient` and the wire.

`KernelClient` builds, routes and awaits messages; a transport only moves them. Two
exist: `ZmqTransport` (the kernel's own five sockets, directly or through SSH tunnels)
and `nbtui.app.kernel.server.WebSocketTransport` (a Jupyter Server's kernel channels).
Nothing above `KernelClient` knows which one it talks through.

iopub drops messages silently for a subscriber that falls behind (libzmq's default
high-water mark is 1000). So iopub is read by a thread of its own (`_IopubPump`) into a
buffer the event loop decodes from: a slow frame costs memory for a moment, never
output. The buffer is bounded (`BACKLOG`): a kernel that sends faster than nbtui can
decode for long (hundreds of thousands of messages in seconds) has the excess dropped,
counted, and reported in-band as a `dropped` message on the `nbtui` channel, where the
transcript shows it. libzmq's own queue behind it is bounded too (`IOPUB_HWM`), as the
last line should the thread ever fall that far behind.
"""

from __future__ import annotations

import asyncio
import os
import re
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable
from typing import Any, Protocol, cast

import zmq
import zmq.asyncio
from jupyter_client.asynchronous.client import AsyncKernelClient
from jupyter_client.session import Session

from nbtui.app.kernel.connection import ConnectionInfo
from nbtui.app.kernel.errors import NbtuiError
from nbtui.app.kernel.pacing import stop_tasks

__all__ = ["BACKLOG", "CHANNELS", "IOPUB_HWM", "Deliver", "Transport", "ZmqTransport", "dropped"]

CHANNELS = ("shell", "iopub", "stdin", "control")
"""The message channels; the heartbeat is the transport's own business."""

Deliver = Callable[[str, dict[str, Any]], None]
"""Called with (channel, message dict as `Session.deserialize` returns it). Channel "nbtui"
carries the transport's own reports, unsigned: `dropped(count)`."""

# A reader yields to the event loop after this many messages or bytes, so a flood cannot
# starve the UI: awaiting a message that is already queued does not yield by itself, and
# decoding a few megabytes of big messages takes tens of milliseconds.
_BATCH = 200
_BATCH_BYTES = 1 << 20

BACKLOG = 50_000
"""iopub messages read off the socket but not yet decoded, at most. A flushed-print flood
(ipykernel's ~3,000 messages a second) never comes near it; past it, new messages are
dropped and counted (status messages last: a lost "idle" would show a cell busy forever)."""
BACKLOG_BYTES = 256 << 20
"""The same bound in bytes, for a flood of big messages."""
IOPUB_HWM = 100_000
"""libzmq's receive queue on iopub behind the pump thread: a backstop. The thread keeps it
near empty; were it ever full, the kernel's PUB socket would drop silently."""

_STATUS = re.compile(rb'"msg_type"\s*:\s*"status"')
_DELIMITER = b"<IDS|MSG>"


def dropped(count: int) -> dict[str, Any]:
    """The in-band report, on channel "nbtui", of `count` iopub messages the pump dropped."""
    return {
        "header": {"msg_type": "dropped", "msg_id": ""},
        "parent_header": {},
        "metadata": {},
        "content": {"count": count},
    }


def _is_status(frames: list[bytes]) -> bool:
    """Cheaply, without decoding: is this a status message (busy/idle)?"""
    try:
        header = frames[frames.index(_DELIMITER) + 2]
    except (ValueError, IndexError):
        return False
    return _STATUS.search(header) is not None


class _IopubPump:
    """Reads iopub in a thread of its own into a bounded buffer.

    The event loop cannot read while a frame is drawn, and libzmq would queue everything
    meanwhile, without bound: 317k tiny messages in 5 s took nbtui from 155 to 857 MiB,
    and the memory stayed. This thread only receives (no decoding: the GIL is the
    event loop's), so it keeps libzmq's queue near empty; what the loop has not decoded
    yet waits here, up to `limit` messages or `limit_bytes`.

    The socket is used only by this thread until `stop()` has joined it.
    """

    def __init__(
        self,
        socket: zmq.asyncio.Socket,
        loop: asyncio.AbstractEventLoop,
        limit: int,
        limit_bytes: int,
    ) -> None:
        self._socket: zmq.Socket[bytes] = zmq.Socket.shadow(socket.underlying)
        self._loop = loop
        self._limit = limit
        self._limit_bytes = limit_bytes
        self.buffer: deque[list[bytes]] = deque()
        self.dropped = 0
        """Messages dropped because the buffer was full: exact, written by the thread only."""
        self.ready = asyncio.Event()
        """Set (on the loop) when the buffer stops being empty."""
        self._size = 0
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        # stop() writes here to end the thread's wait: it can then wait without a timeout,
        # and an idle nbtui does not wake ten times a second for nothing.
        self._wake_read, self._wake_write = os.pipe()
        self._thread = threading.Thread(target=self._run, name="nbtui-iopub", daemon=True)
        self._thread.start()

    def take(self) -> list[bytes] | None:
        """The oldest buffered message's frames, or None when the buffer is empty."""
        try:
            frames = self.buffer.popleft()
        except IndexError:
            return None
        with self._lock:
            self._size -= sum(map(len, frames))
        return frames

    def _run(self) -> None:
        socket = self._socket
        poller = zmq.Poller()
        poller.register(socket, zmq.POLLIN)
        poller.register(self._wake_read, zmq.POLLIN)
        while not self._stopping.is_set():
            try:
                if socket not in dict(poller.poll()):
                    continue
                while not self._stopping.is_set():
                    self._keep(socket.recv_multipart(zmq.NOBLOCK))
            except zmq.Again:
                continue
            except (zmq.ZMQError, RuntimeError):
                return  # the context is gone, or the loop is closed

    def _keep(self, frames: list[bytes]) -> None:
        size = sum(map(len, frames))
        count = len(self.buffer)
        with self._lock:
            full = count >= self._limit or self._size + size > self._limit_bytes
            # Status messages may take up to twice the room: a lost idle leaves a cell
            # "running" forever, but a flood of them must be bounded too.
            if full and (count >= 2 * self._limit or not _is_status(frames)):
                self.dropped += 1
                return
            self._size += size
        was_empty = not self.buffer
        self.buffer.append(frames)
        if was_empty:
            self._loop.call_soon_threadsafe(self.ready.set)

    def stop(self) -> None:
        """End the thread; afterwards the socket is the caller's to close."""
        if self._stopping.is_set():
            return
        self._stopping.set()
        os.write(self._wake_write, b"x")
        if self._thread is not threading.current_thread():
            self._thread.join()
        os.close(self._wake_read)
        os.close(self._wake_write)


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


def _release(
    sockets: list[zmq.asyncio.Socket], context: zmq.asyncio.Context, pumps: list[_IopubPump]
) -> None:
    """Stop the pump threads, close every socket, then the context.

    Runs from `close()` or, for a transport that was never closed, when it is collected:
    a context collected with sockets still open waits for them forever. `destroy` also
    closes sockets this list never saw: jupyter_client's `connect_*` makes its socket
    before connecting it, and a refused address leaves that socket open, unreturned.
    """
    for pump in pumps:
        pump.stop()
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
        self._pumps: list[_IopubPump] = []
        self._finalizer = weakref.finalize(
            self, _release, self._all_sockets, self._context, self._pumps
        )
        self._closed = False
        self.backlog = BACKLOG
        """Bound of the iopub buffer (`_IopubPump`), in messages; set before `connect`."""

    @property
    def dropped(self) -> int:
        """iopub messages dropped because nbtui could not keep up: exact."""
        return sum(pump.dropped for pump in self._pumps)

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
            "iopub": self._connect_iopub,
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
                reason = zmq.strerror(error.errno) if error.errno else str(error)
                raise NbtuiError(
                    f"cannot connect to the kernel's {channel} port at "
                    f"{self.info.endpoint(channel)!r}: {reason}"
                ) from None
        self._sockets = sockets
        self._all_sockets.extend(sockets.values())
        for channel, socket in self._sockets.items():
            if channel == "iopub":
                pump = _IopubPump(
                    socket,
                    asyncio.get_running_loop(),
                    self.backlog,
                    max(BACKLOG_BYTES, self.backlog * 1024),
                )
                self._pumps.append(pump)
                reader = self._read_pump(pump, deliver)
            else:
                reader = self._read(channel, socket, deliver)
            self._tasks.append(asyncio.create_task(reader))

    def _connect_iopub(self) -> zmq.Socket[Any]:
        # The context's options apply to sockets made after they are set, and a queue's
        # bound is fixed when it is connected: so set it around this one socket.
        self._context.setsockopt(zmq.RCVHWM, IOPUB_HWM)
        try:
            return self._jc.connect_iopub()
        finally:
            self._context.setsockopt(zmq.RCVHWM, 0)

    def _decode(self, frames: list[bytes]) -> dict[str, Any] | None:
        """Check the signature and decode; None (counted) for a bad or malformed message."""
        session = self._session
        try:
            _, parts = session.feed_identities(frames)
            return session.deserialize(parts)
        except ValueError as error:
            if "Signature" in str(error):
                self.bad_signatures += 1
            else:
                self.malformed += 1
        except Exception:  # noqa: BLE001 - hostile input must never kill the reader
            self.malformed += 1
        return None

    async def _read(self, channel: str, socket: zmq.asyncio.Socket, deliver: Deliver) -> None:
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
            raw = self._decode(frames)
            if raw is not None:
                deliver(channel, raw)

    async def _read_pump(self, pump: _IopubPump, deliver: Deliver) -> None:
        """Decode what the iopub pump buffered, yielding as `_read` does; say where
        messages were dropped, once per run of drops."""
        reported = 0
        while not self._closed:
            try:
                await pump.ready.wait()
            except asyncio.CancelledError:
                return
            pump.ready.clear()
            received = size = 0
            while not self._closed:
                frames = pump.take()
                if (received == 0 or frames is None) and pump.dropped != reported:
                    # Once a batch at most: a flood drops with nearly every message.
                    count = pump.dropped
                    deliver("nbtui", dropped(count - reported))
                    reported = count
                if frames is None:
                    break
                received += 1
                size += sum(map(len, frames))
                if received >= _BATCH or size >= _BATCH_BYTES:
                    received = size = 0
                    try:
                        await asyncio.sleep(0)
                    except asyncio.CancelledError:
                        return
                raw = self._decode(frames)
                if raw is not None:
                    deliver("iopub", raw)

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
                if self._closed:
                    raise  # ends the probes' loops, as send() does
                return None  # an address zmq refuses: no heartbeat, not a crash
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
