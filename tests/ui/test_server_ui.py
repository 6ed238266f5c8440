"""The app on a Jupyter Server kernel, through Pilot: the same screen as over ZeroMQ,
the connection pane telling the server and never the token; the server kernel picker."""

from __future__ import annotations

from jupyter_client import BlockingKernelClient

from nbtui.app.kernel.client import KernelClient
from nbtui.app.kernel.server import JupyterServer, ServerOwnKernel
from nbtui.app.nbtui_app import create_app
from nbtui.app.screens.server_picker import AttachTo, ServerPickerApp
from tests.conftest import SLEEPER, JupyterServerProcess
from tests.ui.conftest import run_and_wait, until, until_shown


async def test_a_server_kernel_shows_like_any_other(jupyter_server: JupyterServerProcess) -> None:
    kernel_id = jupyter_server.start_kernel()
    rest = JupyterServer(jupyter_server.url, jupyter_server.token)
    client = KernelClient(rest.locate(await rest.kernel(kernel_id)), username="alice")
    await client.attach()
    bob = BlockingKernelClient(connection_file=str(jupyter_server.connection_file(kernel_id)))
    bob.load_connection_file()
    bob.session.username = "bob"
    bob.start_channels()
    app = create_app(client)
    try:
        async with app.run_test(size=(200, 50)) as pilot:
            await run_and_wait(pilot, app, "print(6*7)")
            bob.execute("print('hello from bob')")
            await until(
                pilot,
                lambda: any(
                    cell.username == "bob" and cell.state == "ok"
                    for cell in app.model.cells.values()
                ),
            )
            text = await until_shown(
                pilot, app, "hello from bob", jupyter_server.url, "websocket v1", kernel_id, "alive"
            )
            assert jupyter_server.token not in text
            # Interrupt goes through the server's REST API.
            await pilot.press(*SLEEPER)
            await pilot.press("enter")
            await until(pilot, lambda: "sleeping" in app.transcript.plain_text().split())
            await pilot.press("ctrl+c")
            await until(pilot, lambda: not app.model.busy and app.kernel_state == "idle")
            assert any(cell.state == "error" for cell in app.model.cells.values())
    finally:
        bob.stop_channels()
        await client.close()
    assert kernel_id in jupyter_server.kernel_ids()


async def test_the_picker_lists_the_servers_kernels(jupyter_server: JupyterServerProcess) -> None:
    first = jupyter_server.start_kernel()
    second = jupyter_server.start_kernel()
    picker = ServerPickerApp(JupyterServer(jupyter_server.url, jupyter_server.token))
    async with picker.run_test(size=(120, 20)) as pilot:
        text = await until_shown(pilot, picker, first, second)
        assert jupyter_server.token not in text
        await pilot.press("down", "enter")
    chosen = picker.return_value
    assert isinstance(chosen, AttachTo)
    assert chosen.kernel.id == picker.kernels[1].id


async def test_a_kernel_nbtui_asked_for_is_deleted_by_its_owner_only(
    jupyter_server: JupyterServerProcess,
) -> None:
    rest = JupyterServer(jupyter_server.url, jupyter_server.token)
    own = await ServerOwnKernel.start(rest, "python3")
    info = own.kernel
    assert info.kernel_id in jupyter_server.kernel_ids()
    await own.shutdown()
    assert info.kernel_id not in jupyter_server.kernel_ids()
