"""nbtui on a Jupyter Server kernel in a real terminal (tmux), as issue 7's acceptance has it.

nbtui reaches the kernel through the server (REST, and the channels over one WebSocket),
with the token in its environment, never on its command line. Another client works on the
same kernel meanwhile: its cells show in nbtui's transcript, named. The side panes tell how
nbtui is connected without ever showing the token, and quitting deletes a server kernel
only when nbtui created it.
"""

from __future__ import annotations

import re
import shlex
import shutil
import time

import psutil
import pytest
from jupyter_client import BlockingKernelClient

from tests.conftest import JupyterServerProcess, wait_for
from tests.e2e.terminal import DEADLINE, Terminal

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed"),
]


def _open(terminals: list[Terminal], width: int, height: int) -> Terminal:
    terminal = Terminal(width, height)
    terminals.append(terminal)
    return terminal


def _start(terminal: Terminal, server: JupyterServerProcess, *args: str) -> None:
    """nbtui --server in `terminal`, the token in its environment; wait until attached."""
    token = f"JUPYTER_TOKEN={shlex.quote(server.token)}"
    terminal.start_nbtui("--server", server.url, *args, env=[token])
    terminal.wait_for(r"\A.*nbtui.*idle")


@pytest.mark.timeout(300)
def test_server_kernel_shared_with_another_client(
    terminals: list[Terminal],
    jupyter_server: JupyterServerProcess,
) -> None:
    server = jupyter_server
    kernel_id = server.start_kernel("python3")

    alice = _open(terminals, 200, 50)
    _start(alice, server, "--kernel-id", kernel_id[:8], "--username", "alice")

    # The connection pane: the server, the WebSocket protocol, where the token came from
    # (masked), and the kernel's full id from the prefix given.
    port = re.escape(f"127.0.0.1:{server.port}")
    alice.wait_for(r"^connection$", where="side")
    alice.wait_for(rf"^server\s+http://{port}$", where="side")
    alice.wait_for(r"^websocket v1 · token •+ \(JUPYTER_TOKEN\)$", where="side")
    alice.wait_for(rf"^id\s+{re.escape(kernel_id)}\b", where="side")
    alice.wait_for(r"^join\s+nbtui --server http://" + port, where="side")
    # The liveness pane: the WebSocket ping stands in for the heartbeat.
    alice.wait_for(r"^liveness$", where="side")
    alice.wait_for(r"^● alive\b", where="side")
    alice.wait_for(r"^peers$", where="side")
    assert server.token not in alice.screen()

    # Bob, a plain ZeroMQ client on the same kernel (through the connection file the
    # server wrote), runs a cell: alice sees it named and its output.
    bob = BlockingKernelClient(connection_file=str(server.connection_file(kernel_id)))
    bob.load_connection_file()
    bob.session.username = "bob"
    bob.start_channels()
    try:
        bob.wait_for_ready(timeout=DEADLINE)
        reply = bob.execute_interactive(
            "print('hello from bob')", timeout=DEADLINE, output_hook=lambda msg: None
        )
        assert reply["content"]["status"] == "ok"
        alice.wait_for(
            r"^\s*In \[\d+\] bob@[0-9a-f]{4}\s+print\('hello from bob'\)$", where="transcript"
        )
        alice.wait_for(r"^\s*hello from bob$", where="transcript")
        alice.wait_for(r"^● bob\s+\S+\s+1 cell\b", where="side")

        # Alice's own cell runs through the server; bob sees it as alice's.
        alice.type("print(6*7)")
        alice.keys("Enter")
        alice.wait_for(r"^\s*In \[\d+\] you\s+print\(6\*7\)$", where="transcript")
        alice.wait_for(r"^\s*42$", where="transcript")
        deadline = time.monotonic() + DEADLINE
        while True:
            assert time.monotonic() < deadline, "bob never saw alice's cell on iopub"
            msg = bob.get_iopub_msg(timeout=DEADLINE)
            if msg["msg_type"] == "execute_input" and msg["content"]["code"] == "print(6*7)":
                break
        assert msg["parent_header"]["username"] == "alice"
    finally:
        bob.stop_channels()

    # A second nbtui over the server, in a narrow terminal (no side panes): it learns
    # that cells ran before it joined; each of the two sees the other's cells, named.
    carol = _open(terminals, 100, 30)
    _start(carol, server, "--kernel-id", kernel_id, "--username", "carol")
    carol.wait_for(r"before you joined: \d+ inputs")
    carol.type("print('carol was here')")
    carol.keys("Enter")
    carol.wait_for(r"^\s*carol was here\s*$")
    alice.wait_for(
        r"^\s*In \[\d+\] carol@[0-9a-f]{4}\s+print\('carol was here'\)$", where="transcript"
    )
    alice.wait_for(r"^\s*carol was here$", where="transcript")
    alice.type("print('alice again')")
    alice.keys("Enter")
    carol.wait_for(r"^\s*In \[\d+\] alice@[0-9a-f]{4}\s+print\('alice again'\)\s*$")
    carol.wait_for(r"^\s*alice again\s*$")

    for terminal in (alice, carol):
        assert server.token not in terminal.screen()
        terminal.keys("C-q")
        terminal.wait_for(r"^NBTUI-EXIT=0$")
        assert server.token not in terminal.history()

    # nbtui did not create this kernel: quitting left it on the server, alive.
    assert kernel_id in server.kernel_ids()
    model = server.api("GET", f"/api/kernels/{kernel_id}")
    assert isinstance(model, dict)
    assert model["execution_state"] in ("idle", "busy")


@pytest.mark.timeout(240)
@pytest.mark.parametrize("keep", [False, True], ids=["deleted", "keep-kernel"])
def test_kernel_started_on_the_server(
    terminals: list[Terminal],
    jupyter_server: JupyterServerProcess,
    keep: bool,
) -> None:
    server = jupyter_server
    assert server.kernel_ids() == []
    terminal = _open(terminals, 160, 40)
    _start(terminal, server, "--kernel", "python3", *(["--keep-kernel"] if keep else []))
    terminal.wait_for(r"started\s+by\s+nbtui", where="side")
    [kernel_id] = server.kernel_ids()

    terminal.type("print(6*7)")
    terminal.keys("Enter")
    terminal.wait_for(r"^\s*42$", where="transcript")

    terminal.keys("C-q")
    terminal.wait_for(r"^NBTUI-EXIT=0$")
    assert server.token not in terminal.history()
    if keep:
        join = re.escape(f"nbtui --server {server.url} --kernel-id {kernel_id}")
        terminal.wait_for(rf"^nbtui: kernel left running; re-attach with: {join}\s*$")
        assert server.kernel_ids() == [kernel_id]
    else:
        # nbtui asked the server for this kernel, so quitting deletes it.
        wait_for(lambda: kernel_id not in server.kernel_ids(), timeout=DEADLINE)


@pytest.mark.timeout(240)
def test_a_closed_terminal_still_deletes_the_kernel_nbtui_asked_for(
    terminals: list[Terminal],
    jupyter_server: JupyterServerProcess,
) -> None:
    """Closing the terminal (SIGHUP) ends nbtui as ctrl+q does: its server kernel goes."""
    server = jupyter_server
    terminal = _open(terminals, 120, 30)
    _start(terminal, server, "--kernel", "python3")
    terminal.wait_for(r"started kernel")
    [kernel_id] = server.kernel_ids()
    mine = [
        process
        for process in psutil.process_iter(["cmdline"])
        if server.url in " ".join(process.info["cmdline"] or [])
        and "--kernel" in (process.info["cmdline"] or [])
    ]
    assert len(mine) == 1
    terminal.kill()
    wait_for(lambda: kernel_id not in server.kernel_ids(), timeout=DEADLINE)
    # And nbtui itself is gone: Textual's own shutdown could hang on the dead terminal.
    wait_for(
        lambda: not mine[0].is_running() or mine[0].status() == psutil.STATUS_ZOMBIE,
        timeout=DEADLINE,
    )
