"""Kernels on a Jupyter Server: its REST API, and where one of its kernels is.

A Jupyter Server (JupyterHub, a cloud notebook service, Enterprise Gateway) exposes its
kernels only over HTTP: `GET/POST /api/kernels` with `Authorization: token T`, and each
kernel's channels as one WebSocket (`nbtui.app.kernel.transports.websocket`). The server
holds the kernel's key and signs for its clients, so no key is needed here. tornado is
jupyter_client's own HTTP and WebSocket library, so talking to a server adds no
dependency.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import cast

import tornado.httpclient

from nbtui.app.kernel.errors import NbtuiError
from nbtui.app.kernel.sanitize import sanitize_line
from nbtui.app.kernel.target import PaneRow, pane_row, value_row

__all__ = [
    "HTTP_TIMEOUT",
    "JupyterServer",
    "ServerKernel",
    "ServerKernelModel",
    "ServerOwnKernel",
    "failure_reason",
    "normalise_url",
    "server_token",
]

TOKEN_ENV = ("JUPYTER_TOKEN", "NBTUI_TOKEN")
"""Environment variables a token is read from when `--token` is not given."""

HTTP_TIMEOUT = 10.0
"""Seconds to connect to a server, and for one request to it."""


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
    """Where a kernel on a Jupyter Server is: a `KernelTarget` reached over its WebSocket."""

    base_url: str
    kernel_id: str
    kernel_name: str
    token: str = field(repr=False)
    token_source: str = ""
    created: bool = False
    """nbtui asked the server for this kernel: the only kind it may delete."""

    @property
    def masked_token(self) -> str:
        """Never any of the token itself: a token is a login, not a fingerprint."""
        if not self.token:
            return "none"
        return f"•••••••• ({self.token_source})" if self.token_source else "••••••••"

    def ws_url(self, session_id: str) -> str:
        """The kernel's channels, for a client whose session id is `session_id`."""
        parts = urllib.parse.urlsplit(self.base_url)
        scheme = "wss" if parts.scheme == "https" else "ws"
        query = urllib.parse.urlencode({"session_id": session_id})
        path = f"{parts.path}/api/kernels/{self.kernel_id}/channels"
        return urllib.parse.urlunsplit((scheme, parts.netloc, path, query, ""))

    def join_command(self) -> str:
        """How another user joins; they bring their own token."""
        return f"nbtui --server {self.base_url} --kernel-id {self.kernel_id}"

    # -- KernelTarget ----------------------------------------------------------------------

    @property
    def transport_name(self) -> str:
        """The server's WebSocket channels."""
        return "websocket"

    @property
    def label(self) -> str:
        """The server's host and port, and the kernel id's first eight characters."""
        return f"{urllib.parse.urlsplit(self.base_url).netloc} {self.kernel_id[:8]}"

    @property
    def is_local(self) -> bool:
        """Never: even on this machine, its ports and process are the server's secret."""
        return False

    @property
    def pid_port(self) -> None:
        """None: the kernel is not local."""
        return None

    @property
    def pings_kernel(self) -> bool:
        """No: the WebSocket's ping proves the server; the server watches the kernel."""
        return False

    @property
    def exposure_notice(self) -> str:
        """None: the token is the user's own."""
        return ""

    @property
    def pane_warning(self) -> str:
        """None, as `exposure_notice`."""
        return ""

    @property
    def restart_detail(self) -> str:
        """Nothing to add: the server restarts it wherever it likes."""
        return ""

    @property
    def restarting_detail(self) -> str:
        """A server says so on its own, on the kernel's iopub."""
        return "its server says so"

    def pane_rows(self, transport: str) -> tuple[PaneRow, ...]:
        """The server, how messages travel, the masked token, and the kernel's id."""
        return (
            value_row("server", self.base_url),
            pane_row(
                "", (transport or "websocket", "value"), " · token ", (self.masked_token, "value")
            ),
            pane_row(
                "id",
                (self.kernel_id, "value"),
                " · ",
                (self.kernel_name or "?", "value"),
                (" · started by nbtui" if self.created else "", "muted"),
            ),
        )

    def no_heartbeat(self, timeout: float) -> str:
        """The server's WebSocket did not answer its ping."""
        return (
            f"the Jupyter Server at {self.base_url} does not answer the WebSocket of "
            f"kernel {self.kernel_id} within {timeout:g} s"
        )

    def no_reply(self, timeout: float, bad_signatures: int, *, key_proven: bool) -> str:
        """The kernel does not answer through its server (the server signs: no key)."""
        return (
            f"kernel {self.kernel_id} on {self.base_url} does not answer requests "
            f"within {timeout:g} s (it may still be starting, or be stuck)"
        )


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
        """The token as an Authorization header, when there is one."""
        return {"Authorization": f"token {self.token}"} if self.token else {}

    async def _fetch(self, method: str, path: str, body: object = None) -> object:
        url = f"{self.base_url}{path}"
        request = tornado.httpclient.HTTPRequest(
            url,
            method=method,
            headers={**self.headers, "Content-Type": "application/json"},
            body=None if body is None and method == "GET" else json.dumps(body or {}),
            connect_timeout=HTTP_TIMEOUT,
            request_timeout=HTTP_TIMEOUT,
            allow_nonstandard_methods=True,
        )
        try:
            response = await self._http.fetch(request)
        except tornado.httpclient.HTTPClientError as error:
            raise NbtuiError(self._refusal(error.code, path)) from None
        except (OSError, asyncio.TimeoutError) as error:
            raise NbtuiError(
                f"cannot reach the Jupyter Server at {self.base_url}: {failure_reason(error)}"
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
        """Every kernel the server runs."""
        raw = await self._fetch("GET", "/api/kernels")
        if not isinstance(raw, list):
            raise NbtuiError(
                f"{self.base_url} does not look like a Jupyter Server: /api/kernels is not a list"
            )
        return [ServerKernelModel.from_json(entry) for entry in raw]

    async def kernel(self, kernel_id: str) -> ServerKernelModel:
        """One kernel, by its full id."""
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
        """The names of the kernels the server can start, sorted."""
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
        """Interrupt a kernel the way its kernelspec says (signal or message)."""
        await self._fetch("POST", f"/api/kernels/{kernel_id}/interrupt")

    async def restart(self, kernel_id: str) -> None:
        """Restart a kernel: all its state is lost."""
        await self._fetch("POST", f"/api/kernels/{kernel_id}/restart")

    async def delete(self, kernel_id: str) -> None:
        """Shut a kernel down for good."""
        await self._fetch("DELETE", f"/api/kernels/{kernel_id}")

    def locate(self, model: ServerKernelModel, *, created: bool = False) -> ServerKernel:
        """Where `model`'s kernel is, with this server's token; `created` if nbtui asked
        for it."""
        return ServerKernel(
            self.base_url, model.id, model.name, self.token, self.token_source, created
        )


class ServerOwnKernel:
    """A server kernel nbtui asked for: the only kind it may restart or delete."""

    def __init__(self, server: JupyterServer, kernel: ServerKernel) -> None:
        self.server = server
        self.kernel = kernel

    @property
    def session_id(self) -> str:
        """ "": the server restarts the kernel with a session of its own."""
        return ""

    @property
    def target(self) -> ServerKernel:
        """Where the kernel is, to attach to it."""
        return self.kernel

    @classmethod
    async def start(
        cls, server: JupyterServer, name: str, check: Callable[[], None] | None = None
    ) -> ServerOwnKernel:
        """Ask `server` for a new kernel of kernelspec `name` (see `JupyterServer.start`)."""
        return cls(server, server.locate(await server.start(name, check), created=True))

    async def may_be_starting(self) -> bool:
        """No: the server answers for a kernel once it has started it."""
        return False

    async def interrupt(self) -> None:
        """Through the server's REST API."""
        await self.server.interrupt(self.kernel.kernel_id)

    async def restart(self) -> None:
        """Through the server's REST API."""
        await self.server.restart(self.kernel.kernel_id)

    async def shutdown(self) -> None:
        """Delete the kernel on the server; a server already gone is no error."""
        with contextlib.suppress(NbtuiError):
            await self.server.delete(self.kernel.kernel_id)


def failure_reason(error: BaseException) -> str:
    """A few words on why a connection failed ("connection refused", "timed out")."""
    if isinstance(error, ConnectionRefusedError):
        return "connection refused"
    if isinstance(error, asyncio.TimeoutError):
        return "timed out"
    return getattr(error, "strerror", None) or str(error) or type(error).__name__
