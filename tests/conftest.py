"""Shared fixtures: real ipykernel kernels on loopback, and a host kept out of the tests."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import sysconfig
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Protocol

import psutil
import pytest
import zmq
from jupyter_client import BlockingKernelClient, KernelManager

from nbtui.app.kernel.client import KernelClient
from nbtui.app.kernel.connection import load_connection_file

SLEEPER = "print('sleeping', flush=True); import time; time.sleep(60)"
"""A cell to interrupt, once its output shows. ipykernel 7.4 ignores SIGINT from the
busy it publishes until its handler starts, and a SIGINT just after that escapes
`dispatch_shell` (ipykernel#666): measured here, of 123 interrupts sent 0-2.5 ms
after busy, 6 were lost and one left the kernel wedged. On a loaded machine that window
is wide enough for a test that interrupts at the first sight of busy to fail."""


@pytest.fixture(autouse=True)
def isolated_jupyter(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """Each test gets its own runtime dir and IPython profile: the host's kernels,
    history and config (nbtui's config file too) never leak in, and tests never leave
    files behind."""
    root = tmp_path_factory.mktemp("jupyter")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(root / "config"))
    runtime = root / "runtime"
    runtime.mkdir()
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(runtime))
    monkeypatch.setenv("IPYTHONDIR", str(root / "ipython"))
    monkeypatch.setenv("JUPYTER_PLATFORM_DIRS", "1")
    monkeypatch.setenv("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    return runtime


def start_kernel(connection_file: Path | None = None, tries: int = 3) -> KernelManager:
    """Start a real ipykernel and wait until it answers on shell and on its heartbeat.

    jupyter_client picks free ports by binding and releasing them before the kernel
    binds them itself: kernels started at the same moment (by threads here, or by other
    test runs) can pick the same port, and one of them dies at once. That one is started
    again on new ports. A taken heartbeat port is quieter: ipykernel's heartbeat thread
    raises and ends while the kernel runs on and answers on shell (seen in CI: "no
    heartbeat" from a kernel that had answered kernel_info), so the heartbeat is checked
    too.
    """
    for attempt in range(tries):
        km = KernelManager(kernel_name="python3")
        if connection_file is not None:
            km.connection_file = str(connection_file)
        km.start_kernel(stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client: BlockingKernelClient = km.blocking_client()
        client.start_channels()
        try:
            client.wait_for_ready(timeout=60)
            if not heartbeat_answers(km):
                raise RuntimeError("the kernel answers on shell but not on its heartbeat")
        except RuntimeError:
            if attempt == tries - 1:
                raise
            km.shutdown_kernel(now=True)
            if connection_file is not None:
                connection_file.unlink(missing_ok=True)
            continue
        finally:
            client.stop_channels()
        return km
    raise AssertionError("unreachable")


def heartbeat_answers(km: KernelManager, timeout: float = 10.0) -> bool:
    """Whether the kernel's heartbeat echoes a ping within `timeout` seconds."""
    context = zmq.Context.instance()
    sock = context.socket(zmq.REQ)
    sock.linger = 0
    try:
        sock.connect(f"{km.transport}://{km.ip}:{km.hb_port}")
        sock.send(b"ping")
        return bool(sock.poll(int(timeout * 1000)))
    finally:
        sock.close()


@pytest.fixture
def kernel(isolated_jupyter: Path) -> Iterator[KernelManager]:
    """A fresh kernel whose connection file lies in the test's runtime dir."""
    km = start_kernel()
    try:
        yield km
    finally:
        km.shutdown_kernel(now=True)


def nbtui_script() -> str:
    """The console script installed beside this Python, else the one on PATH."""
    script = Path(sysconfig.get_path("scripts")) / "nbtui"
    if script.is_file():
        return str(script)
    found = shutil.which("nbtui")
    if found is None:
        pytest.fail("the nbtui console script is not installed: pip install -e '.[test]'")
    return found


@pytest.fixture
async def client(kernel: KernelManager) -> AsyncIterator[KernelClient]:
    """nbtui's own kernel client, attached to the `kernel` fixture, closed afterwards."""
    kc = KernelClient(load_connection_file(Path(kernel.connection_file)), username="tester")
    try:
        await kc.attach()
        yield kc
    finally:
        await kc.close()


def wait_for(predicate: object, timeout: float = 15.0, interval: float = 0.05) -> None:
    """Wait for a condition with a deadline: no bare sleeps in tests."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if callable(predicate) and predicate():
            return
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout} s")


class _Served(Protocol):
    process: subprocess.Popen[bytes]
    log: Path

    def stop(self) -> None: ...


def _wait_answering(
    served: _Served, name: str, probe: Callable[[], object], timeout: float
) -> None:
    """Wait until `probe` gets an answer from the process `served` started; fail, with
    its log's end, if it exits or does not answer within `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        if served.process.poll() is not None:
            pytest.fail(f"{name} exited: {served.log.read_text()[-3000:]}")
        try:
            probe()
            return
        except OSError:
            if time.monotonic() > deadline:
                served.stop()
                pytest.fail(
                    f"{name} did not answer within {timeout:.0f} s: "
                    f"{served.log.read_text()[-3000:]}"
                )
            time.sleep(0.1)


class JupyterServerProcess:
    """A real `jupyter server` on loopback with a token, its kernels in the test's
    runtime dir (so their connection files can be read by a ZeroMQ client)."""

    def __init__(self, root: Path, token: str, extra: list[str]) -> None:
        self.token = token
        self.root = root
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = root / "server.log"
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "jupyter_server",
                    "--no-browser",
                    "--allow-root",
                    "--ip=127.0.0.1",
                    f"--port={self.port}",
                    "--ServerApp.port_retries=0",
                    f"--IdentityProvider.token={token}",
                    f"--ServerApp.root_dir={root}",
                    *extra,
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        _wait_answering(self, "jupyter server", lambda: self.api("GET", "/api/status"), 60)

    def api(self, method: str, path: str, body: object = None) -> object:
        """One REST call with the token; the decoded JSON answer (None for none)."""
        return _rest(f"{self.url}{path}", self.token, method, body, timeout=30)

    def start_kernel(self, name: str = "python3") -> str:
        model = self.api("POST", "/api/kernels", {"name": name})
        assert isinstance(model, dict)
        return str(model["id"])

    def kernel_ids(self) -> list[str]:
        kernels = self.api("GET", "/api/kernels")
        assert isinstance(kernels, list)
        return [str(kernel["id"]) for kernel in kernels]

    def connection_file(self, kernel_id: str) -> Path:
        """Where the server wrote the kernel's connection file: a ZeroMQ client's way in."""
        return Path(os.environ["JUPYTER_RUNTIME_DIR"]) / f"kernel-{kernel_id}.json"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)


@pytest.fixture
def jupyter_server_factory(
    isolated_jupyter: Path,
    tmp_path: Path,
) -> Iterator[Callable[..., JupyterServerProcess]]:
    """Start real Jupyter Servers (extra command-line options allowed); all stop after."""
    started: list[JupyterServerProcess] = []

    def start(*extra: str, token: str = "nbtui-test-token-0123456789") -> JupyterServerProcess:
        root = tmp_path / f"server{len(started)}"
        root.mkdir()
        server = JupyterServerProcess(root, token, list(extra))
        started.append(server)
        return server

    try:
        yield start
    finally:
        for server in started:
            server.stop()


@pytest.fixture
def jupyter_server(
    jupyter_server_factory: Callable[..., JupyterServerProcess],
) -> JupyterServerProcess:
    """One real Jupyter Server with a token and its default limits."""
    return jupyter_server_factory()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _rest(
    url: str, token: str, method: str = "GET", body: object = None, timeout: float = 60
) -> object:
    """One REST call with `token`; the decoded JSON answer (None for none)."""
    data = None if body is None and method == "GET" else json.dumps(body or {}).encode()
    request = urllib.request.Request(
        url,
        data=data,
        method=method,
        headers={"Authorization": f"token {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        raw = response.read()
    return json.loads(raw) if raw else None


def _stop_tree(process: subprocess.Popen[bytes], children: list[int]) -> None:
    """Stop `process`, then whichever of the `children` it started outlived it (by id)."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
    for pid in children:
        with contextlib.suppress(psutil.Error):
            psutil.Process(pid).kill()


def _children(pid: int) -> list[int]:
    try:
        return [child.pid for child in psutil.Process(pid).children(recursive=True)]
    except psutil.Error:
        return []


class JupyterHubProcess:
    """A real JupyterHub on loopback: configurable-http-proxy (npm) in front, a dummy
    authenticator, users' servers started as local processes (SimpleLocalProcessSpawner,
    as this user, homes under `root`). `admin_token` is a service's with admin scopes;
    `token(user)` makes a user's own API token."""

    admin_token = "nbtui-hub-admin-token-0123456789"

    def __init__(self, root: Path) -> None:
        proxy = shutil.which("configurable-http-proxy")
        if proxy is None:
            pytest.skip(
                "configurable-http-proxy is not installed (npm install -g "
                "configurable-http-proxy; .ci/run does, unless npm is unreachable)"
            )
        self.root = root
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = root / "jupyterhub_config.py"
        settings = {
            "JupyterHub.ip": "127.0.0.1",
            "JupyterHub.port": self.port,
            "JupyterHub.hub_ip": "127.0.0.1",
            "JupyterHub.hub_port": _free_port(),
            "ConfigurableHTTPProxy.api_url": f"http://127.0.0.1:{_free_port()}",
            "ConfigurableHTTPProxy.command": [proxy],
            "JupyterHub.db_url": f"sqlite:///{root / 'hub.sqlite'}",
            "JupyterHub.cookie_secret_file": str(root / "cookie_secret"),
            "JupyterHub.authenticator_class": "dummy",
            "Authenticator.allow_all": True,
            "JupyterHub.spawner_class": "simple",
            "SimpleLocalProcessSpawner.home_dir_template": str(root / "home" / "{username}"),
            "Spawner.cmd": [sys.executable, "-m", "jupyterhub.singleuser"],
            "Spawner.args": ["--allow-root"],
            "Spawner.start_timeout": 120,
            "Spawner.http_timeout": 120,
            "JupyterHub.services": [{"name": "nbtui-admin", "api_token": self.admin_token}],
            "JupyterHub.load_roles": [
                {
                    "name": "nbtui-admin",
                    "scopes": ["admin:users", "admin:servers", "tokens", "access:servers"],
                    "services": ["nbtui-admin"],
                }
            ],
        }
        config.write_text("".join(f"c.{name} = {value!r}\n" for name, value in settings.items()))
        self.log = root / "hub.log"
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "jupyterhub", "-f", str(config)],
                cwd=root,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        _wait_answering(
            self, "jupyterhub", lambda: _rest(f"{self.url}/hub/api/", self.admin_token), 90
        )

    def api(self, method: str, path: str, body: object = None) -> object:
        """One call to the hub's REST API (below /hub/api) with the admin token."""
        return _rest(f"{self.url}/hub/api{path}", self.admin_token, method, body)

    def token(self, user: str) -> str:
        """A new API token of `user` (made first if needed), with the user's own scopes."""
        try:
            self.api("POST", f"/users/{user}")
        except urllib.error.HTTPError as error:
            if error.code != 409:  # already there
                raise
        model = self.api("POST", f"/users/{user}/tokens", {"note": "nbtui tests"})
        assert isinstance(model, dict)
        return str(model["token"])

    def _server(self, user: str) -> dict[str, object]:
        model = self.api("GET", f"/users/{user}")
        assert isinstance(model, dict)
        servers = model.get("servers") or {}
        assert isinstance(servers, dict)
        entry = servers.get("", {})
        return entry if isinstance(entry, dict) else {}

    def start_server(self, user: str) -> None:
        """Start `user`'s server (unless it runs) and wait until the hub says it is ready."""
        if not self._server(user).get("ready"):
            try:
                self.api("POST", f"/users/{user}/server")
            except urllib.error.HTTPError as error:
                if error.code != 400:  # already starting
                    raise
        wait_for(lambda: bool(self._server(user).get("ready")), timeout=120, interval=0.2)

    def stop_server(self, user: str) -> None:
        """Stop `user`'s server and wait until the hub says it is gone."""
        if self._server(user):
            try:
                self.api("DELETE", f"/users/{user}/server")
            except urllib.error.HTTPError as error:
                if error.code != 400:
                    raise
        wait_for(lambda: not self._server(user), timeout=60, interval=0.2)

    def user_api(self, user: str, method: str, path: str, body: object = None) -> object:
        """One call to `user`'s server's REST API, through the proxy, as the admin."""
        return _rest(f"{self.url}/user/{user}{path}", self.admin_token, method, body)

    def stop(self) -> None:
        _stop_tree(self.process, _children(self.process.pid))


@pytest.fixture(scope="module")
def jupyterhub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JupyterHubProcess]:
    """One real JupyterHub for a test module (it takes seconds to start, and a user's server
    more): tests start and stop users' servers on it as they need."""
    hub = JupyterHubProcess(tmp_path_factory.mktemp("hub"))
    try:
        yield hub
    finally:
        hub.stop()


class KernelGatewayProcess:
    """A real Jupyter Kernel Gateway on loopback with an auth token; `extra` options."""

    def __init__(self, root: Path, token: str, extra: list[str]) -> None:
        self.token = token
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = root / "gateway.log"
        # Its kernels' files and history in the test's directory, not the host's.
        env = {
            **os.environ,
            "JUPYTER_RUNTIME_DIR": str(root / "runtime"),
            "IPYTHONDIR": str(root / "ipython"),
            "JUPYTER_PLATFORM_DIRS": "1",
        }
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "kernel_gateway",
                    "--KernelGatewayApp.ip=127.0.0.1",
                    f"--KernelGatewayApp.port={self.port}",
                    "--KernelGatewayApp.port_retries=0",
                    f"--KernelGatewayApp.auth_token={token}",
                    *extra,
                ],
                cwd=root,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        _wait_answering(self, "the kernel gateway", lambda: self.api("GET", "/api"), 60)

    def api(self, method: str, path: str, body: object = None) -> object:
        """One REST call with the token; the decoded JSON answer."""
        return _rest(f"{self.url}{path}", self.token, method, body)

    def kernel_ids(self) -> list[str]:
        kernels = self.api("GET", "/api/kernels")
        assert isinstance(kernels, list)
        return [str(kernel["id"]) for kernel in kernels]

    def stop(self) -> None:
        _stop_tree(self.process, _children(self.process.pid))


@pytest.fixture(scope="module")
def kernel_gateway_factory(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Callable[..., KernelGatewayProcess]]:
    """Start real kernel gateways (extra options allowed); all stop after the module."""
    started: list[KernelGatewayProcess] = []

    def start(*extra: str, token: str = "nbtui-gateway-token-0123456789") -> KernelGatewayProcess:
        gateway = KernelGatewayProcess(tmp_path_factory.mktemp("gateway"), token, list(extra))
        started.append(gateway)
        return gateway

    try:
        yield start
    finally:
        for gateway in started:
            gateway.stop()


@pytest.fixture(scope="module")
def kernel_gateway(
    kernel_gateway_factory: Callable[..., KernelGatewayProcess],
) -> KernelGatewayProcess:
    """One kernel gateway for a test module, listing its kernels (not its default)."""
    return kernel_gateway_factory("--JupyterWebsocketPersonality.list_kernels=True")
