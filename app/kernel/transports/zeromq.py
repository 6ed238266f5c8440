"""The kernel's own ZeroMQ sockets, from a connection file (maybe through SSH tunnels).

iopub drops messages silently for a subscriber that falls behind (libzmq's default
high-water mark is 1000). So iopub is read by a thread of its own (`IopubPump`) into a
buffer the event loop decodes from: a slow frame costs memory for a moment, never
output. The buffer is bounded (`BACKLOG`): a kernel that sends faster than nbtui can
decode for long (hundreds of thousands of messages in seconds) has the excess dropped,
counted, and reported in-band as a `dropped` message on the `nbtui` channel, where the
transcript shows it. libzmq's own queue behind it is bounded too (`IOPUB_HWM`), as the
last line should the thread ever fall that far behind.
"""

from __future__ import annotations

import asyncio
import struct
import time
import weakref
from collections.abc import Callable
from typing import Any, cast

import zmq
import zmq.asyncio
from jupyter_client.asynchronous.client import AsyncKernelClient
from jupyter_client.session import Session

from nbtui.app.kernel.connection import ConnectionInfo
from nbtui.app.kernel.errors import NbtuiError
from nbtui.app.kernel.pacing import stop_tasks
from nbtui.app.kernel.transports import Deliver, LinkEvent, TransportClosed
from nbtui.app.kernel.transports.big_messages import BIG_MESSAGE, stream_pieces
from nbtui.app.kernel.transports.iopub_pump import (
    BACKLOG,
    BACKLOG_BYTES,
    IOPUB_HWM,
    Frames,
    IopubPump,
    dropped,
)
from nbtui.app.kernel.transports.reconnect import Link

__all__ = ["BACKLOG", "IOPUB_HWM", "HeartbeatWatch", "ZmqTransport", "dropped"]

# A reader yields to the event loop after this many messages or bytes, so a flood cannot
# starve the UI: awaiting a message that is already queued does not yield by itself, and
# decoding a few megabytes of big messages takes tens of milliseconds.
_BATCH = 200
_BATCH_BYTES = 1 << 20


def _release(
    sockets: list[zmq.asyncio.Socket], context: zmq.asyncio.Context, pumps: list[IopubPump]
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
    """The kernel's own ZeroMQ sockets, from a connection file (maybe through a tunnel).

    A `Transport` (`nbtui.app.kernel.transports`); nothing is opened before `connect`.

    Args:
        info: The validated connection info (a tunnel's copy when tunnelled).
    """

    def __init__(self, info: ConnectionInfo) -> None:
        self.info = info
        """Where the kernel's five ports are."""
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
        self._pumps: list[IopubPump] = []
        self._finalizer = weakref.finalize(
            self, _release, self._all_sockets, self._context, self._pumps
        )
        self._closed = False
        self.link: Link | None = None
        """The tunnel the ports are reached through, when one was made for this transport
        (`tunnel.SshLink`): the session restores it when it drops."""
        self.backlog = BACKLOG
        """Bound of the iopub buffer (`IopubPump`), in messages; set before `connect`."""

    @property
    def dropped(self) -> int:
        """iopub messages dropped because nbtui could not keep up: exact."""
        return sum(pump.dropped for pump in self._pumps)

    @property
    def session(self) -> Session:
        """A session keyed for this kernel: the client builds its messages with it."""
        return self._session

    async def connect(self, deliver: Deliver) -> None:
        """Connect the four channels' sockets and start one reader each."""
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
                pump = IopubPump(
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

    def _decode(self, frames: Frames | list[bytes]) -> dict[str, Any] | None:
        """Check the signature and decode; None (counted) for a bad or malformed message.

        The pump's memoryviews come only in messages over `BIG_MESSAGE`, which go to
        `_deliver_big`: here every part is bytes.
        """
        session = self._session
        try:
            _, parts = session.feed_identities(cast(list[bytes], frames))
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

    async def _read_pump(self, pump: IopubPump, deliver: Deliver) -> None:
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
                length = sum(map(len, frames))
                size += length
                if received >= _BATCH or size >= _BATCH_BYTES:
                    received = size = 0
                    try:
                        await asyncio.sleep(0)
                    except asyncio.CancelledError:
                        return
                if length > BIG_MESSAGE:
                    try:
                        await self._deliver_big(frames, deliver)
                    except asyncio.CancelledError:
                        return
                    received = size = 0
                    continue
                raw = self._decode(frames)
                if raw is not None:
                    deliver("iopub", raw)

    async def _deliver_big(self, frames: Frames, deliver: Deliver) -> None:
        """Decode a message of many MB without holding the loop: the signature is checked
        in a thread (hashlib lets go of the GIL), and a stream's text is decoded and
        delivered a piece at a time (`big_messages`), the loop running between pieces."""
        session = self._session
        try:
            _, parts = session.feed_identities(cast(list[bytes], frames))
            raw = await asyncio.to_thread(session.deserialize, parts, content=False)
            # Peeking does not record the signature; a replayed message must still fail.
            session._add_digest(cast(bytes, parts[0]))
        except ValueError as error:
            if "Signature" in str(error):
                self.bad_signatures += 1
            else:
                self.malformed += 1
            return
        except Exception:  # noqa: BLE001 - hostile input must never kill the reader
            self.malformed += 1
            return
        # Still the pump's memoryview when it was large: a stream's text is decoded from it
        # a piece at a time, never copied whole.
        content: bytes | memoryview = raw["content"]
        split = stream_pieces(content) if raw.get("msg_type") == "stream" else None
        try:
            if split is None:
                raw["content"] = session.unpack(bytes(content))
                deliver("iopub", raw)
                return
            name, pieces = split
            for piece in pieces:
                deliver("iopub", {**raw, "content": {"name": name, "text": piece}})
                await asyncio.sleep(0)
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - hostile input must never kill the reader
            self.malformed += 1

    def send(self, channel: str, msg: dict[str, Any]) -> None:
        """Sign and queue `msg` on `channel`'s socket.

        Raises:
            TransportClosed: After `close()`; it ends the probes' loops.
        """
        if self._closed:
            raise TransportClosed("the connection to the kernel is closed")
        try:
            self._session.send(self._sockets[channel], msg)
        except zmq.ZMQError as error:
            raise TransportClosed(str(error)) from error

    async def interrupt(self) -> bool:
        """Nothing out of band here: the client sends interrupt_request on control."""
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
        """One heartbeat echo in seconds, or None after `timeout`.

        Safe to cancel: the socket is then replaced like after a miss.

        Raises:
            TransportClosed: After `close()`.
        """
        if self._closed:
            # Its context is destroyed: a new socket would fail with a TypeError.
            raise TransportClosed("the connection to the kernel is closed")
        async with self._hb_lock:
            try:
                socket = self._hb_socket()
            except zmq.ZMQError as error:
                if self._closed:
                    raise TransportClosed(str(error)) from error  # ends the probes' loops
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

    def watch_link(self) -> HeartbeatWatch | None:
        """Connection events of the heartbeat port, from a zmq socket monitor.

        The monitored socket is a second heartbeat socket that never sends, so it stays
        connected for the client's whole life: its monitor reports a disconnect within
        milliseconds of a `kill -9`, and a handshake when something listens on the port
        again. Closed with the transport.

        Returns:
            The watch, or None when this libzmq cannot monitor.

        Raises:
            NbtuiError: The transport is closed.
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
        return HeartbeatWatch(monitor)

    async def close(self) -> None:
        """Stop the readers and close every socket and the context."""
        if self._closed:
            return
        self._closed = True
        await stop_tasks(self._tasks)
        self._finalizer()


class HeartbeatWatch:
    """A `LinkWatch` over a zmq socket monitor of the heartbeat port.

    Args:
        monitor: The monitor socket (`get_monitor_socket`), watching disconnects and
            handshakes.
    """

    def __init__(self, monitor: zmq.asyncio.Socket) -> None:
        self.monitor = monitor

    async def next_event(self) -> LinkEvent | None:
        """The next event: "down" on a disconnect, "up" on a handshake; None once closed."""
        while True:
            try:
                frames = await self.monitor.recv_multipart()
            except (zmq.ContextTerminated, zmq.ZMQError):
                return None
            # The first frame is struct.pack("=hi", event, value), the second the endpoint.
            if len(frames) < 2 or len(frames[0]) < 6:
                continue
            event, _ = struct.unpack("=hi", frames[0][:6])
            if event == zmq.EVENT_DISCONNECTED:
                return "down"
            if event == zmq.EVENT_HANDSHAKE_SUCCEEDED:
                return "up"

    def close(self) -> None:
        """Close the monitor socket; safe to call more than once."""
        if not self.monitor.closed:
            self.monitor.close(linger=0)
