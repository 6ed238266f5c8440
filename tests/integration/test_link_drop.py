"""A dropped WebSocket: nbtui reaches a real Jupyter Server through a TCP relay on loopback
(a real relay, not a fake kernel), the relay is stopped mid-session and started again on
the same port; the session says "reconnecting" (never "dead"), reopens the WebSocket with
backoff, tells the gap, and a cell runs."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable

from nbtui.app.kernel.client import KernelClient
from nbtui.app.kernel.connection import load_connection_file
from nbtui.app.kernel.model import Cell, Notice, StreamOutput
from nbtui.app.kernel.server import JupyterServer
from nbtui.app.kernel.session import KernelSession
from nbtui.app.kernel.transports.websocket import WebSocketTransport
from tests.conftest import JupyterServerProcess
from tests.integration.test_cli_errors import free_ports


class Relay:
    """Forwards TCP connections from a loopback port to the server's; stoppable (every
    connection cut) and startable again on the same port."""

    def __init__(self, target: int) -> None:
        self.target = target
        (self.port,) = free_ports(1)
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()
        if self._server is not None:
            await self._server.wait_closed()
        self._server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target)
        except OSError:
            writer.transport.abort()
            return
        self._writers |= {writer, up_writer}

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError, asyncio.CancelledError):
                while data := await source.read(1 << 16):
                    sink.write(data)
                    await sink.drain()
            sink.transport.abort()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        self._writers -= {writer, up_writer}


async def drain_until(
    predicate: Callable[[], bool], session: KernelSession, deadline: float
) -> None:
    """Drain the session (as the UI's frames do) until `predicate` holds."""
    end = time.monotonic() + deadline
    while not predicate():
        session.drain()
        assert time.monotonic() < end, f"not within {deadline} s: {said(session)[-5:]}"
        await asyncio.sleep(0.02)


def said(session: KernelSession) -> list[str]:
    """The notices the session told so far."""
    return [entry.text for entry in session.model.entries if isinstance(entry, Notice)]


def text_of(cell: Cell) -> str:
    return "".join(
        "".join(f"{line}\n" for line in output.lines) + output.partial
        for output in cell.outputs
        if isinstance(output, StreamOutput)
    )


async def test_a_dropped_websocket_is_reopened_and_the_gap_told(
    jupyter_server: JupyterServerProcess,
) -> None:
    kernel_id = jupyter_server.start_kernel()
    relay = Relay(jupyter_server.port)
    await relay.start()
    rest = JupyterServer(f"http://127.0.0.1:{relay.port}", jupyter_server.token)
    info = rest.locate(await rest.kernel(kernel_id))
    client = KernelClient(info, username="tester", transport=WebSocketTransport(info))
    session = KernelSession(client)
    # A colleague on the kernel's own ZeroMQ ports, which the relay does not carry.
    bob = load_connection_file(jupyter_server.connection_file(kernel_id))
    colleague = KernelClient(bob, username="bob")
    try:
        await client.attach()
        await colleague.attach()
        session.attached()
        session.watch()
        await relay.stop()
        await drain_until(lambda: session.state == "reconnecting", session, 30)
        assert any(text.startswith("connection lost, reconnecting") for text in said(session))
        reply = await colleague.execute_reply(colleague.execute("gap_value = 6 * 7"))
        assert reply is not None
        keeper = session.keeper
        assert keeper is not None and keeper.reconnecting
        await relay.start()
        await drain_until(
            lambda: any(text.startswith("connection back after") for text in said(session)),
            session,
            60,
        )
        back = next(text for text in said(session) if text.startswith("connection back"))
        print(back)
        assert "the WebSocket to" in back
        await drain_until(lambda: session.state == "idle", session, 30)
        msg_id = session.execute("print(gap_value)")
        cell = session.model.cells[msg_id]
        await drain_until(lambda: cell.state == "ok" and "42" in text_of(cell), session, 30)
        # The colleague's input is in the transcript: replayed by the server, or from
        # the history.
        gap = [text for text in said(session) if "gap_value = 6 * 7" in text]
        replayed = [c for c in session.model.cells.values() if c.code == "gap_value = 6 * 7"]
        print(f"gap {keeper.gaps[0]:.2f} s; from history: {gap}; replayed: {len(replayed)}")
        assert gap or replayed
        assert not any("kernel is dead" in text for text in said(session))
    finally:
        await session.close()
        await client.close()
        await colleague.close()
        await relay.stop()
