"""`--server` on a real JupyterHub (configurable-http-proxy from npm in front, a dummy
authenticator, users' servers as local processes), one hub for the module.

A user's server under `/user/NAME/` is a Jupyter Server behind the hub's proxy: nbtui lists,
starts and attaches to its kernels with the user's hub API token. A server that is not
running is one line, and `--start-server` asks the hub for it; a refused token is one line.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from nbtui.app.kernel.client import KernelClient
from nbtui.app.kernel.errors import NbtuiError
from nbtui.app.kernel.hub import open_server
from nbtui.app.kernel.server import JupyterServer, ServerKernel, ServerOwnKernel
from nbtui.app.kernel.transports.websocket import WebSocketTransport
from tests.conftest import JupyterHubProcess
from tests.integration.test_server import Seat, until
from tests.integration.test_server_cli import run_nbtui, server_error


@pytest.fixture(scope="module")
def alice(jupyterhub: JupyterHubProcess) -> str:
    """Alice's own hub API token (the user is made on the way)."""
    return jupyterhub.token("alice")


def _wrong_token(tmp_path: Path, hub: JupyterHubProcess, alice: str) -> str:
    wrong = "wrong-hub-token-4d3c2b1a"
    result = run_nbtui("--server", f"{hub.url}/user/alice/", cwd=tmp_path, token=wrong)
    return server_error(result, wrong, alice)


def test_a_wrong_token_is_one_line_when_the_server_is_stopped(
    tmp_path: Path, jupyterhub: JupyterHubProcess, alice: str
) -> None:
    jupyterhub.stop_server("alice")
    # The hub's API refuses it.
    assert _wrong_token(tmp_path, jupyterhub, alice) == (
        f"nbtui: JupyterHub at {jupyterhub.url} said 403: the token from JUPYTER_TOKEN was refused"
    )


async def test_a_websocket_to_a_stopped_server_says_so(
    jupyterhub: JupyterHubProcess, alice: str
) -> None:
    # As when the hub stops (or culls) the server under an attached nbtui.
    jupyterhub.stop_server("alice")
    gone = ServerKernel(f"{jupyterhub.url}/user/alice", "0" * 8, "python3", alice)
    with pytest.raises(NbtuiError, match=r"sent elsewhere \(HTTP 302\), as JupyterHub does"):
        await KernelClient(gone).attach()


def test_a_stopped_server_is_one_line_and_start_server_starts_it(
    tmp_path: Path, jupyterhub: JupyterHubProcess, alice: str
) -> None:
    jupyterhub.stop_server("alice")
    stopped = run_nbtui(
        "--server", f"{jupyterhub.url}/user/alice/", "--list", cwd=tmp_path, token=alice
    )
    assert server_error(stopped, alice) == (
        f"nbtui: alice's server on JupyterHub at {jupyterhub.url} is not running: "
        "--start-server asks the hub to start it"
    )
    # The hub's own URL: the token says whose server it is.
    started = run_nbtui(
        "--server",
        jupyterhub.url,
        "--start-server",
        "--list",
        cwd=tmp_path,
        token=alice,
        deadline=150,
    )
    assert started.returncode == 0, started.stderr
    assert started.stderr == (
        f"nbtui: asking JupyterHub at {jupyterhub.url} to start alice's server, "
        "waiting up to 300 s\n"
    )
    assert started.stdout == f"no kernels on {jupyterhub.url}/user/alice\n"
    assert alice not in started.stdout + started.stderr


def test_a_wrong_token_is_one_line_when_the_server_runs(
    tmp_path: Path, jupyterhub: JupyterHubProcess, alice: str
) -> None:
    jupyterhub.start_server("alice")
    # The user's server refuses it.
    assert _wrong_token(tmp_path, jupyterhub, alice) == (
        f"nbtui: the JupyterHub server at {jupyterhub.url}/user/alice said 403: "
        "the token from JUPYTER_TOKEN was refused"
    )


async def test_attach_through_the_proxy_and_a_second_clients_cell_is_attributed(
    jupyterhub: JupyterHubProcess, alice: str
) -> None:
    await asyncio.to_thread(jupyterhub.start_server, "alice")
    server = await open_server(f"{jupyterhub.url}/user/alice/lab", alice)
    assert server.kind == "hub"
    assert server.base_url == f"{jupyterhub.url}/user/alice"
    own = await ServerOwnKernel.start(server, "python3")
    mine = Seat(KernelClient(own.kernel, username="alice"))
    # Bob, who was given access to alice's server (here: a service with access:servers),
    # attaches to the same kernel through the hub's proxy with his own token.
    rest = JupyterServer(server.base_url, jupyterhub.admin_token)
    bobs = rest.locate(await rest.kernel(own.kernel.kernel_id))
    bob = Seat(KernelClient(bobs, username="bob", transport=WebSocketTransport(bobs)))
    try:
        await mine.client.attach()
        await bob.client.attach()
        assert [kernel.id for kernel in await server.kernels()] == [own.kernel.kernel_id]
        cell = await mine.run("print('from alice')")
        assert mine.text_of(cell) == "from alice\n"
        await bob.run("print('from bob')")

        def bobs_cell() -> bool:
            return any(not cell.is_self and cell.username == "bob" for cell in mine.cells())

        await until(bobs_cell)
        theirs = next(cell for cell in mine.cells() if not cell.is_self)
        assert mine.text_of(theirs) == "from bob\n"
        assert [cell.username for cell in mine.cells() if cell.is_self] == ["alice"]
    finally:
        await bob.client.close()
        await mine.client.close()
        await own.shutdown()
    assert jupyterhub.user_api("alice", "GET", "/api/kernels") == []
