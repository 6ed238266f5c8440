"""`--ssh`: a real OpenSSH server on loopback, started by the test, tunnels to a real kernel.

The server gets a host key and a user key generated into the test's temp dir, listens on
a free high port of 127.0.0.1 only, and is stopped at the end. ssh's own host-key check
is switched off through NBTUI_SSH_OPTIONS: the host key is new every run.
"""

from __future__ import annotations

import asyncio
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest
from jupyter_client import KernelManager

from nbtui.app.kernel.client import KernelClient
from nbtui.app.kernel.connection import load_connection_file
from nbtui.app.kernel.errors import NbtuiError
from nbtui.app.kernel.tunnel import SSH_OPTIONS_ENV, open_tunnel, parse_server
from tests.conftest import wait_for
from tests.e2e.terminal import PASSED_ENV, Terminal
from tests.integration.test_cli_errors import (
    dead_connection,
    free_ports,
    one_line_error,
    run_nbtui,
    write_json,
)
from tests.ui.conftest import peer

SSHD = "/usr/sbin/sshd"
NO_HOST_CHECK = "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR"
ERROR_DEADLINE = 15.0
"""Seconds a failed login or an unreachable host may take to become an error line."""

pytestmark = [
    pytest.mark.skipif(
        not os.path.exists(SSHD),
        reason="OpenSSH server not installed (apt-get install openssh-server)",
    ),
    pytest.mark.skipif(
        shutil.which("ssh") is None,
        reason="OpenSSH client not installed (apt-get install openssh-client)",
    ),
    pytest.mark.timeout(120),
]


@dataclass
class SshServer:
    port: int
    key: Path
    """A private key the server accepts."""
    stranger_key: Path
    """A private key the server does not know."""
    user: str
    pid: int = 0
    """The listening sshd (SIGSTOP holds new logins back; sessions have their own)."""

    @property
    def address(self) -> str:
        return f"{self.user}@127.0.0.1:{self.port}"


def _keygen(path: Path, kind: str = "ed25519") -> Path:
    subprocess.run(
        ["ssh-keygen", "-q", "-t", kind, "-N", "", "-f", str(path)],
        check=True,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=30,
    )
    return path


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture
def sshd(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> Iterator[SshServer]:
    """A real sshd on loopback; `@pytest.mark.sshd_config("Line")` adds config lines."""
    marker = request.node.get_closest_marker("sshd_config")
    extra = "".join(f"{line}\n" for line in marker.args) if marker else ""
    root = tmp_path / "sshd"
    root.mkdir()
    host_key = _keygen(root / "host_ed25519")
    user_key = _keygen(root / "user_ed25519")
    stranger = _keygen(root / "stranger_ed25519")
    authorized = root / "authorized_keys"
    authorized.write_text(Path(f"{user_key}.pub").read_text())
    authorized.chmod(0o600)
    (port,) = free_ports(1)
    config = root / "sshd_config"
    config.write_text(
        f"Port {port}\n"
        "ListenAddress 127.0.0.1\n"
        f"HostKey {host_key}\n"
        f"AuthorizedKeysFile {authorized}\n"
        f"PidFile {root / 'sshd.pid'}\n"
        "UsePAM no\n"
        "StrictModes no\n"
        "PermitRootLogin yes\n"
        "PasswordAuthentication no\n"
        "KbdInteractiveAuthentication no\n"
        "AllowTcpForwarding yes\n"
        "LogLevel ERROR\n" + extra
    )
    Path("/run/sshd").mkdir(mode=0o755, parents=True, exist_ok=True)
    log = (root / "sshd.log").open("wb")
    server = subprocess.Popen(
        [SSHD, "-D", "-e", "-f", str(config)], stdin=subprocess.DEVNULL, stdout=log, stderr=log
    )
    try:
        wait_for(lambda: _listening(port) or server.poll() is not None, timeout=15)
        if server.poll() is not None:
            pytest.fail(f"sshd did not start: {(root / 'sshd.log').read_text()}")
        monkeypatch.setenv(SSH_OPTIONS_ENV, NO_HOST_CHECK)
        user = pwd.getpwuid(os.getuid()).pw_name
        yield SshServer(port=port, key=user_key, stranger_key=stranger, user=user, pid=server.pid)
    finally:
        server.send_signal(signal.SIGCONT)  # a test may have held it back
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


async def test_cell_runs_through_the_tunnel(sshd: SshServer, kernel: KernelManager) -> None:
    info = load_connection_file(Path(kernel.connection_file))
    start = time.monotonic()
    tunnel = await asyncio.to_thread(open_tunnel, info, sshd.address, str(sshd.key))
    setup = time.monotonic() - start
    print(f"tunnel up in {setup:.2f} s")
    try:
        tunnelled = tunnel.info
        assert tunnelled.ip == "127.0.0.1"
        assert tunnelled.tunnel == f"ssh {sshd.address}"
        assert tunnelled.path == info.path
        assert tunnelled.join_command() == info.join_command()
        assert set(tunnelled.ports.values()).isdisjoint(info.ports.values())
        client = KernelClient(tunnelled, username="tester")
        try:
            await client.attach()
            msg_id = client.execute("print(6*7)")
            out = ""
            deadline = time.monotonic() + 30
            idle = False
            while not idle and time.monotonic() < deadline:
                for msg in client.drain():
                    if msg.parent_id != msg_id:
                        continue
                    if msg.msg_type == "stream":
                        out += msg.content["text"]
                    if msg.msg_type == "status" and msg.content["execution_state"] == "idle":
                        idle = True
                await asyncio.sleep(0.01)
            assert idle, "no idle through the tunnel"
            assert out == "42\n"
        finally:
            await client.close()
    finally:
        tunnel.close()
    assert not tunnel.alive
    assert tunnel.process.returncode is not None


def test_a_failed_login_is_one_line(sshd: SshServer, kernel: KernelManager, tmp_path: Path) -> None:
    start = time.monotonic()
    result = run_nbtui(
        "--existing",
        kernel.connection_file,
        "--ssh",
        sshd.address,
        "--sshkey",
        str(sshd.stranger_key),
        cwd=tmp_path,
        deadline=ERROR_DEADLINE + 15,
    )
    took = time.monotonic() - start
    print(f"failed login reported in {took:.2f} s")
    line = one_line_error(result)
    assert "Permission denied" in line, line
    assert took < ERROR_DEADLINE


def test_an_unreachable_host_is_one_line(
    sshd: SshServer, kernel: KernelManager, tmp_path: Path
) -> None:
    (closed,) = free_ports(1)
    start = time.monotonic()
    result = run_nbtui(
        "--existing",
        kernel.connection_file,
        "--ssh",
        f"{sshd.user}@127.0.0.1:{closed}",
        "--sshkey",
        str(sshd.key),
        cwd=tmp_path,
        deadline=ERROR_DEADLINE + 15,
    )
    took = time.monotonic() - start
    print(f"unreachable host reported in {took:.2f} s")
    line = one_line_error(result)
    assert "Connection refused" in line, line
    assert took < ERROR_DEADLINE


def test_a_missing_key_file_is_one_line(kernel: KernelManager, tmp_path: Path) -> None:
    result = run_nbtui(
        "--existing",
        kernel.connection_file,
        "--ssh",
        "root@127.0.0.1:1",
        "--sshkey",
        str(tmp_path / "nope"),
        cwd=tmp_path,
    )
    assert "--sshkey" in one_line_error(result)


def test_a_dead_kernel_behind_a_live_tunnel_is_an_error(sshd: SshServer, tmp_path: Path) -> None:
    """The server answers but nothing listens on the kernel's ports: no hang."""
    info = load_connection_file(write_json(tmp_path / "kernel-dead.json", dead_connection()))
    start = time.monotonic()
    with pytest.raises(NbtuiError) as raised:
        open_tunnel(info, sshd.address, str(sshd.key), timeout=3)
    assert time.monotonic() - start < 10
    assert "heartbeat" in str(raised.value)


def test_the_tunnel_ends_when_nbtui_is_killed(sshd: SshServer, kernel: KernelManager) -> None:
    """SIGKILL runs no clean-up: ssh still goes, because its stdin pipe closes."""
    script = (
        "import os, signal, sys\n"
        "from pathlib import Path\n"
        "from nbtui.app.kernel.connection import load_connection_file\n"
        "from nbtui.app.kernel.tunnel import open_tunnel\n"
        "info = load_connection_file(Path(sys.argv[1]))\n"
        "tunnel = open_tunnel(info, sys.argv[2], sys.argv[3])\n"
        "print(tunnel.process.pid, flush=True)\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script, kernel.connection_file, sshd.address, str(sshd.key)],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=60,
        check=False,
    )
    assert result.returncode == -signal.SIGKILL, result.stderr
    ssh_pid = int(result.stdout.strip())

    def gone() -> bool:
        try:
            os.kill(ssh_pid, 0)
        except ProcessLookupError:
            return True
        # An orphan is reaped by init; until then it is a zombie, which counts as gone.
        with open(f"/proc/{ssh_pid}/stat") as stat:
            return stat.read().split(") ", 1)[1].startswith("Z")

    wait_for(gone, timeout=15)


def _ssh_clients(port: int) -> list[int]:
    """Pids of ssh clients talking to the test server's port."""
    found = []
    for proc in psutil.process_iter(["pid", "name", "cmdline"]):
        cmdline = proc.info["cmdline"] or []
        if proc.info["name"] == "ssh" and str(port) in cmdline:
            found.append(proc.info["pid"])
    return found


@pytest.mark.e2e
@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
def test_tmux_attach_over_ssh(sshd: SshServer, kernel: KernelManager) -> None:
    """The installed nbtui in tmux, through --ssh: a colleague's cell on the same kernel
    shows attributed, the panes tell the tunnel, a cell runs, quit; the tunnel goes."""
    args = ("--existing", kernel.connection_file, "--ssh", sshd.address, "--sshkey", str(sshd.key))
    with Terminal(200, 50) as terminal, peer(kernel, "bob") as bob:
        terminal.start_nbtui(*args, passed=(*PASSED_ENV, SSH_OPTIONS_ENV))
        terminal.wait_for(r"\A.*nbtui.*idle")
        terminal.wait_for(r"In \[1\]:", where="editor")
        assert len(_ssh_clients(sshd.port)) == 1
        # The panes stand beside the transcript at 200 columns.
        terminal.wait_for(r"tunnel\s+.*" + sshd.address.split("@")[-1].split(":")[0])
        terminal.wait_for(r"● alive")
        bob.execute("print('hello from bob')")
        terminal.wait_for(r"In \[1\] bob@[0-9a-f]{4}\s+print\('hello from bob'\)")
        terminal.wait_for(r"^\s*hello from bob(\s|$)")
        terminal.type("print(6*7)")
        terminal.keys("Enter")
        terminal.wait_for(r"^\s*42(\s|$)")
        terminal.keys("C-q")
        terminal.wait_for(r"^NBTUI-EXIT=0$")
        assert _ssh_clients(sshd.port) == []
        assert kernel.is_alive()


@pytest.mark.parametrize(
    ("server", "expected"),
    [
        ("root@gpu", ("root@gpu", None)),
        ("root@gpu:2222", ("root@gpu", 2222)),
        ("alias", ("alias", None)),
        ("me@[::1]:2222", ("me@::1", 2222)),
        ("me@::1", ("me@::1", None)),
    ],
)
def test_parse_server(server: str, expected: tuple[str, int | None]) -> None:
    assert parse_server(server) == expected


@pytest.mark.parametrize("server", ["me@gpu:ssh", "me@gpu:0", "me@:22", "me@[::1]x"])
def test_parse_server_rejects(server: str) -> None:
    with pytest.raises(NbtuiError, match="--ssh"):
        parse_server(server)
