"""`--ssh HOST --list` and `--ssh HOST --existing [NAME]`: connection files that exist only
on the "remote" side, found through the real sshd of test_ssh (the same machine, but the
files lie in a runtime dir that only `--remote-runtime-dir` names: nothing here knows it).
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
from jupyter_client import KernelManager

from nbtui.app.kernel.client import KernelClient
from nbtui.app.kernel.connection import load_connection_file
from nbtui.app.kernel.remote import choose, list_remote
from nbtui.app.kernel.session import KernelSession
from nbtui.app.kernel.transports.zeromq import ZmqTransport
from nbtui.app.kernel.tunnel import SSH_OPTIONS_ENV, SshLink, open_tunnel
from nbtui.app.main import parse_args
from tests.conftest import start_kernel
from tests.e2e.terminal import PASSED_ENV, Terminal
from tests.integration.test_cli_errors import dead_connection, one_line_error, run_nbtui
from tests.integration.test_link_drop import drain_until, said
from tests.integration.test_liveness import kill_9
from tests.integration.test_ssh import SshServer, _ssh_clients, pytestmark, sshd
from tests.ui.conftest import peer

__all__ = ["pytestmark", "sshd"]


@pytest.fixture
def remote_dir(tmp_path: Path) -> Path:
    """The "remote" runtime dir: not the test's JUPYTER_RUNTIME_DIR."""
    folder = tmp_path / "remote-runtime"
    folder.mkdir()
    return folder


@pytest.fixture
def remote_kernel(remote_dir: Path) -> Iterator[KernelManager]:
    km = start_kernel(remote_dir / "kernel-4a7c91e2-remote.json")
    yield km
    km.shutdown_kernel(now=True)


def _ssh_args(sshd: SshServer, remote_dir: Path) -> list[str]:
    return [
        "--ssh",
        sshd.address,
        "--sshkey",
        str(sshd.key),
        "--remote-runtime-dir",
        str(remote_dir),
    ]


def test_list_shows_the_remote_files(
    sshd: SshServer, remote_kernel: KernelManager, remote_dir: Path, tmp_path: Path
) -> None:
    (remote_dir / "kernel-00dead.json").write_text(json.dumps(dead_connection()))
    (remote_dir / "kernel-broken.json").write_text("{not json")
    key = json.loads(Path(remote_kernel.connection_file).read_text())["key"]
    result = run_nbtui(*_ssh_args(sshd, remote_dir), "--list", cwd=tmp_path, deadline=60)
    assert result.returncode == 0, result.stderr
    print(result.stdout)
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["FILE", "KERNEL", "STATE", "IP", "AGE"]
    (live,) = [line for line in lines if "4a7c91e2" in line]
    assert live.split()[1:3] == ["python3", "alive"]
    (stale,) = [line for line in lines if line.startswith("kernel-00dead.json")]
    assert "stale" in stale.split()
    assert any(line.startswith("kernel-broken.json: ") for line in lines)
    assert key not in result.stdout + result.stderr
    as_json = run_nbtui(*_ssh_args(sshd, remote_dir), "--list", "--json", cwd=tmp_path, deadline=60)
    states = {Path(f["path"]).name: f["state"] for f in json.loads(as_json.stdout)}
    assert states == {
        "kernel-4a7c91e2-remote.json": "alive",
        "kernel-00dead.json": "stale",
        "kernel-broken.json": "invalid",
    }
    assert key not in as_json.stdout


def test_the_newest_live_file_is_chosen(
    sshd: SshServer, remote_kernel: KernelManager, remote_dir: Path
) -> None:
    """A newer stale file is skipped; a partial name narrows the choice; the connection
    read over ssh carries the key (to tunnel with) and says where it came from."""
    (remote_dir / "kernel-zz-newer-but-dead.json").write_text(json.dumps(dead_connection()))
    listing = list_remote(sshd.address, str(sshd.key), str(remote_dir))
    assert listing.files[0].name == "kernel-zz-newer-but-dead.json"
    chosen, others = choose(listing)
    assert chosen.name == "kernel-4a7c91e2-remote.json"
    assert others == []
    assert chosen.info is not None
    assert chosen.info.key == json.loads(Path(remote_kernel.connection_file).read_text())["key"]
    assert chosen.info.join_command() == (
        f"nbtui --ssh {sshd.address} --existing kernel-4a7c91e2-remote.json"
    )
    assert choose(listing, "4a7c")[0].name == chosen.name


@pytest.mark.parametrize(
    ("existing", "expected"),
    [
        ("", "no kernel connection files in"),
        ("nomatch", "no kernel connection files in"),
    ],
)
def test_an_empty_remote_dir_is_one_line(
    sshd: SshServer, remote_dir: Path, tmp_path: Path, existing: str, expected: str
) -> None:
    result = run_nbtui(
        *_ssh_args(sshd, remote_dir),
        "--existing",
        *([existing] if existing else []),
        cwd=tmp_path,
        deadline=60,
    )
    assert expected in one_line_error(result)


def test_no_match_and_only_stale_files_are_one_line(
    sshd: SshServer, remote_dir: Path, tmp_path: Path
) -> None:
    (remote_dir / "kernel-00dead.json").write_text(json.dumps(dead_connection()))
    result = run_nbtui(
        *_ssh_args(sshd, remote_dir), "--existing", "nomatch", cwd=tmp_path, deadline=60
    )
    assert "no connection file matching 'nomatch'" in one_line_error(result)
    result = run_nbtui(*_ssh_args(sshd, remote_dir), "--existing", cwd=tmp_path, deadline=60)
    assert "no live kernel" in one_line_error(result)


def test_an_unreachable_host_is_one_line(sshd: SshServer, tmp_path: Path) -> None:
    from tests.integration.test_cli_errors import free_ports  # noqa: PLC0415

    (closed,) = free_ports(1)
    result = run_nbtui(
        "--ssh",
        f"{sshd.user}@127.0.0.1:{closed}",
        "--sshkey",
        str(sshd.key),
        "--list",
        cwd=tmp_path,
        deadline=60,
    )
    assert "Connection refused" in one_line_error(result)


@pytest.mark.sshd_config("SetEnv PATH=/nonexistent")
def test_a_server_without_python_is_one_line(sshd: SshServer, tmp_path: Path) -> None:
    """The server's sessions get a PATH with no python3 on it (or, where a shell startup
    file puts a pyenv shim first, nothing the shim needs)."""
    result = run_nbtui(
        "--ssh", sshd.address, "--sshkey", str(sshd.key), "--list", cwd=tmp_path, deadline=60
    )
    line = one_line_error(result)
    assert "could not run python3 (" in line, line
    assert "python3 script there" in line


async def test_a_killed_tunnel_comes_back_and_the_gap_is_told(
    sshd: SshServer, remote_kernel: KernelManager, remote_dir: Path
) -> None:
    """ssh is killed; while sshd holds new logins back (SIGSTOP) the attempts fail and a
    colleague runs a cell; then the tunnel comes back on the same local ports, the gap is
    told, the colleague's input shows as run during it, and a cell of ours runs."""
    listing = await asyncio.to_thread(list_remote, sshd.address, str(sshd.key), str(remote_dir))
    found = choose(listing, "4a7c")[0].info
    assert found is not None
    tunnel = await asyncio.to_thread(open_tunnel, found, sshd.address, str(sshd.key))
    client = KernelClient(tunnel.info, username="tester")
    assert isinstance(client.transport, ZmqTransport)
    client.transport.link = SshLink(tunnel, restore_timeout=4)
    bob = remote_kernel.blocking_client()
    bob.session.username = "bob"
    bob.start_channels()
    session = KernelSession(client)
    try:
        await client.attach()
        session.attached()
        session.watch()
        ports = dict(tunnel.info.ports)
        os.kill(sshd.pid, signal.SIGSTOP)
        try:
            os.kill(tunnel.process.pid, signal.SIGKILL)
            await drain_until(lambda: session.state == "reconnecting", session, 10)
            assert any(text.startswith("connection lost, reconnecting") for text in said(session))
            await asyncio.to_thread(bob.execute_interactive, "gap_value = 6 * 7", timeout=30)
            keeper = session.keeper
            assert keeper is not None and keeper.reconnecting
        finally:
            os.kill(sshd.pid, signal.SIGCONT)
        await drain_until(
            lambda: any("run during the gap" in text for text in said(session)), session, 60
        )
        back = [text for text in said(session) if text.startswith("connection back after")]
        assert len(back) == 1 and "output sent during the gap is lost" in back[0]
        assert any(
            text.startswith("run during the gap: In [") and text.endswith("gap_value = 6 * 7")
            for text in said(session)
        )
        assert not any("kernel is dead" in text for text in said(session))
        assert tunnel.info.ports == ports and tunnel.alive
        await drain_until(lambda: session.state == "idle", session, 30)
        msg_id = session.execute("print(gap_value)")
        cell = session.model.cells[msg_id]
        await drain_until(
            lambda: cell.state == "ok" and any("42" in str(out.text) for out in cell.outputs),
            session,
            30,
        )
        print(f"gap: {keeper.gaps[0]:.2f} s")
    finally:
        await session.close()
        await client.close()
        tunnel.close()
        bob.stop_channels()


@pytest.mark.e2e
@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
def test_tmux_remote_only_kernel_survives_a_killed_tunnel(
    sshd: SshServer, remote_kernel: KernelManager, remote_dir: Path
) -> None:
    """The installed nbtui in tmux: `--ssh --existing PARTIAL` finds the kernel whose file is
    only on the server; ssh is killed mid-session (sshd holding new logins back while a
    colleague runs a cell); "reconnecting" shows, never "dead"; the tunnel comes back, the
    gap and the colleague's input are told, and a cell runs."""
    args = ("--ssh", sshd.address, "--sshkey", str(sshd.key))
    args += ("--remote-runtime-dir", str(remote_dir), "--existing", "4a7c")
    with Terminal(200, 50) as terminal, peer(remote_kernel, "bob") as bob:
        terminal.start_nbtui(*args, passed=(*PASSED_ENV, SSH_OPTIONS_ENV))
        terminal.wait_for(r"\A.*nbtui.*idle")
        terminal.wait_for(r"In \[1\]:", where="editor")
        terminal.wait_for(r"join: nbtui --ssh \S+ --existing kernel-4a7c91e2-remote\.json")
        (ssh_pid,) = _ssh_clients(sshd.port)
        os.kill(sshd.pid, signal.SIGSTOP)
        try:
            os.kill(ssh_pid, signal.SIGKILL)
            terminal.wait_for(r"connection lost, reconnecting")
            terminal.wait_for(r"● reconnecting")
            bob.execute_interactive("gap_value = 6 * 7", timeout=30)
        finally:
            os.kill(sshd.pid, signal.SIGCONT)
        terminal.wait_for(r"connection back after [0-9.]+ (s|min) \(the ssh tunnel to")
        terminal.wait_for(r"run during the gap: In \[1\]  gap_value = 6 \* 7")
        terminal.wait_for(r"\A.*nbtui.*idle")
        assert "kernel is dead" not in terminal.screen()
        terminal.type("print(gap_value)")
        terminal.keys("Enter")
        terminal.wait_for(r"^\s*42(\s|$)")
        print(terminal.screen())
        terminal.keys("C-q")
        terminal.wait_for(r"^NBTUI-EXIT=0$")
        assert _ssh_clients(sshd.port) == []


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["--remote-runtime-dir", "/x"], "--remote-runtime-dir goes with --ssh"),
        (["--ssh", "gpu", "--pick"], "--ssh goes with --existing [NAME] or --list"),
        (["--ssh", "gpu", "--list", "/tmp"], "not --ssh"),
    ],
)
def test_option_mistakes_are_usage_errors(
    argv: list[str], said: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as raised:
        parse_args(argv)
    assert raised.value.code == 2
    assert said in capsys.readouterr().err


async def test_a_kernel_that_died_while_the_tunnel_was_down_is_told_dead(
    sshd: SshServer, remote_kernel: KernelManager, remote_dir: Path
) -> None:
    """ssh is killed, and while it is down (sshd holding logins back) the kernel is
    killed too: once the tunnel is back its ports refuse, and that is a death, not a gap."""
    found = load_connection_file(Path(remote_kernel.connection_file))
    tunnel = await asyncio.to_thread(open_tunnel, found, sshd.address, str(sshd.key))
    client = KernelClient(tunnel.info, username="tester")
    assert isinstance(client.transport, ZmqTransport)
    client.transport.link = SshLink(tunnel, restore_timeout=4)
    session = KernelSession(client)
    try:
        await client.attach()
        session.attached()
        session.watch()
        os.kill(sshd.pid, signal.SIGSTOP)
        try:
            os.kill(tunnel.process.pid, signal.SIGKILL)
            await drain_until(lambda: session.state == "reconnecting", session, 10)
            await asyncio.to_thread(kill_9, remote_kernel)
        finally:
            os.kill(sshd.pid, signal.SIGCONT)
        await drain_until(lambda: session.state == "dead", session, 60)
        texts = said(session)
        print("\n".join(texts))
        assert any("but the kernel does not answer through it" in text for text in texts)
        assert any(
            text.startswith("the kernel is dead: its ports refuse connections") for text in texts
        )
        assert not any("output sent during the gap" in text for text in texts)
    finally:
        await session.close()
        await client.close()
        tunnel.close()
