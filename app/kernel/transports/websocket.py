"""The kernel channels of a Jupyter Server kernel, over one WebSocket.

Each kernel's channels are one WebSocket at `/api/kernels/<id>/channels?session_id=...`.
They speak `v1.kernel.websocket.jupyter.org` when the server offers it (binary frames: a
table of offsets, then channel, header, parent header, metadata, content and buffers);
older servers get the legacy JSON text frames. The server holds the kernel's key and
signs for its clients, so no key is needed here.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from collections.abc import Sequence
from typing import Any, cast

import tornado.httpclient
import tornado.httputil
import tornado.websocket
from jupyter_client.session import Session

from nbtui.app.kernel.errors import NbtuiError
from nbtui.app.kernel.sanitize import sanitize_line
from nbtui.app.kernel.server import HTTP_TIMEOUT, JupyterServer, ServerKernel, failure_reason
from nbtui.app.kernel.transports import CHANNELS, Deliver
from nbtui.app.kernel.transports.reconnect import Restored

__all__ = ["V1_PROTOCOL", "WebSocketLink", "WebSocketTransport", "decode_v1", "encode_v1"]

V1_PROTOCOL = "v1.kernel.websocket.jupyter.org"

# The kernel channels carry whole outputs in one frame (a 50 MB DataFrame as HTML):
# tornado's default cap (10 MiB) would close the socket on the first big one.
_NO_CAP = 1 << 40


def encode_v1(channel: str, parts: Sequence[bytes]) -> bytes:
    """One v1 frame: the number of offsets, the offsets (little-endian u64), the channel,
    then the parts (header, parent header, metadata, content, buffers...)."""
    name = channel.encode()
    offsets = [8 * (len(parts) + 3)]
    offsets.append(offsets[-1] + len(name))
    for part in parts:
        offsets.append(offsets[-1] + len(part))
    table = b"".join(offset.to_bytes(8, "little") for offset in offsets)
    return b"".join([len(offsets).to_bytes(8, "little"), table, name, *parts])


def decode_v1(frame: bytes) -> tuple[str, list[bytes]]:
    """The channel and parts of one v1 frame.

    Raises:
        ValueError: The offsets do not describe this frame (hostile or corrupt).
    """
    if len(frame) < 8:
        raise ValueError("short frame")
    count = int.from_bytes(frame[:8], "little")
    if count < 2 or 8 * (count + 1) > len(frame):
        raise ValueError("bad offset count")
    offsets = [int.from_bytes(frame[8 * (i + 1) : 8 * (i + 2)], "little") for i in range(count)]
    if (
        offsets[0] < 8 * (count + 1)
        or offsets[-1] > len(frame)
        or any(later < earlier for earlier, later in itertools.pairwise(offsets))
    ):
        raise ValueError("bad offsets")
    channel = frame[offsets[0] : offsets[1]].decode()
    return channel, [frame[offsets[i] : offsets[i + 1]] for i in range(1, count - 1)]


class _Connection(tornado.websocket.WebSocketClientConnection):
    """tornado's client, telling us about pongs so a ping can measure its round trip."""

    pong: asyncio.Future[None] | None = None

    def on_pong(self, data: bytes) -> None:
        if self.pong is not None and not self.pong.done():
            self.pong.set_result(None)


class WebSocketTransport:
    """The kernel channels of a Jupyter Server kernel, over one WebSocket: a `Transport`.

    The session id in the URL is ours and unique: the server kicks out an older socket
    with the same id, and replays what a dropped socket missed when it comes back with
    it. The WebSocket's own ping stands in for the heartbeat, which the server keeps.

    Args:
        kernel: Where the kernel is.
        connect_timeout: Seconds to open the WebSocket.
        v1: Offer the v1 protocol; False asks for the legacy JSON frames.
    """

    def __init__(
        self, kernel: ServerKernel, connect_timeout: float = HTTP_TIMEOUT, *, v1: bool = True
    ) -> None:
        self.kernel = kernel
        self._offer_v1 = v1
        """False asks for the legacy JSON frames, as a server without v1 would give."""
        self.kind = "websocket"
        self.bad_signatures = 0
        self.malformed = 0
        self.connect_timeout = connect_timeout
        # The server signs on its side: our messages go unsigned, theirs come unsigned.
        # (Built with a throwaway key: with none, Session warns on the user's terminal.)
        self._session = Session(key=b"unused")
        self._session.key = b""
        self._conn: _Connection | None = None
        self._deliver: Deliver | None = None
        self._v1 = True
        self._closed = False
        self._reconnecting: asyncio.Task[bool] | None = None
        self.problem = ""
        """Why the WebSocket is down, when it is: what the server said, or why it could
        not be opened again."""
        self.unsent = 0
        """Messages that could not be sent because the socket was down."""
        self.gone = False
        """The server said the kernel is not there (404): it ended, or was shut down."""
        self.dropped = asyncio.Event()
        """Set when the WebSocket closes under us (not by `close()`)."""
        self._link: WebSocketLink | None = None
        self._rest: JupyterServer | None = None
        """The same server's REST API, for what the channels cannot do (interrupt); made
        when first needed (its HTTP client wants a running event loop)."""

    @property
    def session(self) -> Session:
        """An unsigned session: the server signs for us."""
        return self._session

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"token {self.kernel.token}"} if self.kernel.token else {}

    async def connect(self, deliver: Deliver) -> None:
        """Open the WebSocket; each message goes to `deliver` as it arrives."""
        self._deliver = deliver
        await self._open()

    async def _open(self) -> None:
        url = self.kernel.ws_url(self._session.session)
        request = tornado.httpclient.HTTPRequest(
            url,
            headers=tornado.httputil.HTTPHeaders(self._headers()),
            connect_timeout=self.connect_timeout,
            request_timeout=self.connect_timeout,
        )
        # What tornado's websocket_connect does before building its own connection class.
        request = cast(
            tornado.httpclient.HTTPRequest,
            tornado.httpclient._RequestProxy(request, tornado.httpclient.HTTPRequest._DEFAULTS),
        )
        conn = _Connection(
            request,
            on_message_callback=self._on_message,
            max_message_size=_NO_CAP,
            subprotocols=[V1_PROTOCOL] if self._offer_v1 else None,
        )
        where = f"kernel {self.kernel.kernel_id} on {self.kernel.base_url}"
        try:
            await asyncio.wait_for(conn.connect_future, self.connect_timeout)
        except tornado.httpclient.HTTPClientError as error:
            if error.code in (401, 403):
                raise NbtuiError(
                    f"the Jupyter Server refused the WebSocket of {where} "
                    f"({error.code}): check the token"
                ) from None
            if error.code == 404:
                self.gone = True
                raise NbtuiError(f"no {where} (404)") from None
            if 300 <= error.code < 400 or error.code in (424, 503):
                raise NbtuiError(
                    f"the WebSocket of {where} was sent elsewhere (HTTP {error.code}), as "
                    "JupyterHub does when the user's server is not running"
                ) from None
            raise NbtuiError(f"the WebSocket of {where} failed: HTTP {error.code}") from None
        except (OSError, asyncio.TimeoutError, tornado.websocket.WebSocketError) as error:
            raise NbtuiError(
                f"cannot open the WebSocket of {where}: {failure_reason(error)}"
            ) from None
        self._v1 = conn.selected_subprotocol == V1_PROTOCOL
        self.kind = "websocket v1" if self._v1 else "websocket (JSON frames)"
        self.problem = ""
        self._conn = conn

    # -- receiving -------------------------------------------------------------------------

    def _on_message(self, message: str | bytes | None) -> None:
        if message is None:
            conn = self._conn
            if conn is not None:
                # The server's words reach the liveness pane: made safe first.
                said = sanitize_line(conn.close_reason or "") or (
                    f"code {conn.close_code}" if conn.close_code else ""
                )
                self.problem = f"the server closed the WebSocket{f' ({said})' if said else ''}"
            self._conn = None
            if not self._closed:
                self.dropped.set()
            return
        try:
            channel, raw = self._decode(message)
        except Exception:  # noqa: BLE001 - hostile input must never kill the reader
            self.malformed += 1
            return
        if channel not in CHANNELS or self._deliver is None:
            self.malformed += 1
            return
        self._deliver(channel, raw)

    def _decode(self, message: str | bytes) -> tuple[str, dict[str, Any]]:
        if isinstance(message, bytes):
            if self._v1:
                channel, parts = decode_v1(message)
                # deserialize wants the signature first; with no key it is not checked.
                return channel, self._session.deserialize([b"", *parts])
            # Legacy binary frames carry buffers; the JSON part is what we show.
            return self._legacy_binary(message)
        data = json.loads(message)
        if not isinstance(data, dict):
            raise ValueError("not an object")
        return str(data.get("channel", "")), data

    def _legacy_binary(self, message: bytes) -> tuple[str, dict[str, Any]]:
        count = int.from_bytes(message[:4], "big")
        offsets = [int.from_bytes(message[4 * (i + 1) : 4 * (i + 2)], "big") for i in range(count)]
        end = offsets[1] if count > 1 else len(message)
        data = json.loads(message[offsets[0] : end])
        if not isinstance(data, dict):
            raise ValueError("not an object")
        return str(data.get("channel", "")), data

    # -- sending ---------------------------------------------------------------------------

    def send(self, channel: str, msg: dict[str, Any]) -> None:
        """Frame `msg` for `channel` and write it; while the socket is down it is counted
        in `unsent` and dropped."""
        conn = self._conn
        if conn is None:
            # Down for now: the request times out like one to a kernel that went away.
            self.unsent += 1
            return
        session = self._session
        if self._v1:
            parts = [
                session.pack(msg["header"]),
                session.pack(msg["parent_header"]),
                session.pack(msg["metadata"]),
                session.pack(msg["content"]),
                *msg.get("buffers", []),
            ]
            frame: str | bytes = encode_v1(channel, parts)
        else:
            frame = session.pack({**msg, "channel": channel}).decode()
        try:
            conn.write_message(frame, binary=isinstance(frame, bytes))
        except tornado.websocket.WebSocketClosedError:
            self.unsent += 1

    # -- liveness --------------------------------------------------------------------------

    async def ping(self, timeout: float) -> float | None:
        """The WebSocket's ping: proves the server and the path to it, not the kernel
        (the server says "restarting" or "dead" about that). A dropped socket is opened
        again here, with the same session id so the server replays what it missed."""
        if self._closed:
            return None
        conn = self._conn
        if conn is None:
            if not await self._reopen(timeout):
                return None
            conn = self._conn
            if conn is None:
                return None
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        conn.pong = future
        started = time.perf_counter()
        try:
            conn.ping(b"nbtui")
            await asyncio.wait_for(future, timeout)
        except (asyncio.TimeoutError, tornado.websocket.WebSocketClosedError):
            return None
        finally:
            conn.pong = None
        return time.perf_counter() - started

    async def _reopen(self, timeout: float) -> bool:
        if self._reconnecting is None or self._reconnecting.done():
            self._reconnecting = asyncio.create_task(self._try_open())
        with contextlib.suppress(asyncio.TimeoutError):
            return await asyncio.wait_for(asyncio.shield(self._reconnecting), timeout)
        return False

    async def _try_open(self) -> bool:
        try:
            await self._open()
        except NbtuiError as error:
            self.problem = str(error)
            return False
        return True

    def watch_link(self) -> None:
        """No connection events to watch: the ping above is the only signal."""
        return None

    @property
    def link(self) -> WebSocketLink:
        """The WebSocket as a `Link` that the session restores when it drops."""
        if self._link is None:
            self._link = WebSocketLink(self)
        return self._link

    async def interrupt(self) -> bool:
        """Through the server's REST API, which knows the kernel's interrupt mode."""
        if self._rest is None:
            self._rest = JupyterServer(self.kernel.base_url, self.kernel.token)
        try:
            await self._rest.interrupt(self.kernel.kernel_id)
        except NbtuiError:
            return False
        return True

    async def close(self) -> None:
        """Close the WebSocket and stop reopening it; the kernel runs on."""
        self._closed = True
        if self._link is not None:
            self._link.close()
        if self._reconnecting is not None:
            self._reconnecting.cancel()
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()


class WebSocketLink:
    """The `Link` of a kernel's WebSocket: down when it closes under us (a proxy or the
    network dropped it, the server went away), restored by opening it again with the same
    session id: the server then replays what the kernel sent meanwhile.

    Args:
        transport: The WebSocket transport.
    """

    replays = True
    """The server buffers a dropped session's messages and replays them on reconnect."""

    def __init__(self, transport: WebSocketTransport) -> None:
        self.transport = transport
        self.what = f"the WebSocket to {transport.kernel.base_url}"
        self._closed = asyncio.Event()

    @property
    def up(self) -> bool:
        """The WebSocket is open."""
        return self.transport._conn is not None

    async def wait_down(self) -> str | None:
        """Wait until the WebSocket closes under us; why, or None once closed."""
        dropped = asyncio.ensure_future(self.transport.dropped.wait())
        closed = asyncio.ensure_future(self._closed.wait())
        try:
            await asyncio.wait({dropped, closed}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            dropped.cancel()
            closed.cancel()
        if self._closed.is_set():
            return None
        self.transport.dropped.clear()
        return self.transport.problem or "the WebSocket closed"

    async def restore(self) -> Restored:
        """Open the WebSocket again (shared with a ping's own reopening).

        Returns:
            "up" when it opened, "refused" when the server says the kernel is gone (404).

        Raises:
            NbtuiError: It could not be opened (server unreachable, ...).
        """
        transport = self.transport
        if await transport._reopen(transport.connect_timeout + 1):
            transport.dropped.clear()  # the close of the socket that was replaced
            return "up"
        if transport.gone:
            return "refused"
        raise NbtuiError(transport.problem or "the WebSocket did not open")

    def close(self) -> None:
        """Stop watching."""
        self._closed.set()
