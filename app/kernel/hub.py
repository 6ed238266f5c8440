"""Which kind of server a `--server` URL is, and a user's server on JupyterHub.

One probe, `GET /api/status` without following redirects, tells them apart:

- a Jupyter Server answers it (a JupyterHub user's running server too, with the
  `X-JupyterHub-Version` header the hub's proxy adds);
- a kernel gateway (Jupyter Kernel Gateway, Enterprise Gateway) has no such route (404)
  but answers `/api` with its version;
- JupyterHub sends a request for a user's server that is not running, or for its own
  root, to the hub (a redirect under `/hub/`, or 424 from the hub itself). The hub's REST
  API (`/hub/api/users/NAME`) then says whether the server is stopped or starting, and
  starts it when asked (`POST /hub/api/users/NAME/server`).
"""

from __future__ import annotations

import asyncio
import re
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass

from nbtui.app.kernel.errors import NbtuiError
from nbtui.app.kernel.server import HttpAnswer, JupyterServer
from nbtui.app.kernel.server_target import safe

__all__ = ["HUB_START_DEADLINE", "HubRoute", "JupyterHubApi", "open_server", "user_route"]

HUB_START_DEADLINE = 300.0
"""Seconds to wait for a user's server the hub was asked to start (a spawner may first
pull an image or wait for a batch queue; the hub gives up on its own `start_timeout`)."""

_START_ANSWER = 60.0
"""Seconds the hub may take to answer a request to start a server."""

_POLL = 0.5
"""Seconds between two looks at a server the hub is starting."""

_HUB_PAGE = re.compile(r"^(?P<prefix>.*?)/hub(?:/[^/]*)?$")

_USER_PATH = re.compile(r"^(?P<prefix>.*?)/user/(?P<user>[^/]+)(?:/(?P<server>[^/]+))?$")


@dataclass(frozen=True)
class HubRoute:
    """Where one user's server sits behind a JupyterHub."""

    origin: str
    """scheme://host:port of the hub's proxy."""
    prefix: str
    """The hub's base path: "" or, e.g., "/jupyter"."""
    user: str
    server_name: str = ""
    """"" for the user's default server, else the name of one of their named servers."""

    @property
    def hub_url(self) -> str:
        """The hub's public URL (the proxy's, with the hub's base path)."""
        return f"{self.origin}{self.prefix}"

    @property
    def server_url(self) -> str:
        """The user's server, a Jupyter Server under `/user/NAME/`."""
        path = f"{self.prefix}/user/{urllib.parse.quote(self.user, safe='')}"
        if self.server_name:
            path += f"/{urllib.parse.quote(self.server_name, safe='')}"
        return f"{self.origin}{path}"

    @property
    def whose(self) -> str:
        """ "alice's server", or "alice's server 'gpu'" for a named one."""
        user = safe(self.user)
        return (
            f"{user}'s server {safe(self.server_name)!r}"
            if self.server_name
            else (f"{user}'s server")
        )

    @property
    def users_path(self) -> str:
        """The user's model in the hub's REST API, below `/hub/api`."""
        return f"/users/{urllib.parse.quote(self.user, safe='')}"

    @property
    def start_path(self) -> str:
        """What to POST to start the server, below `/hub/api`."""
        if self.server_name:
            return f"{self.users_path}/servers/{urllib.parse.quote(self.server_name, safe='')}"
        return f"{self.users_path}/server"


def user_route(base_url: str) -> HubRoute | None:
    """The hub route of a URL of the form `.../user/NAME[/SERVER]`; None for any other."""
    parts = urllib.parse.urlsplit(base_url)
    found = _USER_PATH.match(parts.path)
    if found is None:
        return None
    return HubRoute(
        f"{parts.scheme}://{parts.netloc}",
        found["prefix"],
        urllib.parse.unquote(found["user"]),
        urllib.parse.unquote(found["server"] or ""),
    )


def _with(server: JupyterServer, url: str, kind: str) -> JupyterServer:
    """Another server (or the hub's API) reached with the same token."""
    other = JupyterServer(url, server.token, kind=kind)
    other.token_source = server.token_source
    return other


class JupyterHubApi:
    """The REST API of a JupyterHub (`/hub/api`), with a user's API token."""

    def __init__(self, hub_url: str, server: JupyterServer) -> None:
        self.hub_url = hub_url
        self.api = _with(server, f"{hub_url}/hub/api", "hub-api")

    def _refused(self, answer: HttpAnswer, what: str) -> NbtuiError:
        if answer.code in (401, 403):
            how = (
                f"the token from {self.api.token_source} was refused"
                if self.api.token
                else "it needs a token: set JUPYTERHUB_API_TOKEN (or give --token)"
            )
            return NbtuiError(f"JupyterHub at {self.hub_url} said {answer.code}: {how}")
        return NbtuiError(f"JupyterHub at {self.hub_url} answered {answer.code} to {what}")

    async def whoami(self) -> str:
        """The name of the user whose token this is.

        Raises:
            NbtuiError: The token is refused, or is a service's (no server of its own).
        """
        answer = await self.api.answer("GET", "/user")
        model = answer.json()
        if answer.code != 200 or not isinstance(model, dict):
            raise self._refused(answer, "whose token this is")
        if model.get("kind", "user") != "user" or not isinstance(model.get("name"), str):
            raise NbtuiError(
                f"the token is JupyterHub {safe(model.get('kind', ''))} "
                f"{safe(model.get('name', '?'))!r}'s, not a user's: give --user NAME"
            )
        return str(model["name"])

    async def state(self, route: HubRoute) -> str:
        """ "ready", "stopped", or what the hub is doing to the server ("spawn", "stop")."""
        answer = await self.api.answer("GET", route.users_path)
        if answer.code == 404:
            raise NbtuiError(
                f"JupyterHub at {self.hub_url} has no user {safe(route.user)!r} "
                "(or the token may not see them)"
            )
        model = answer.json()
        if answer.code != 200 or not isinstance(model, dict):
            raise self._refused(answer, f"a look at {route.whose}")
        servers = model.get("servers")
        entry = servers.get(route.server_name) if isinstance(servers, dict) else None
        if not isinstance(entry, dict):
            return "stopped"
        if entry.get("ready"):
            return "ready"
        pending = entry.get("pending")
        return safe(pending) if pending else "stopped"

    async def start(
        self,
        route: HubRoute,
        deadline: float = HUB_START_DEADLINE,
        say: Callable[[str], None] | None = None,
    ) -> None:
        """Ask the hub to start the server (unless it is already starting), and wait until
        it is ready.

        Raises:
            NbtuiError: The hub refused, the start failed, or it took longer than `deadline`.
        """
        started = time.monotonic()
        state = await self.state(route)
        if state == "ready":
            return
        if state != "spawn":
            if say is not None:
                say(
                    f"asking JupyterHub at {self.hub_url} to start {route.whose}, "
                    f"waiting up to {deadline:g} s"
                )
            # The hub answers once the server is up, or after its slow_spawn_timeout
            # (10 s by default) with 202 and goes on starting it.
            answer = await self.api.answer("POST", route.start_path, {}, timeout=_START_ANSWER)
            # 400: it is already running or on its way, as far as the hub is concerned.
            if answer.code not in (201, 202, 400):
                raise self._refused(answer, f"starting {route.whose}")
        while True:
            state = await self.state(route)
            if state == "ready":
                return
            if state != "spawn":
                raise NbtuiError(
                    f"JupyterHub at {self.hub_url} could not start {route.whose} "
                    f"(it is {state}; the hub's log says why)"
                )
            if time.monotonic() - started > deadline:
                raise NbtuiError(
                    f"{route.whose} on JupyterHub at {self.hub_url} did not start "
                    f"within {deadline:g} s"
                )
            await asyncio.sleep(_POLL)


def _hub_prefix(answer: HttpAnswer) -> str | None:
    """The hub's base path when JupyterHub sent this request to itself; else None."""
    if "x-jupyterhub-version" not in answer.headers:
        return None
    location = urllib.parse.urlsplit(answer.headers.get("location", "")).path
    if 300 <= answer.code < 400 and "/hub/" in location:
        return location.split("/hub/", 1)[0]
    if answer.code in (424, 503):
        # The hub itself says the server is gone (e.g. a stale route in the proxy).
        return ""
    return None


async def open_server(
    url: str,
    token: str | None = None,
    *,
    user: str | None = None,
    start_server: bool = False,
    deadline: float = HUB_START_DEADLINE,
    say: Callable[[str], None] | None = None,
) -> JupyterServer:
    """The server `url` names, probed: a Jupyter Server, a kernel gateway, or a user's
    server on JupyterHub (`url` under `/user/NAME/`, or the hub's own URL with `user`, or
    the token's owner).

    Args:
        start_server: Ask JupyterHub to start the user's server when it is not running,
            and wait for it up to `deadline` seconds.
        say: Told what nbtui is doing while it waits (starting a server).

    Raises:
        NbtuiError: One sentence: unreachable, token refused, the user's server not
            running (and not asked to start), or it did not start.
    """
    server = JupyterServer(url, token)
    route = user_route(server.base_url)
    hub_page = _HUB_PAGE.match(urllib.parse.urlsplit(server.base_url).path)
    if route is None and hub_page is not None:
        # The hub's own pages (/hub/, /hub/home): the hub is one level up.
        server = _with(server, _origin(server.base_url) + hub_page["prefix"], "server")
    if user is not None:
        if route is not None and route.user != user:
            raise NbtuiError(
                f"--user {safe(user)} and the URL's /user/{safe(route.user)}/ differ: give one"
            )
        if route is None:
            parts = urllib.parse.urlsplit(server.base_url)
            route = HubRoute(f"{parts.scheme}://{parts.netloc}", parts.path, user)
            server = _with(server, route.server_url, "server")
    probe = await server.answer("GET", "/api/status")
    if user is not None and "x-jupyterhub-version" not in probe.headers:
        raise NbtuiError(
            f"{_origin(server.base_url)} does not look like a JupyterHub: --user goes "
            "with a hub's URL"
        )
    prefix = _hub_prefix(probe)
    if prefix is not None:
        hub = JupyterHubApi(
            route.hub_url if route is not None else _origin(server.base_url) + prefix, server
        )
        server = await _running_server(
            hub, server, route, start_server=start_server, deadline=deadline, say=say
        )
        probe = await server.answer("GET", "/api/status")
        if probe.code != 200:
            raise NbtuiError(server.refusal(probe, "/api/status"))
    if probe.code == 200 and isinstance(probe.json(), dict):
        if "x-jupyterhub-version" in probe.headers:
            server.kind = "hub"
        return server
    if probe.code == 404:
        api = await server.answer("GET", "/api")
        if isinstance(api.json(), dict) and api.code in (200, 401, 403):
            # The Jupyter API without /api/status: a kernel gateway.
            server.kind = "gateway"
            if api.code != 200:
                raise NbtuiError(server.refusal(api, "/api"))
            return server
    if probe.code in (401, 403):
        if "x-jupyterhub-version" in probe.headers:
            server.kind = "hub"
        raise NbtuiError(server.refusal(probe, "/api/status"))
    # Anything else is told by the first real request, in the words it has for it.
    return server


def _origin(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


async def _running_server(
    hub: JupyterHubApi,
    server: JupyterServer,
    route: HubRoute | None,
    *,
    start_server: bool,
    deadline: float,
    say: Callable[[str], None] | None,
) -> JupyterServer:
    """The user's server once the hub says it is ready (started if asked, waited for if
    already starting); `route` None is the token's owner's default server."""
    if route is None:
        parts = urllib.parse.urlsplit(hub.hub_url)
        route = HubRoute(f"{parts.scheme}://{parts.netloc}", parts.path, await hub.whoami())
    if start_server:
        await hub.start(route, deadline, say)
    else:
        state = await hub.state(route)
        if state == "spawn":
            # Already on its way: waiting is what the user would do.
            await hub.start(route, deadline, say)
        elif state != "ready":
            raise NbtuiError(
                f"{route.whose} on JupyterHub at {hub.hub_url} is not running: "
                "--start-server asks the hub to start it"
            )
    return _with(server, route.server_url, "hub")
