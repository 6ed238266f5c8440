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
from dataclasses import dataclass
from typing import cast

import tornado.httpclient

from nbtui.app.kernel.errors import NbtuiError
from nbtui.app.kernel.server_target import KIND_NAMES, ServerKernel, ServerKernelModel
from nbtui.app.kernel.server_target import safe as _safe

__all__ = [
    "HTTP_TIMEOUT",
    "HttpAnswer",
    "JupyterServer",
    "KernelsNotListed",
    "ServerKernel",
    "ServerKernelModel",
    "ServerOwnKernel",
    "failure_reason",
    "normalise_url",
    "server_token",
]

TOKEN_ENV = ("JUPYTER_TOKEN", "NBTUI_TOKEN", "JUPYTERHUB_API_TOKEN")
"""Environment variables a token is read from when `--token` is not given."""

HTTP_TIMEOUT = 10.0
"""Seconds to connect to a server, and for one request to it."""


class KernelsNotListed(NbtuiError):
    """The server keeps its list of kernels to itself (a kernel gateway's default)."""


@dataclass(frozen=True)
class HttpAnswer:
    """What a server answered to one request, whatever its status."""

    code: int
    headers: dict[str, str]
    """Header names in lower case."""
    body: bytes

    def json(self) -> object:
        """The body as JSON; None when it is not JSON."""
        try:
            return cast(object, json.loads(self.body))
        except ValueError:
            return None


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


class JupyterServer:
    """The REST API of one Jupyter Server, with its token.

    Every failure is one `NbtuiError` sentence: unreachable, token refused, not a
    Jupyter Server, no such kernel.
    """

    def __init__(self, url: str, token: str | None = None, *, kind: str = "server") -> None:
        self.base_url, url_token = normalise_url(url)
        # The most specific wins: --token, then the pasted URL's, then the environment's.
        if token is None and url_token:
            token_value, source = url_token, "the URL"
        else:
            token_value, source = server_token(token)
        self.token = token_value
        self.token_source = source
        self.kind = kind
        """"server", "gateway" (a kernel gateway: no sessions, contents, maybe no
        list of kernels) or "hub" (a user's server on JupyterHub)."""
        self._http = tornado.httpclient.AsyncHTTPClient()

    @property
    def headers(self) -> dict[str, str]:
        """The token as an Authorization header, when there is one."""
        return {"Authorization": f"token {self.token}"} if self.token else {}

    @property
    def describe(self) -> str:
        """The server as messages name it ("the Jupyter Server at URL")."""
        return f"{KIND_NAMES.get(self.kind, KIND_NAMES['server'])} at {self.base_url}"

    async def answer(
        self, method: str, path: str, body: object = None, timeout: float = HTTP_TIMEOUT
    ) -> HttpAnswer:
        """One request to the server, whatever it answers; redirects are not followed
        (JupyterHub sends a user whose server is not running to the hub). `timeout` is
        in seconds.

        Raises:
            NbtuiError: The server cannot be reached.
        """
        request = tornado.httpclient.HTTPRequest(
            f"{self.base_url}{path}",
            method=method,
            headers={**self.headers, "Content-Type": "application/json"},
            body=None if body is None and method == "GET" else json.dumps(body or {}),
            connect_timeout=HTTP_TIMEOUT,
            request_timeout=timeout,
            allow_nonstandard_methods=True,
            follow_redirects=False,
        )
        try:
            # raise_error=False still raises for no answer at all: a timeout is a 599.
            response = await self._http.fetch(request, raise_error=False)
        except tornado.httpclient.HTTPClientError:
            raise NbtuiError(f"cannot reach {self.describe}: timed out") from None
        except (OSError, asyncio.TimeoutError) as error:
            raise NbtuiError(f"cannot reach {self.describe}: {failure_reason(error)}") from None
        headers = {name.lower(): value for name, value in response.headers.get_all()}
        return HttpAnswer(response.code, headers, response.body or b"")

    async def _fetch(self, method: str, path: str, body: object = None) -> object:
        return self._decode(await self.answer(method, path, body), path)

    def _decode(self, answer: HttpAnswer, path: str) -> object:
        if not 200 <= answer.code < 300:
            raise NbtuiError(self.refusal(answer, path))
        if not answer.body:
            return None
        try:
            return cast(object, json.loads(answer.body))
        except ValueError:
            raise NbtuiError(
                f"{self.base_url} does not look like a Jupyter Server: {path} did not answer JSON"
            ) from None

    def refusal(self, answer: HttpAnswer, path: str) -> str:
        """One sentence on a request to `path` that did not succeed."""
        code = answer.code
        if 300 <= code < 400 or code in (424, 503):
            return self._redirect(answer, path)
        if code in (401, 403):
            how = (
                f"the token from {self.token_source} was refused"
                if self.token
                else "it needs a token: give --token or set JUPYTER_TOKEN"
            )
            return f"{self.describe} said {code}: {how}"
        if code == 404 and path.startswith("/api/kernels/"):
            kernel = path.split("/")[3]
            return f"{self.describe} has no kernel {kernel}"
        if code == 404:
            return f"{self.base_url} does not look like a Jupyter Server ({path}: 404)"
        return f"{self.describe} answered {code} to {path}"

    def _redirect(self, answer: HttpAnswer, path: str) -> str:
        location = urllib.parse.urlsplit(answer.headers.get("location", "")).path
        if "x-jupyterhub-version" in answer.headers or "/hub/" in location:
            if "/hub/login" in location:
                return (
                    f"JupyterHub sent {path} at {self.base_url} to its login page: "
                    "give a hub API token (JUPYTERHUB_API_TOKEN, JUPYTER_TOKEN or --token)"
                )
            return (
                f"the JupyterHub server at {self.base_url} is not running "
                "(nbtui --server URL --start-server asks the hub to start it)"
            )
        where = f" to {_safe(location)}" if location else ""
        return (
            f"{self.base_url} does not look like a Jupyter Server "
            f"({path}: {answer.code}, sent elsewhere{where})"
        )

    async def kernels(self) -> list[ServerKernelModel]:
        """Every kernel the server runs.

        Raises:
            KernelsNotListed: A kernel gateway that keeps its list to itself (its default).
        """
        answer = await self.answer("GET", "/api/kernels")
        if answer.code == 403 and self.kind == "gateway":
            raise KernelsNotListed(
                f"{self.describe} does not list its kernels (it runs without "
                "--JupyterWebsocketPersonality.list_kernels=True): attach with "
                "--kernel-id and the full id, or start one with --kernel NAME"
            )
        raw = self._decode(answer, "/api/kernels")
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
        try:
            kernels = await self.kernels()
        except KernelsNotListed:
            # Only the full id can be asked for.
            return await self.kernel(prefix)
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
            self.base_url,
            model.id,
            model.name,
            self.token,
            self.token_source,
            created,
            self.kind,
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
