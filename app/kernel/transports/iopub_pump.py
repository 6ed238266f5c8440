"""iopub read by a thread of its own into a bounded buffer, for `ZmqTransport`.

iopub drops messages silently for a subscriber that falls behind (libzmq's default
high-water mark is 1000), and the event loop cannot read while a frame is drawn. The
pump thread keeps libzmq's queue near empty; what the loop has not decoded yet waits in
its buffer, bounded by `BACKLOG`: the excess is dropped, counted, and reported in-band
(`dropped`, on the "nbtui" channel).
"""

from __future__ import annotations

import asyncio
import os
import re
import threading
from collections import deque
from typing import Any

import zmq
import zmq.asyncio

from nbtui.app.kernel.transports.big_messages import BIG_MESSAGE

__all__ = ["BACKLOG", "BACKLOG_BYTES", "IOPUB_HWM", "UNCOPIED", "Frames", "IopubPump", "dropped"]

BACKLOG = 50_000
"""iopub messages read off the socket but not yet decoded, at most. A flushed-print flood
(ipykernel's ~3,000 messages a second) never comes near it; past it, new messages are
dropped and counted (status messages last: a lost "idle" would show a cell busy forever)."""
BACKLOG_BYTES = 256 << 20
"""The same bound in bytes, for a flood of big messages."""
IOPUB_HWM = 100_000
"""libzmq's receive queue on iopub behind the pump thread: a backstop. The thread keeps it
near empty; were it ever full, the kernel's PUB socket would drop silently."""

UNCOPIED = BIG_MESSAGE
"""A message part from this size up (bytes) is kept where libzmq received it, as a
memoryview, not copied into a bytes: the copy holds the GIL, and a cell's unflushed prints
come as parts of tens of MB (50 MB: 46 ms of copying, the UI thread waiting for it). Such
a message is over `BIG_MESSAGE`, so it is decoded in pieces, from the memoryview."""

Frames = list[bytes | memoryview]
"""A message's parts as the pump keeps them: bytes, or memoryviews from `UNCOPIED` up."""

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


def _is_status(frames: Frames) -> bool:
    """Cheaply, without decoding: is this a status message (busy/idle)?"""
    try:
        header = frames[frames.index(_DELIMITER) + 2]
    except (ValueError, IndexError):
        return False
    return _STATUS.search(header) is not None


def _receive(socket: zmq.Socket[bytes]) -> Frames:
    """The next message's parts (zmq.Again when there is none), its content and buffers
    not copied when they are large (`UNCOPIED`). The parts before them are received as
    bytes: a Frame object for each would double the cost of a flood's small messages."""
    parts: Frames = [socket.recv(zmq.NOBLOCK)]
    delimiter = 0 if parts[0] == _DELIMITER else -1
    while socket.getsockopt(zmq.RCVMORE):
        if delimiter >= 0 and len(parts) > delimiter + 4:
            frame = socket.recv(zmq.NOBLOCK, copy=False)
            parts.append(frame.bytes if len(frame) < UNCOPIED else frame.buffer)
            continue
        part = socket.recv(zmq.NOBLOCK)
        if delimiter < 0 and part == _DELIMITER:
            delimiter = len(parts)
        parts.append(part)
    return parts


class IopubPump:
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
        self.buffer: deque[Frames] = deque()
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

    def take(self) -> Frames | None:
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
                    self._keep(_receive(socket))
            except zmq.Again:
                continue
            except (zmq.ZMQError, RuntimeError):
                return  # the context is gone, or the loop is closed

    def _keep(self, frames: Frames) -> None:
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
