"""nbtui on JupyterHub and on a kernel gateway in a real terminal (tmux), one of each.

On the hub, `nbtui --server HUB --start-server` with a hub API token in the environment
finds the token's owner's server stopped, has the hub start it, starts a kernel there,
runs a cell and deletes the kernel on quit. On a gateway, `nbtui --server GW` starts a
kernel, runs a cell, interrupts a runaway one with ctrl+c, and deletes the kernel on quit.
"""

from __future__ import annotations

import shlex
import shutil
import time
from collections.abc import Iterator

import pytest

from tests.conftest import SLEEPER, JupyterHubProcess, KernelGatewayProcess, wait_for
from tests.e2e.terminal import DEADLINE, Terminal, columns

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed"),
]


@pytest.fixture
def terminal() -> Iterator[Terminal]:
    """One 160x40 terminal, killed afterwards."""
    with Terminal(160, 40) as opened:
        yield opened


def _start(terminal: Terminal, url: str, token: str, variable: str, *args: str) -> None:
    """nbtui --server URL in `terminal`, the token in `variable`; the pane outlives nbtui."""
    terminal.start_nbtui("--server", url, *args, env=[f"{variable}={shlex.quote(token)}"])


@pytest.mark.timeout(300)
def test_hub_starts_the_users_server_and_nbtui_a_kernel_on_it(
    terminal: Terminal, jupyterhub: JupyterHubProcess
) -> None:
    hub = jupyterhub
    token = hub.token("alice")
    hub.stop_server("alice")
    _start(terminal, hub.url, token, "JUPYTERHUB_API_TOKEN", "--start-server")
    # Starting a server takes the hub a while (seconds here, minutes on a busy machine).
    deadline = time.monotonic() + 150
    while "started by nbtui" not in " ".join(columns(terminal.screen())[1].split()):
        assert time.monotonic() < deadline, f"nbtui never attached:\n{terminal.screen()}"
        time.sleep(0.1)
    terminal.wait_for(rf"^hub\s+{hub.url}/user/alice$", where="side")
    [kernel] = hub.user_api("alice", "GET", "/api/kernels")  # type: ignore[misc]
    terminal.type("print(6*7)")
    terminal.keys("Enter")
    terminal.wait_for(r"^\s*42$", where="transcript")
    assert token not in terminal.screen()
    terminal.keys("C-q")
    terminal.wait_for(r"^NBTUI-EXIT=0$")
    history = terminal.history()
    assert token not in history
    assert f"nbtui: asking JupyterHub at {hub.url} to start alice's server" in history
    # nbtui asked for this kernel, so quitting deletes it; alice's server runs on.
    wait_for(lambda: hub.user_api("alice", "GET", "/api/kernels") == [], timeout=DEADLINE)
    assert kernel["id"]


@pytest.mark.timeout(240)
def test_gateway_start_run_interrupt_and_quit(
    terminal: Terminal, kernel_gateway: KernelGatewayProcess
) -> None:
    gateway = kernel_gateway
    _start(terminal, gateway.url, gateway.token, "JUPYTER_TOKEN")
    terminal.wait_for(r"started\s+by\s+nbtui", where="side")
    terminal.wait_for(rf"^gateway\s+{gateway.url}$", where="side")
    [kernel_id] = gateway.kernel_ids()
    terminal.type(SLEEPER)
    terminal.keys("Enter")
    terminal.wait_for(r"running")
    terminal.wait_for(r"^\s*sleeping$", where="transcript")
    terminal.keys("C-c")
    terminal.wait_for(r"KeyboardInterrupt", where="transcript")
    terminal.type("print(6*7)")
    terminal.keys("Enter")
    terminal.wait_for(r"^\s*42$", where="transcript")
    left, _ = columns(terminal.screen())
    assert gateway.token not in left
    terminal.keys("C-q")
    terminal.wait_for(r"^NBTUI-EXIT=0$")
    assert gateway.token not in terminal.history()
    wait_for(lambda: kernel_id not in gateway.kernel_ids(), timeout=DEADLINE)
