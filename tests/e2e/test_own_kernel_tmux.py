"""A kernel nbtui started, through its whole life, in a real terminal (tmux) (issue 13).

F9 restarts it and nbtui carries on; `--keep-kernel` leaves it running, re-attachable with
a bare `nbtui --existing` after nbtui is gone; one killed with -9 leaves no connection file
once nbtui quits. Also `--existing -` on a terminal, and a token on the command line.

Every kernel process a test makes is found by its connection file, which lies in the
test's own runtime dir, and is killed by pid afterwards, its files removed.
"""

from __future__ import annotations

import contextlib
import json
import shlex
import shutil
import signal
import sys
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
from jupyter_client import BlockingKernelClient, KernelManager

from tests.conftest import JupyterServerProcess, wait_for
from tests.e2e.terminal import DEADLINE, Terminal

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed"),
]


def kernel_processes(runtime: Path) -> list[psutil.Process]:
    """The live kernels whose connection file lies in `runtime` (the test's own dir)."""
    found = []
    for process in psutil.process_iter(["cmdline"]):
        cmdline = process.info["cmdline"] or []
        if any(str(runtime) in part for part in cmdline) and "nbtui" not in " ".join(cmdline):
            found.append(process)
    return [process for process in found if _running(process)]


def _running(process: psutil.Process) -> bool:
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def kernel_files(runtime: Path) -> list[Path]:
    """Connection files and kernel logs in the runtime dir."""
    return sorted([*runtime.glob("kernel-*.json"), *runtime.glob("nbtui-kernel-*.log")])


@pytest.fixture
def runtime(isolated_jupyter: Path) -> Iterator[Path]:
    """The test's runtime dir; every kernel left in it is killed by pid afterwards."""
    try:
        yield isolated_jupyter
    finally:
        for process in kernel_processes(isolated_jupyter):
            with_children = [process]
            with contextlib.suppress(psutil.NoSuchProcess):
                with_children[:0] = process.children(recursive=True)
            for each in with_children:
                with contextlib.suppress(psutil.NoSuchProcess):
                    each.kill()
            psutil.wait_procs(with_children, timeout=10)
        for path in kernel_files(isolated_jupyter):
            path.unlink(missing_ok=True)


def _start(terminals: list[Terminal], *args: str, extra_env: tuple[str, ...] = ()) -> Terminal:
    """nbtui with `args` in a new 100x30 pane that lives on after nbtui exits."""
    terminal = Terminal(100, 30)
    terminals.append(terminal)
    terminal.start_nbtui(*args, env=extra_env)
    return terminal


def _own_kernel(runtime: Path) -> psutil.Process:
    """The one kernel nbtui started."""
    found: list[psutil.Process] = []

    def one() -> bool:
        found[:] = kernel_processes(runtime)
        return len(found) == 1

    wait_for(one, timeout=DEADLINE)
    return found[0]


def _nbtui_process(terminal: Terminal) -> psutil.Process:
    """The nbtui process in the pane (a child of the pane's shell)."""
    shell = _pane_shell(terminal)
    for child in shell.children(recursive=True):
        if any("nbtui" in part for part in child.cmdline()):
            return child
    raise AssertionError(f"no nbtui process under {shell.pid}")


@pytest.mark.timeout(240)
def test_f9_restarts_own_kernel_and_nbtui_carries_on(
    runtime: Path, terminals: list[Terminal]
) -> None:
    terminal = _start(terminals)
    terminal.wait_for(r"\A.*nbtui.*idle")
    terminal.wait_for(r"In \[1\]:", where="editor")
    before = _own_kernel(runtime)
    terminal.type("x = 41")
    terminal.keys("Enter")
    terminal.wait_for(r"In \[2\]:\s*$", where="editor")

    terminal.keys("F9")
    terminal.wait_for(r"Restart the kernel\?")
    terminal.type("y")
    terminal.wait_for(r"the kernel restarted")
    # A new kernel process on the same connection file: x is gone, and nbtui still runs.
    wait_for(lambda: not _running(before), timeout=DEADLINE)
    after = _own_kernel(runtime)
    assert after.pid != before.pid
    terminal.wait_for(r"\A.*nbtui.*idle")
    terminal.type("print(x)")
    terminal.keys("Enter")
    terminal.wait_for(r"NameError")
    screen = terminal.screen()
    assert "closed file" not in screen
    assert "locals" not in screen

    terminal.keys("C-q")
    terminal.wait_for(r"^NBTUI-EXIT=0$")
    # The kernel nbtui started went with it, with its connection file and log.
    wait_for(lambda: not kernel_processes(runtime), timeout=DEADLINE)
    assert kernel_files(runtime) == []


@pytest.mark.timeout(240)
def test_keep_kernel_outlives_nbtui_and_bare_existing_reattaches(
    runtime: Path, terminals: list[Terminal]
) -> None:
    first = _start(terminals, "--keep-kernel")
    first.wait_for(r"\A.*nbtui.*idle")
    first.wait_for(r"In \[1\]:", where="editor")
    kept = _own_kernel(runtime)
    first.type("x = 41")
    first.keys("Enter")
    first.wait_for(r"In \[2\]:\s*$", where="editor")
    first.keys("C-q")
    first.wait_for(r"kernel left running; re-attach with")
    first.wait_for(r"^NBTUI-EXIT=0$")
    # nbtui is gone: the kernel now has another parent.
    wait_for(lambda: kept.ppid() != _pane_shell(first).pid and not _nbtui_alive(first))

    second = _start(terminals, "--existing")
    second.wait_for(r"\A.*nbtui.*idle")
    second.wait_for(r"In \[\d+\]:", where="editor")
    second.type("print(x + 1)")
    second.keys("Enter")
    second.wait_for(r"^\s*42(\s|$)")
    second.keys("C-q")
    second.wait_for(r"^NBTUI-EXIT=0$")

    # Neither nbtui shut it down: it still answers a plain jupyter_client.
    assert _running(kept)
    (connection,) = runtime.glob("kernel-*.json")
    client = BlockingKernelClient()
    client.load_connection_file(str(connection))
    client.start_channels()
    try:
        client.wait_for_ready(timeout=DEADLINE)
    finally:
        client.stop_channels()
    assert kernel_processes(runtime) == [kept]


def _pane_shell(terminal: Terminal) -> psutil.Process:
    return psutil.Process(int(terminal.tmux("display-message", "-p", "-t", "nbtui", "#{pane_pid}")))


def _nbtui_alive(terminal: Terminal) -> bool:
    return any(
        "nbtui" in " ".join(child.cmdline())
        for child in _pane_shell(terminal).children(recursive=True)
    )


@pytest.mark.timeout(240)
def test_own_kernel_killed_then_quit_leaves_no_connection_file(
    runtime: Path, terminals: list[Terminal]
) -> None:
    terminal = _start(terminals)
    terminal.wait_for(r"\A.*nbtui.*idle")
    kernel = _own_kernel(runtime)
    assert len(list(runtime.glob("kernel-*.json"))) == 1
    kernel.send_signal(signal.SIGKILL)
    terminal.wait_for(r"the kernel is dead")
    terminal.keys("C-q")
    terminal.wait_for(r"^NBTUI-EXIT=0$")
    screen = terminal.screen()
    assert "RuntimeWarning" not in screen
    assert "never awaited" not in screen
    assert kernel_files(runtime) == []


@pytest.mark.timeout(240)
def test_existing_dash_on_a_terminal_asks_for_the_json(
    kernel: KernelManager, terminals: list[Terminal]
) -> None:
    terminal = _start(terminals, "--existing", "-")
    terminal.wait_for(r"paste the connection JSON.*ctrl\+d")
    terminal.type(json.dumps(json.loads(Path(kernel.connection_file).read_text())))
    terminal.keys("Enter")
    terminal.keys("C-d")
    terminal.wait_for(r"\A.*nbtui.*idle")
    terminal.wait_for(r"In \[1\]:", where="editor")
    terminal.keys("C-q")
    terminal.wait_for(r"^NBTUI-EXIT=0$")
    assert kernel.is_alive()


@pytest.mark.timeout(240)
def test_existing_dash_on_a_terminal_leaves_on_one_ctrl_c(terminals: list[Terminal]) -> None:
    # asyncio.run's own SIGINT handler only cancels the main task, which cannot happen while
    # it blocks reading the paste: the first ctrl+c was swallowed, a second left silently.
    terminal = _start(terminals, "--existing", "-")
    terminal.wait_for(r"paste the connection JSON.*ctrl\+d")
    terminal.keys("C-c")
    terminal.wait_for(r"NBTUI-EXIT=130$")


@pytest.mark.timeout(240)
@pytest.mark.parametrize("form", ["url", "option"])
def test_token_on_the_command_line_is_masked_and_warned_about(
    jupyter_server: JupyterServerProcess, terminals: list[Terminal], form: str
) -> None:
    token = jupyter_server.token
    if form == "url":
        args = ["--server", f"{jupyter_server.url}/?token={token}"]
    else:
        args = ["--server", jupyter_server.url, "--token", token]
    terminal = _start(terminals, *args)
    terminal.wait_for(r"\A.*nbtui.*idle")
    nbtui = _nbtui_process(terminal)
    # What `ps` shows of nbtui (/proc/PID/cmdline) no longer holds the token.
    cmdline = Path(f"/proc/{nbtui.pid}/cmdline").read_bytes()
    assert token.encode() not in cmdline
    assert b"--server" in cmdline
    terminal.keys("C-q")
    terminal.wait_for(r"^NBTUI-EXIT=0$")
    terminal.wait_for(r"nbtui: other users could see the command line's token in ps")
    assert token not in terminal.screen()
    # nbtui started that kernel on the server, and deleted it on quit.
    wait_for(lambda: jupyter_server.kernel_ids() == [], timeout=DEADLINE)


@pytest.mark.timeout(240)
def test_own_kernel_slow_to_start_is_waited_for(
    runtime: Path, terminals: list[Terminal], tmp_path: Path
) -> None:
    # A kernelspec whose kernel binds its ports 5 s after it starts, as ipykernel does
    # on a loaded machine: nbtui's own kernel is waited for, not declared dead.
    spec = tmp_path / "jupyter-path" / "kernels" / "slow"
    spec.mkdir(parents=True)
    launcher = (
        "import runpy, sys, time; time.sleep(5); sys.argv[0] = 'ipykernel_launcher'; "
        "runpy.run_module('ipykernel_launcher', run_name='__main__', alter_sys=True)"
    )
    argv = [sys.executable, "-c", launcher, "-f", "{connection_file}"]
    kernel_json = {"argv": argv, "display_name": "slow", "language": "python"}
    (spec / "kernel.json").write_text(json.dumps(kernel_json))
    jupyter_path = f"JUPYTER_PATH={shlex.quote(str(tmp_path / 'jupyter-path'))}"
    terminal = _start(terminals, "--kernel", "slow", extra_env=(jupyter_path,))
    terminal.wait_for(r"\A.*nbtui.*idle")
    terminal.type("print(6 * 7)")
    terminal.keys("Enter")
    terminal.wait_for(r"^\s*42(\s|$)")
    terminal.keys("C-q")
    terminal.wait_for(r"^NBTUI-EXIT=0$")
    wait_for(lambda: not kernel_processes(runtime), timeout=DEADLINE)
    assert kernel_files(runtime) == []
