"""`--server` on a real Jupyter Kernel Gateway (one per module, listing its kernels; one
that keeps them to itself, as gateways do by default, where a test needs it).

A gateway serves `/api/kernels` and each kernel's channels, but no `/api/status`,
`/api/sessions` or `/api/contents`: nbtui tells it from a Jupyter Server by that, lists,
starts, attaches, runs and interrupts as on a server, and says in one line what a gateway
will not do. Cells are attributed by the session id each client gives its WebSocket.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from nbtui.app.kernel.client import KernelClient
from nbtui.app.kernel.errors import NbtuiError
from nbtui.app.kernel.hub import open_server
from nbtui.app.kernel.model import StreamOutput
from nbtui.app.kernel.server import KernelsNotListed, ServerOwnKernel
from nbtui.app.kernel.transports.websocket import WebSocketTransport
from tests.conftest import SLEEPER, KernelGatewayProcess
from tests.integration.test_server import Seat, until
from tests.integration.test_server_cli import run_nbtui, server_error


async def test_start_list_attach_run_and_interrupt_another_clients_cell(
    kernel_gateway: KernelGatewayProcess,
) -> None:
    server = await open_server(kernel_gateway.url, kernel_gateway.token)
    assert server.kind == "gateway"
    own = await ServerOwnKernel.start(server, "python3")
    alice = Seat(KernelClient(own.kernel, username="alice"))
    theirs = server.locate(await server.find(own.kernel.kernel_id[:8]))
    bob = Seat(KernelClient(theirs, username="bob", transport=WebSocketTransport(theirs)))
    try:
        assert [kernel.id for kernel in await server.kernels()] == [own.kernel.kernel_id]
        await alice.client.attach()
        await bob.client.attach()
        cell = await alice.run("print(6 * 7)")
        assert alice.text_of(cell) == "42\n"
        # Bob's runaway cell shows in alice's transcript as his; she interrupts it through
        # the gateway's REST API.
        msg_id = bob.client.execute(SLEEPER)
        await until(
            lambda: any(
                cell.key == msg_id
                and cell.username == "bob"
                and alice.text_of(cell) == "sleeping\n"
                for cell in alice.cells()
            )
        )
        await alice.client.interrupt()
        await until(
            lambda: any(cell.key == msg_id and cell.state == "error" for cell in bob.cells()),
            deadline=15,
        )
        errors = [
            output
            for output in bob.transcript.cells[msg_id].outputs
            if not isinstance(output, StreamOutput)
        ]
        assert "KeyboardInterrupt" in repr(errors)
        mine = [cell.username for cell in alice.cells() if cell.is_self]
        assert mine == ["alice"]
    finally:
        await bob.client.close()
        await alice.client.close()
        await own.shutdown()
    assert own.kernel.kernel_id not in kernel_gateway.kernel_ids()


def test_list_prints_the_gateways_kernels(
    tmp_path: Path, kernel_gateway: KernelGatewayProcess
) -> None:
    model = kernel_gateway.api("POST", "/api/kernels", {"name": "python3"})
    assert isinstance(model, dict)
    try:
        listed = run_nbtui(
            "--server",
            kernel_gateway.url,
            "--list",
            "--json",
            cwd=tmp_path,
            token=kernel_gateway.token,
        )
        assert listed.returncode == 0, listed.stderr
        assert [kernel["id"] for kernel in json.loads(listed.stdout)] == [model["id"]]
        assert kernel_gateway.token not in listed.stdout + listed.stderr
    finally:
        kernel_gateway.api("DELETE", f"/api/kernels/{model['id']}")


@pytest.fixture(scope="module")
def private_gateway(
    kernel_gateway_factory: Callable[..., KernelGatewayProcess],
) -> KernelGatewayProcess:
    """A gateway as it comes: it keeps its list of kernels to itself."""
    return kernel_gateway_factory()


async def test_a_gateway_that_does_not_list_is_told_and_found_by_full_id(
    tmp_path: Path, private_gateway: KernelGatewayProcess
) -> None:
    gateway = private_gateway
    listed = run_nbtui("--server", gateway.url, "--list", cwd=tmp_path, token=gateway.token)
    assert server_error(listed, gateway.token) == (
        f"nbtui: the kernel gateway at {gateway.url} does not list its kernels (it runs "
        "without --JupyterWebsocketPersonality.list_kernels=True): attach with --kernel-id "
        "and the full id, or start one with --kernel NAME"
    )
    server = await open_server(gateway.url, gateway.token)
    with pytest.raises(KernelsNotListed):
        await server.kernels()
    own = await ServerOwnKernel.start(server, "python3")
    try:
        assert (await server.find(own.kernel.kernel_id)).id == own.kernel.kernel_id
        with pytest.raises(NbtuiError, match=f"the kernel gateway at {gateway.url} has no kernel"):
            await server.find(own.kernel.kernel_id[:8])
    finally:
        await own.shutdown()


def test_a_wrong_token_is_one_line(tmp_path: Path, private_gateway: KernelGatewayProcess) -> None:
    wrong = "wrong-gateway-token-7e6d5c"
    result = run_nbtui("--server", private_gateway.url, "--list", cwd=tmp_path, token=wrong)
    assert server_error(result, wrong, private_gateway.token) == (
        f"nbtui: the kernel gateway at {private_gateway.url} said 401: "
        "the token from JUPYTER_TOKEN was refused"
    )
