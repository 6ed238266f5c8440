"""One connection to one kernel: requests, replies, the inbox; the wire is a transport.

Each channel's reader (in the transport) only receives, checks the signature, decodes,
and hands the message here, where it either resolves the request awaiting that reply
(by msg_id) or is appended to one inbox. Nothing here waits on the UI; the UI drains
the inbox at its own frame rate.

The requests that only ask and read a reply (completions, history, is_complete) are in
:class:`~nbtui.app.kernel.requests.KernelRequests`, which `KernelClient` extends.
"""

from __future__ import annotations

import asyncio
import getpass
import os
import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from nbtui.app.kernel.errors import NbtuiError
from nbtui.app.kernel.lost_ends import IopubOrder
from nbtui.app.kernel.messages import Msg, kernel_event
from nbtui.app.kernel.requests import KernelRequests
from nbtui.app.kernel.transports import LinkWatch, Transport, open_transport

if TYPE_CHECKING:
    from nbtui.app.kernel.target import KernelTarget

__all__ = ["KernelClient"]

_QUIET_BACKLOG = 256

DRAIN_CHARS = 2 << 20
"""Stream text one drain hands over at most (one message more if needed): the model
sanitizes and splits ~10 ms a MB in the frame that takes it, so a burst of megabyte lines
is shown over a few frames instead of stalling one."""


def _chars(msg: Msg) -> int:
    """The stream text a message carries (what costs a frame time), else 0."""
    if msg.msg_type != "stream":
        return 0
    text = msg.content.get("text")
    return len(text) if isinstance(text, str) else 0


"""Quiet messages (`_is_quiet`) wake the UI anyway once this many wait in the inbox."""


def _is_quiet(msg: Msg) -> bool:
    """Busy/idle around a request that is not a cell: liveness and usage probes (ours and
    every other client's), completions, history. Each probe makes the kernel publish two,
    and the transcript shows nothing of them: waking a frame for them was most of an idle
    nbtui's CPU. They still reach the model with the next frame."""
    return (
        msg.channel == "iopub"
        and msg.msg_type == "status"
        and msg.parent_msg_type != "execute_request"
        and msg.content.get("execution_state") in ("busy", "idle")
    )


def _ends_cell(msg: Msg) -> bool:
    """The kernel going idle after a cell: the last of that cell's output has arrived."""
    return (
        msg.channel == "iopub"
        and msg.msg_type == "status"
        and msg.parent_msg_type == "execute_request"
        and msg.content.get("execution_state") == "idle"
    )


def _username() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return os.environ.get("USER", "user")


class KernelClient(KernelRequests):
    """A client of one kernel, usable with or without a UI.

    Args:
        info: Where the kernel is: validated connection info (ZeroMQ, maybe tunnelled),
            a kernel on a Jupyter Server, or any other `KernelTarget`.
        username: Shown to other clients with our cells; defaults to the login name.
        transport: How to reach it; by default the one `info` calls for (`open_transport`).
    """

    def __init__(
        self,
        info: KernelTarget,
        username: str | None = None,
        transport: Transport | None = None,
    ) -> None:
        self.info = info
        """Where the kernel is."""
        self.transport: Transport = transport if transport is not None else open_transport(info)
        self.session = self.transport.session
        self.session.username = username or _username()
        self.inbox: deque[Msg] = deque()
        self._inbox_chars = 0
        """Every message no request is waiting for, in arrival order, for the UI."""
        self.on_message: Callable[[], None] | None = None
        """Called when a message arrives and none has been announced since the last
        `drain()`; the UI schedules a frame. Quiet messages (busy/idle around probes) wait
        for the next frame instead."""
        self.on_cell_end: Callable[[], None] | None = None
        """Called when a cell's idle arrives (anyone's): its output is complete, and the UI
        may want to show it sooner than the next frame. `on_message` is not called then."""
        self._announced = False
        self.last_iopub: float | None = None
        """`time.monotonic()` of the latest iopub message, quiet ones included."""
        self.on_kernel_event: Callable[[str], None] | None = None
        """Called with "restarting" or "dead" when whoever manages the kernel says so
        (a Jupyter Server's status messages; a `shutdown_reply` asking for a restart)."""
        self.kernel_info: dict[str, Any] = {}
        self.kernel_session = ""
        """The kernel process's own session id (its replies' header): new after a restart."""
        self.counts: dict[str, int] = {"shell": 0, "iopub": 0, "stdin": 0, "control": 0}
        self.hb_rtt: float | None = None
        self.hb_alive = True
        self._pending: dict[str, asyncio.Future[Msg]] = {}
        self._bad_signatures_seen = 0
        """The transport's bad-signature count when the latest good message came."""
        self._execute_replies: dict[str, asyncio.Future[Msg]] = {}
        """Our execute requests still waiting for their execute_reply, by msg_id."""
        self._iopub_parents: deque[str] = deque(maxlen=64)
        """Requests whose busy/idle came through iopub lately (the UI drains the inbox)."""
        self.iopub_order = IopubOrder()
        """How far iopub has delivered, from our requests' busy/idle (`lost_ends`): the
        session tells it what it applies, in order, so it runs no further than the model."""
        self._connected = False
        self._closed = False
        self.attached_at = 0.0
        """When attach succeeded: iopub from before it (a kernel's own start) is history."""

    @property
    def bad_signatures(self) -> int:
        """Messages dropped for a wrong signature (a wrong key)."""
        return self.transport.bad_signatures

    @property
    def key_suspect(self) -> bool:
        """Messages failed the signature check since the last one that passed.

        Only then is a wrong key worth naming when a request goes unanswered: a bad
        message long before, followed by good ones, says nothing about a slow reply now.
        """
        return self.transport.bad_signatures > self._bad_signatures_seen

    @property
    def malformed(self) -> int:
        """Messages dropped because they could not be decoded."""
        return self.transport.malformed

    @property
    def link_problem(self) -> str:
        """Why the way to the kernel is down, if the transport can tell."""
        return self.transport.problem

    @property
    def session_id(self) -> str:
        """Our session id: the header session of every message we send."""
        return str(self.session.session)

    @property
    def username(self) -> str:
        """Shown to other clients with our cells."""
        return str(self.session.username)

    # -- connecting ------------------------------------------------------------------------

    async def _connect(self) -> None:
        if self._connected:
            return
        self._connected = True
        await self.transport.connect(self._deliver)

    async def attach(self, hb_timeout: float = 3.0, reply_timeout: float = 4.0) -> dict[str, Any]:
        """Connect and prove the kernel is there and that we share its key.

        kernel_info goes on the control channel: it answers in about a millisecond even
        while a cell runs, and unlike `wait_for_ready` it neither repeats itself on
        shell (each repeat shows as busy/idle on every client) nor discards iopub.

        Where the transport's ping proves only a server (`KernelTarget.pings_kernel`),
        the server checks the token and signs for us: a kernel that answers kernel_info
        is all there is to prove.

        Raises:
            NbtuiError: No heartbeat (dead kernel), or a heartbeat but no reply (wrong key);
                for a server kernel, a refused WebSocket or no reply.
        """
        await self._connect()
        info = self.info
        if info.pings_kernel:
            deadline = time.monotonic() + hb_timeout
            rtt = None
            while rtt is None and time.monotonic() < deadline:
                rtt = await self.ping(min(0.5, max(0.05, deadline - time.monotonic())))
            if rtt is None:
                raise NbtuiError(info.no_heartbeat(hb_timeout))
        reply = await self.request("control", "kernel_info_request", {}, timeout=reply_timeout)
        if reply is None:
            # Some kernels only listen on shell: one short try there before giving up.
            reply = await self.request("shell", "kernel_info_request", {}, timeout=1.0)
        if reply is None:
            # Messages signed with this key came (someone else's output): the key is right.
            signed = sum(count for channel, count in self.counts.items() if channel != "nbtui")
            raise NbtuiError(
                info.no_reply(
                    reply_timeout + 1,
                    self.bad_signatures,
                    key_proven=bool(signed) and not self.key_suspect,
                )
            )
        self.kernel_info = reply.content
        self.kernel_session = str(reply.header.get("session", ""))
        await self.iopub_ready(reply.parent_id)
        self.attached_at = time.monotonic()
        return reply.content

    async def iopub_ready(self, request_id: str, tries: int = 3, wait: float = 0.5) -> bool:
        """Wait until iopub delivers: its subscription reaches the kernel some time after
        connecting (ZeroMQ's slow joiner), and output published before then is lost, so a
        first cell run at once could show nothing. Kernels publish busy/idle for a control
        request: seeing that for ours proves the subscription. A kernel that publishes none
        is not held up for more than `tries * wait` seconds.

        A Jupyter Server has the same gap after it restarts a kernel (its own subscription
        to the new process), so the liveness monitor calls this after a restart too."""
        for attempt in range(tries):
            if attempt:
                probe = self.session.msg("kernel_info_request", {})
                request_id = str(probe["header"]["msg_id"])
                self.transport.send("control", probe)
            deadline = time.monotonic() + wait
            while time.monotonic() < deadline:
                if request_id in self._iopub_parents:
                    return True
                await asyncio.sleep(0.005)
        return False

    # -- reading ---------------------------------------------------------------------------

    def _deliver(self, channel: str, raw: dict[str, Any]) -> None:
        self.counts[channel] = self.counts.get(channel, 0) + 1
        if channel != "nbtui":  # the transport's own reports are not signed messages
            self._bad_signatures_seen = self.transport.bad_signatures
        msg = Msg.from_dict(channel, raw)
        if channel == "iopub":
            self.last_iopub = msg.received
        future = self._pending.pop(msg.parent_id, None) if channel != "iopub" else None
        if future is not None and not future.done():
            future.set_result(msg)
            return
        if channel == "shell" and msg.msg_type == "execute_reply":
            # Resolved for whoever waits on the cell, and still the model's to read.
            replied = self._execute_replies.pop(msg.parent_id, None)
            if replied is not None and not replied.done():
                replied.set_result(msg)
        if channel == "iopub" and msg.msg_type == "status":
            self._iopub_parents.append(msg.parent_id)
        if channel == "iopub" and self.on_kernel_event is not None:
            event = kernel_event(msg)
            if event:
                self.on_kernel_event(event)
        self._push(msg)

    def _push(self, msg: Msg) -> None:
        self.inbox.append(msg)
        self._inbox_chars += _chars(msg)
        if self.on_cell_end is not None and _ends_cell(msg):
            self._announced = True
            self.on_cell_end()
            return
        if self._announced or self.on_message is None:
            return
        if _is_quiet(msg) and len(self.inbox) < _QUIET_BACKLOG:
            return
        self._announced = True
        self.on_message()

    def drain(self) -> list[Msg]:
        """Take the messages received since the last drain: all of them, unless they carry
        more than `DRAIN_CHARS` of stream text; then the oldest up to it, and the next
        frame is asked for at once (`on_message`) for the rest."""
        self._announced = False
        inbox = self.inbox
        if not inbox:
            return []
        if self._inbox_chars <= DRAIN_CHARS:
            messages = list(inbox)
            inbox.clear()
            self._inbox_chars = 0
            return messages
        messages = []
        taken = 0
        while inbox and (not messages or taken + _chars(inbox[0]) <= DRAIN_CHARS):
            msg = inbox.popleft()
            taken += _chars(msg)
            messages.append(msg)
        self._inbox_chars -= taken
        if inbox and self.on_message is not None:
            self._announced = True
            self.on_message()
        return messages

    # -- sending ---------------------------------------------------------------------------

    def send(
        self,
        channel: str,
        msg_type: str,
        content: dict[str, Any],
        parent: dict[str, Any] | None = None,
    ) -> str:
        """Sign and send a message; returns its msg_id."""
        if self._closed:
            raise NbtuiError("the connection to the kernel is closed")
        msg = self.session.msg(msg_type, content, parent=parent)
        self.transport.send(channel, msg)
        return str(msg["header"]["msg_id"])

    async def request(
        self, channel: str, msg_type: str, content: dict[str, Any], timeout: float
    ) -> Msg | None:
        """Send a request and wait for its reply, or None after `timeout` seconds."""
        msg = self.session.msg(msg_type, content)
        msg_id = str(msg["header"]["msg_id"])
        future: asyncio.Future[Msg] = asyncio.get_running_loop().create_future()
        self._pending[msg_id] = future
        self.transport.send(channel, msg)
        self.iopub_order.sent(msg_id)
        try:
            return await asyncio.wait_for(future, timeout)
        except asyncio.TimeoutError:
            return None
        finally:
            self._pending.pop(msg_id, None)

    def execute(
        self,
        code: str,
        *,
        silent: bool = False,
        store_history: bool = True,
        allow_stdin: bool = True,
        stop_on_error: bool = True,
    ) -> str:
        """Send a cell; returns its msg_id. `execute_reply(msg_id)` waits for its end."""
        msg_id = self.send(
            "shell",
            "execute_request",
            {
                "code": code,
                "silent": silent,
                "store_history": store_history,
                "user_expressions": {},
                "allow_stdin": allow_stdin,
                "stop_on_error": stop_on_error,
            },
        )
        self._execute_replies[msg_id] = asyncio.get_running_loop().create_future()
        return msg_id

    def replied(self, msg_id: str) -> bool:
        """Whether our execute request `msg_id` has had its reply (or is not ours)."""
        return msg_id not in self._execute_replies

    async def execute_reply(self, msg_id: str) -> Msg | None:
        """The execute_reply to our request `msg_id`: it comes after the cell ended, however
        it ended (done, failed, interrupted from any client, aborted). None when it has
        already come or was given up (`abandon_replies`, `close`)."""
        future = self._execute_replies.get(msg_id)
        if future is None:
            return None
        try:
            return await asyncio.shield(future)
        except asyncio.CancelledError:
            if future.cancelled():
                return None
            raise

    def abandon_replies(self) -> list[str]:
        """The kernel died or restarted: no reply will come to what we sent. Whoever waits
        gets None; returns the msg_ids given up."""
        given_up = list(self._execute_replies)
        for future in self._execute_replies.values():
            future.cancel()
        self._execute_replies.clear()
        return given_up

    def input_reply(self, value: str, request: Msg) -> None:
        """Answer the kernel's `input()` (an input_request) with `value`."""
        self.send("stdin", "input_reply", {"value": value}, parent=request.header)

    async def interrupt(self, timeout: float = 2.0) -> Msg | None:
        """Through the server that runs the kernel, if there is one; else interrupt_request
        on control, which works on kernels we did not start (ipykernel>=6.2)."""
        if await self.transport.interrupt():
            return None
        return await self.request("control", "interrupt_request", {}, timeout)

    # -- heartbeat -------------------------------------------------------------------------

    async def ping(self, timeout: float) -> float | None:
        """One heartbeat round trip in seconds, or None if none came within `timeout`.

        Over a Jupyter Server this is the WebSocket's own ping: the server watches the
        kernel's heartbeat itself and says "restarting" or "dead" on iopub.
        """
        rtt = await self.transport.ping(timeout)
        if rtt is not None:
            self.hb_rtt = rtt
        return rtt

    def watch_link(self) -> LinkWatch | None:
        """The transport's connection events (`Transport.watch_link`); None for a
        transport without them.

        Raises:
            NbtuiError: The client is closed.
        """
        if self._closed:
            raise NbtuiError("the connection to the kernel is closed")
        return self.transport.watch_link()

    # -- closing ---------------------------------------------------------------------------

    async def close(self) -> None:
        """Close the connection; never touches the kernel itself."""
        if self._closed:
            return
        self._closed = True
        for future in self._pending.values():
            future.cancel()
        self.abandon_replies()
        await self.transport.close()
