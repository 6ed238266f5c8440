"""Kernels on a Jupyter Server: its REST API and its WebSocket kernel channels.

A Jupyter Server (JupyterHub, a cloud notebook service, Enterprise Gateway) exposes its
kernels only over HTTP: `GET/POST /api/kernels` with `Authorization: token T`, and each
kernel's channels as one WebSocket at `/api/kernels/<id>/channels?session_id=<unique>`.
The server holds the kernel's key and signs for its clients, so no key is needed here.

The channels speak `v1.kernel.websocket.jupyter.org` when the server offers it (binary
frames: a table of offsets, then channel, header, parent header, metadata, content and
buffers); older servers get the legacy JSON text frames. tornado is jupyter_client's own
HTTP and WebSocket library, so talking to a server adds no dependency.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import time
import urllib.parse
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import tornado.httpclient
import tornado.httputil
import tornado.websocket
import zmq.asyncio
from jupyter_client.session import Session

from nbtui.app.kernel.errors import NbtuiError
from nbtui.app.kernel.sanitize import sanitize_line
from nbtui.app.kernel.transport import CHANNELS, Deliver

__all__ = [
    "V1_PROTOCOL",
    "JupyterServer",
    "ServerKernel",
    "ServerKernelModel",
    "ServerOwnKernel",
    "WebSocketTransport",
    "decode_v1",
    "encode_v1",
    "server_token",
]

V1_PROTOCOL = "v1.kernel.websocket.jupyter.org"
TOKEN_ENV = ("JUPYTER_TOKEN", "NBTUI_TOKEN")
"""Environment variables a token is read from when `--token` is not given."""

# The kernel channels carry whole outputs in one frame (a 50 MB DataFrame as HTML):
# tornado's default cap (10 MiB) would close the socket on the first big one.
_NO_CAP = 1 << 40
_HTTP_TIMEOUT = 10.0


def server_token(given: str | None) -> tuple[str, str]:
    """The token and where it came from ("--token", an environment variable, or "")."""
    if given is not None:
        return given, "--token"
    for name in TOKEN_ENV:
        value = os.environ.get(name)
        if value:
            return value, name
    return "", ""


def normalise_url(url: str) -> tuple[str, str]:
    """The server's base URL (no query, no trailing slash) and a token found in it.

    `jupyter server` prints `http://127.0.0.1:8888/?token=abc`; pasting that works.

    Raises:
        NbtuiError: Not an http(s) URL with a host, or one with a password in it. The
            message never repeats the query or the user part: a token may be in them.
    """
    if "://" not in url:
        url = f"http://{url}"
    parts = urllib.parse.urlsplit(url)
    shown = urllib.parse.urlunsplit((parts.scheme, parts.hostname or "", parts.path, "", ""))
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise NbtuiError(f"--server wants an http(s) URL like http://host:8888, not {shown!r}")
    if parts.username is not None or parts.password is not None:
        raise NbtuiError(
            "--server takes no user:password@ in the URL: a Jupyter Server "
            "logs in with a token (--token, or JUPYTER_TOKEN)"
        )
    token = urllib.parse.parse_qs(parts.query).get("token", [""])[0]
    path = parts.path.rstrip("/")
    for suffix in ("/lab", "/tree", "/notebooks"):
        # A browser URL of the server: its API lives under the same base.
        if path.endswith(suffix):
            path = path[: -len(suffix)]
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, path, "", "")), token


@dataclass(frozen=True)
class ServerKernelModel:
    """One kernel as the server's REST API describes it."""

    id: str
    name: str
    execution_state: str
    connections: int
    last_activity: str

    @classmethod
    def from_json(cls, raw: object) -> ServerKernelModel:
        """From the server's JSON, which reaches the terminal: every string is made safe
        (a hostile server or a kernelspec's name could carry escape sequences)."""
        data = raw if isinstance(raw, dict) else {}
        connections = data.get("connections")
        return cls(
            id=_safe(data.get("id", "")),
            name=_safe(data.get("name", "")),
            execution_state=_safe(data.get("execution_state", "unknown")),
            connections=connections if isinstance(connections, int) else 0,
            last_activity=_safe(data.get("last_activity", "")),
        )


def _safe(value: object) -> str:
    return sanitize_line(str(value))


@dataclass(frozen=True)
class ServerKernel:
    """Where a kernel on a Jupyter Server is: what `KernelClient` needs to reach it."""

    base_url: str
    kernel_id: str
    kernel_name: str
    token: str = field(repr=False)
    token_source: str = ""
    created: bool = False
    """nbtui asked the server for this kernel: the only kind it may delete."""

    path = None
    """Server kernels have no connection file."""
    group_readable = False
    tunnel = None

    @property
    def masked_token(self) -> str:
        """Never any of the token itself: a token is a login, not a fingerprint."""
        if not self.token:
            return "none"
        return f"•••••••• ({self.token_source})" if self.token_source else "••••••••"

    def ws_url(self, session_id: str) -> str:
        parts = urllib.parse.urlsplit(self.base_url)
        scheme = "wss" if parts.scheme == "https" else "ws"
        query = urllib.parse.urlencode({"session_id": session_id})
        path = f"{parts.path}/api/kernels/{self.kernel_id}/channels"
        return urllib.parse.urlunsplit((scheme, parts.netloc, path, query, ""))

    def join_command(self) -> str:
        """How another user joins; they bring their own token."""
        return f"nbtui --server {self.base_url} --kernel-id {self.kernel_id}"


class JupyterServer:
    """The REST API of one Jupyter Server, with its token.

    Every failure is one `NbtuiError` sentence: unreachable, token refused, not a
    Jupyter Server, no such kernel.
    """

    def __init__(self, url: str, token: str | None = None) -> None:
        self.base_url, url_token = normalise_url(url)
        # The most specific wins: --token, then the pasted URL's, then the environment's.
        if token is None and url_token:
            token_value, source = url_token, "the URL"
        else:
            token_value, source = server_token(token)
        self.token = token_value
        self.token_source = source
        self._http = tornado.httpclient.AsyncHTTPClient()

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"token {self.token}"} if self.token else {}

    async def _fetch(self, method: str, path: str, body: object = None) -> object:
        url = f"{self.base_url}{path}"
        request = tornado.httpclient.HTTPRequest(
            url,
            method=method,
            headers={**self.headers, "Content-Type": "application/json"},
            body=None if body is None and method == "GET" else json.dumps(body or {}),
            connect_timeout=_HTTP_TIMEOUT,
            request_timeout=_HTTP_TIMEOUT,
            allow_nonstandard_methods=True,
        )
        try:
            response = await self._http.fetch(request)
        except tornado.httpclient.HTTPClientError as error:
            raise NbtuiError(self._refusal(error.code, path)) from None
        except (OSError, asyncio.TimeoutError) as error:
            raise NbtuiError(
                f"cannot reach the Jupyter Server at {self.base_url}: {_reason(error)}"
            ) from None
        if not response.body:
            return None
        try:
            return cast(object, json.loads(response.body))
        except ValueError:
            raise NbtuiError(
                f"{self.base_url} does not look like a Jupyter Server: {path} did not answer JSON"
            ) from None

    def _refusal(self, code: int, path: str) -> str:
        if code in (401, 403):
            how = (
                f"the token from {self.token_source} was refused"
                if self.token
                else "it needs a token: give --token or set JUPYTER_TOKEN"
            )
            return f"the Jupyter Server at {self.base_url} said {code}: {how}"
        if code == 404 and path.startswith("/api/kernels/"):
            kernel = path.split("/")[3]
            return f"the Jupyter Server at {self.base_url} has no kernel {kernel}"
        if code == 404:
            return f"{self.base_url} does not look like a Jupyter Server ({path}: 404)"
        if code == 599:
            return f"cannot reach the Jupyter Server at {self.base_url}: timed out"
        return f"the Jupyter Server at {self.base_url} answered {code} to {path}"

    async def kernels(self) -> list[ServerKernelModel]:
        raw = await self._fetch("GET", "/api/kernels")
        if not isinstance(raw, list):
            raise NbtuiError(
                f"{self.base_url} does not look like a Jupyter Server: /api/kernels is not a list"
            )
        return [ServerKernelModel.from_json(entry) for entry in raw]

    async def kernel(self, kernel_id: str) -> ServerKernelModel:
        return ServerKernelModel.from_json(await self._fetch("GET", f"/api/kernels/{kernel_id}"))

    async def find(self, prefix: str) -> ServerKernelModel:
        """The kernel whose id starts with `prefix`.

        Raises:
            NbtuiError: None or several match.
        """
        kernels = await self.kernels()
        matches = [kernel for kernel in kernels if kernel.id.startswith(prefix)]
        if len(matches) == 1:
            return matches[0]
        if not matches:
            have = ", ".join(kernel.id[:8] for kernel in kernels) or "none"
            raise NbtuiError(f"no kernel {prefix!r} on {self.base_url} (it has: {have})")
        names = ", ".join(kernel.id for kernel in matches)
        raise NbtuiError(
            f"{prefix!r} matches {len(matches)} kernels on {self.base_url} "
            f"({names}): give more of the id"
        )

    async def kernelspecs(self) -> list[str]:
        raw = await self._fetch("GET", "/api/kernelspecs")
        specs = raw.get("kernelspecs") if isinstance(raw, dict) else None
        return sorted(specs) if isinstance(specs, dict) else []

    async def start(self, name: str, check: Callable[[], None] | None = None) -> ServerKernelModel:
        """Ask the server for a new kernel of kernelspec `name`.

        Args:
            check: Called once the server and the name are known to be good, just before
                the kernel is asked for; it may raise to stop that.
        """
        names = [_safe(spec) for spec in await self.kernelspecs()]
        if names and name not in names:
            raise NbtuiError(
                f"no kernel named {name!r} on {self.base_url} (it has: {', '.join(names)})"
            )
        if check is not None:
            check()
        return ServerKernelModel.from_json(
            await self._fetch("POST", "/api/kernels", {"name": name})
        )

    async def interrupt(self, kernel_id: str) -> None:
        await self._fetch("POST", f"/api/kernels/{kernel_id}/interrupt")

    async def restart(self, kernel_id: str) -> None:
        await self._fetch("POST", f"/api/kernels/{kernel_id}/restart")

    async def delete(self, kernel_id: str) -> None:
        await self._fetch("DELETE", f"/api/kernels/{kernel_id}")

    def locate(self, model: ServerKernelModel, *, created: bool = False) -> ServerKernel:
        return ServerKernel(
            self.base_url, model.id, model.name, self.token, self.token_source, created
        )


class ServerOwnKernel:
    """A server kernel nbtui asked for: the only kind it may restart or delete."""

    def __init__(self, server: JupyterServer, kernel: ServerKernel) -> None:
        self.server = server
        self.kernel = kernel

    @classmethod
    async def start(
        cls, server: JupyterServer, name: str, check: Callable[[], None] | None = None
    ) -> ServerOwnKernel:
        """Ask `server` for a new kernel of kernelspec `name` (see `JupyterServer.start`)."""
        return cls(server, server.locate(await server.start(name, check), created=True))

    async def interrupt(self) -> None:
        await self.server.interrupt(self.kernel.kernel_id)

    async def restart(self) -> None:
        await self.server.restart(self.kernel.kernel_id)

    async def shutdown(self) -> None:
        with contextlib.suppress(NbtuiError):
            await self.server.delete(self.kernel.kernel_id)


def _reason(error: BaseException) -> str:
    if isinstance(error, ConnectionRefusedError):
        return "connection refused"
    if isinstance(error, asyncio.TimeoutError):
        return "timed out"
    return getattr(error, "strerror", None) or str(error) or type(error).__name__


# -- the v1 kernel WebSocket protocol ------------------------------------------------------


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
    """The kernel channels of a Jupyter Server kernel, over one WebSocket.

    The session id in the URL is ours and unique: the server kicks out an older socket
    with the same id, and replays what a dropped socket missed when it comes back with
    it. The WebSocket's own ping stands in for the heartbeat, which the server keeps.
    """

    def __init__(
        self, kernel: ServerKernel, connect_timeout: float = _HTTP_TIMEOUT, *, v1: bool = True
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
        self._rest = JupyterServer(kernel.base_url, kernel.token)
        """The same server's REST API, for what the channels cannot do (interrupt)."""

    @property
    def session(self) -> Session:
        return self._session

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"token {self.kernel.token}"} if self.kernel.token else {}

    async def connect(self, deliver: Deliver) -> None:
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
                raise NbtuiError(f"no {where} (404)") from None
            raise NbtuiError(f"the WebSocket of {where} failed: HTTP {error.code}") from None
        except (OSError, asyncio.TimeoutError, tornado.websocket.WebSocketError) as error:
            raise NbtuiError(f"cannot open the WebSocket of {where}: {_reason(error)}") from None
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
                said = _safe(conn.close_reason or "") or (
                    f"code {conn.close_code}" if conn.close_code else ""
                )
                self.problem = f"the server closed the WebSocket{f' ({said})' if said else ''}"
            self._conn = None
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

    def hb_monitor(self) -> zmq.asyncio.Socket | None:
        return None

    async def interrupt(self) -> bool:
        """Through the server's REST API, which knows the kernel's interrupt mode."""
        try:
            await self._rest.interrupt(self.kernel.kernel_id)
        except NbtuiError:
            return False
        return True

    async def close(self) -> None:
        self._closed = True
        if self._reconnecting is not None:
            self._reconnecting.cancel()
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()
