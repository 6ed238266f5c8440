"""One connection to one kernel: sockets, readers, requests, heartbeat.

Each channel has one reader task that only receives, checks the signature, decodes,
and either resolves the request awaiting that reply (by msg_id) or appends to one inbox.
Nothing here waits on the UI; the UI drains the inbox at its own frame rate.

iopub drops messages silently for a subscriber that falls behind (libzmq's default
high-water mark is 1000). The receive high-water mark is lifted here so that libzmq's
I/O thread keeps pulling from the network even while the UI is busy drawing a frame:
a slow frame then costs memory for a moment, never output.
"""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import os
import time
import weakref
from collections import deque
from collections.abc import Callable
from typing import Any, cast

import zmq
import zmq.asyncio
from jupyter_client.asynchronous.client import AsyncKernelClient

from nbtui.app.kernel.connection import ConnectionInfo
from nbtui.app.kernel.errors import NbtuiError
from nbtui.app.kernel.messages import Msg

__all__ = ["KernelClient"]


def _release(sockets: list[zmq.asyncio.Socket], context: zmq.asyncio.Context) -> None:
    """Close every socket, then the context.

    Runs from `close()` or, for a client that was never closed, when it is collected:
    a context collected with sockets still open waits for them forever.
    """
    for socket in sockets:
        if not socket.closed:
            socket.close(linger=0)
    context.term()

# A reader yields to the event loop after this many messages, so a flood cannot starve
# the UI: awaiting a message that is already queued does not yield by itself.
_BATCH = 200


def _username() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return os.environ.get("USER", "user")


class KernelClient:
    """A client of one kernel, usable with or without a UI.

    Args:
        info: The validated connection info.
        username: Shown to other clients with our cells; defaults to the login name.
    """

    def __init__(self, info: ConnectionInfo, username: str | None = None) -> None:
        self.info = info
        self._context = zmq.asyncio.Context()
        self._context.setsockopt(zmq.RCVHWM, 0)
        self._context.setsockopt(zmq.LINGER, 0)
        self._jc = AsyncKernelClient(context=self._context)
        self._jc.load_connection_info(cast(Any, info.as_jupyter_dict()))
        self.session = self._jc.session
        self.session.username = username or _username()
        self.inbox: deque[Msg] = deque()
        """Every message no request is waiting for, in arrival order, for the UI."""
        self.on_message: Callable[[], None] | None = None
        """Called when the inbox goes from empty to not empty; the UI schedules a frame."""
        self.kernel_info: dict[str, Any] = {}
        self.counts: dict[str, int] = {"shell": 0, "iopub": 0, "stdin": 0, "control": 0}
        self.bad_signatures = 0
        self.malformed = 0
        self.hb_rtt: float | None = None
        self.hb_alive = True
        self._pending: dict[str, asyncio.Future[Msg]] = {}
        self._sockets: dict[str, zmq.asyncio.Socket] = {}
        self._hb: zmq.asyncio.Socket | None = None
        self._hb_lock = asyncio.Lock()
        self._tasks: list[asyncio.Task[None]] = []
        self._all_sockets: list[zmq.asyncio.Socket] = []
        """Every socket ever opened, so that none can outlive the context."""
        self._finalizer = weakref.finalize(self, _release, self._all_sockets, self._context)
        self._closed = False
        self.attached_at = 0.0
        """When attach succeeded: iopub from before it (a kernel's own start) is history."""

    @property
    def session_id(self) -> str:
        return str(self.session.session)

    @property
    def username(self) -> str:
        return str(self.session.username)

    # -- connecting ------------------------------------------------------------------------

    def _connect(self) -> None:
        if self._sockets:
            return
        identity = self.session.bsession
        # The client was built on an asyncio context, so these are asyncio sockets.
        self._sockets = {
            "shell": cast(zmq.asyncio.Socket, self._jc.connect_shell(identity=identity)),
            "iopub": cast(zmq.asyncio.Socket, self._jc.connect_iopub()),
            "stdin": cast(zmq.asyncio.Socket, self._jc.connect_stdin(identity=identity)),
            "control": cast(zmq.asyncio.Socket, self._jc.connect_control(identity=identity)),
        }
        self._all_sockets.extend(self._sockets.values())
        for channel, socket in self._sockets.items():
            self._tasks.append(asyncio.create_task(self._read(channel, socket)))

    async def attach(self, hb_timeout: float = 3.0, reply_timeout: float = 4.0) -> dict[str, Any]:
        """Connect and prove the kernel is there and that we share its key.

        kernel_info goes on the control channel: it answers in about a millisecond even
        while a cell runs, and unlike `wait_for_ready` it neither repeats itself on
        shell (each repeat shows as busy/idle on every client) nor discards iopub.

        Raises:
            NbtuiError: No heartbeat (dead kernel), or a heartbeat but no reply (wrong key).
        """
        where = str(self.info.path) if self.info.path else "the connection info"
        self._connect()
        deadline = time.monotonic() + hb_timeout
        rtt = None
        while rtt is None and time.monotonic() < deadline:
            rtt = await self.ping(min(0.5, max(0.05, deadline - time.monotonic())))
        if rtt is None:
            raise NbtuiError(
                f"the kernel of {where} does not answer: no heartbeat from "
                f"{self.info.ip}:{self.info.ports['hb']} in {hb_timeout:g} s "
                "(it may have died; its connection file can outlive it)"
            )
        reply = await self.request("control", "kernel_info_request", {}, timeout=reply_timeout)
        if reply is None:
            # Some kernels only listen on shell: one short try there before giving up.
            reply = await self.request("shell", "kernel_info_request", {}, timeout=1.0)
        if reply is None:
            detail = (
                f" ({self.bad_signatures} messages failed the signature check)"
                if self.bad_signatures
                else ""
            )
            raise NbtuiError(
                f"the kernel of {where} answers its heartbeat but not requests: "
                f"the key is probably wrong{detail}"
            )
        self.kernel_info = reply.content
        await self._iopub_ready(reply.parent_id)
        self.attached_at = time.monotonic()
        return reply.content

    async def _iopub_ready(self, request_id: str, tries: int = 3, wait: float = 0.5) -> bool:
        """Wait until iopub delivers: its subscription reaches the kernel some time after
        connecting (ZeroMQ's slow joiner), and output published before then is lost, so a
        first cell run at once could show nothing. Kernels publish busy/idle for a control
        request: seeing that for ours proves the subscription. A kernel that publishes none
        is not held up for more than `tries * wait` seconds."""
        for attempt in range(tries):
            if attempt:
                probe = self.session.msg("kernel_info_request", {})
                request_id = str(probe["header"]["msg_id"])
                self.session.send(self._sockets["control"], probe)
            deadline = time.monotonic() + wait
            while time.monotonic() < deadline:
                if any(m.channel == "iopub" and m.parent_id == request_id for m in self.inbox):
                    return True
                await asyncio.sleep(0.005)
        return False

    # -- reading ---------------------------------------------------------------------------

    async def _read(self, channel: str, socket: zmq.asyncio.Socket) -> None:
        session = self.session
        received = 0
        while not self._closed:
            try:
                frames = await socket.recv_multipart()
            except (asyncio.CancelledError, zmq.ContextTerminated, zmq.ZMQError):
                return
            received += 1
            if received % _BATCH == 0:
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
            self.counts[channel] += 1
            msg = Msg.from_dict(channel, raw)
            future = self._pending.pop(msg.parent_id, None) if channel != "iopub" else None
            if future is not None and not future.done():
                future.set_result(msg)
                continue
            self._push(msg)

    def _push(self, msg: Msg) -> None:
        was_empty = not self.inbox
        self.inbox.append(msg)
        if was_empty and self.on_message is not None:
            self.on_message()

    def drain(self) -> list[Msg]:
        """Take every message received since the last drain."""
        inbox = self.inbox
        if not inbox:
            return []
        messages = list(inbox)
        inbox.clear()
        return messages

    # -- sending ---------------------------------------------------------------------------

    def send(self, channel: str, msg_type: str, content: dict[str, Any],
             parent: dict[str, Any] | None = None) -> str:
        """Sign and send a message; returns its msg_id."""
        if self._closed:
            raise NbtuiError("the connection to the kernel is closed")
        msg = self.session.msg(msg_type, content, parent=parent)
        self.session.send(self._sockets[channel], msg)
        return str(msg["header"]["msg_id"])

    async def request(self, channel: str, msg_type: str, content: dict[str, Any],
                      timeout: float) -> Msg | None:
        """Send a request and wait for its reply, or None after `timeout` seconds."""
        msg = self.session.msg(msg_type, content)
        msg_id = str(msg["header"]["msg_id"])
        future: asyncio.Future[Msg] = asyncio.get_running_loop().create_future()
        self._pending[msg_id] = future
        self.session.send(self._sockets[channel], msg)
        try:
            return await asyncio.wait_for(future, timeout)
        except asyncio.TimeoutError:
            return None
        finally:
            self._pending.pop(msg_id, None)

    def execute(self, code: str, *, silent: bool = False, store_history: bool = True,
                allow_stdin: bool = True, stop_on_error: bool = True) -> str:
        return self.send("shell", "execute_request", {
            "code": code,
            "silent": silent,
            "store_history": store_history,
            "user_expressions": {},
            "allow_stdin": allow_stdin,
            "stop_on_error": stop_on_error,
        })

    async def is_complete(self, code: str, timeout: float = 0.5) -> str | None:
        """The kernel's verdict ("complete", "incomplete", "invalid", "unknown") or None."""
        reply = await self.request("shell", "is_complete_request", {"code": code}, timeout)
        if reply is None:
            return None
        status = reply.content.get("status")
        return status if isinstance(status, str) else None

    async def complete(self, code: str, cursor_pos: int,
                       timeout: float = 2.0) -> tuple[list[str], int, int] | None:
        """Completions at `cursor_pos`: (matches, cursor_start, cursor_end), or None."""
        reply = await self.request(
            "shell", "complete_request", {"code": code, "cursor_pos": cursor_pos}, timeout
        )
        if reply is None or reply.content.get("status") != "ok":
            return None
        matches = reply.content.get("matches")
        start = reply.content.get("cursor_start", cursor_pos)
        end = reply.content.get("cursor_end", cursor_pos)
        if not isinstance(matches, list):
            return None
        return (
            [str(match) for match in matches],
            start if isinstance(start, int) else cursor_pos,
            end if isinstance(end, int) else cursor_pos,
        )

    async def history(self, timeout: float = 3.0) -> list[str]:
        """This kernel's inputs from every client, oldest first."""
        return [code for _, code in await self.numbered_history(timeout)]

    async def numbered_history(self, timeout: float = 3.0) -> list[tuple[int, str]]:
        """This kernel's inputs from every client with their execution counts, oldest first.

        `range` over session 0 is this kernel's own history; `tail` would also mix in
        other kernels that share the IPython profile.
        """
        reply = await self.request("shell", "history_request", {
            "output": False, "raw": True, "hist_access_type": "range",
            "session": 0, "start": 1, "stop": None,
        }, timeout)
        if reply is None:
            return []
        entries = reply.content.get("history")
        if not isinstance(entries, list):
            return []
        inputs: list[tuple[int, str]] = []
        for entry in entries:
            if (isinstance(entry, (list, tuple)) and len(entry) >= 3
                    and isinstance(entry[1], int) and isinstance(entry[2], str)):
                inputs.append((entry[1], entry[2]))
        return inputs

    def input_reply(self, value: str, request: Msg) -> None:
        self.send("stdin", "input_reply", {"value": value}, parent=request.header)

    async def interrupt(self, timeout: float = 2.0) -> Msg | None:
        """interrupt_request on control: works on kernels we did not start (ipykernel>=6.2)."""
        return await self.request("control", "interrupt_request", {}, timeout)

    # -- heartbeat -------------------------------------------------------------------------

    def _hb_socket(self) -> zmq.asyncio.Socket:
        if self._hb is None:
            # Each missed ping replaces the socket: forget the closed ones, or a kernel
            # that stays dead for days would grow this list by one a second.
            self._all_sockets[:] = [socket for socket in self._all_sockets
                                    if not socket.closed]
            self._hb = cast(zmq.asyncio.Socket, self._jc.connect_hb())
            self._all_sockets.append(self._hb)
        return self._hb

    async def _echo(self, socket: zmq.asyncio.Socket) -> None:
        await socket.send(b"ping")
        await socket.recv()

    async def ping(self, timeout: float) -> float | None:
        """One heartbeat round trip in seconds, or None if none came within `timeout`.

        Safe to cancel: the socket is then replaced like after a miss.
        """
        async with self._hb_lock:
            socket = self._hb_socket()
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
            rtt = time.perf_counter() - started
            self.hb_rtt = rtt
            return rtt

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
        watch.connect(self.info.url("hb"))
        return monitor

    # -- closing ---------------------------------------------------------------------------

    async def close(self) -> None:
        """Close every socket; never touches the kernel itself."""
        if self._closed:
            return
        self._closed = True
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._finalizer()
