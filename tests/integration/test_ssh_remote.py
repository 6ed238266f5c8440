"""`--ssh HOST --list` and `--ssh HOST --existing [NAME]`: connection files that exist only
on the "remote" side, found through the real sshd of test_ssh (the same machine, but the
files lie in a runtime dir that only `--remote-runtime-dir` names: nothing here knows it).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from jupyter_client import KernelManager

from nbtui.app.kernel.remote import choose, list_remote
from tests.conftest import start_kernel
from tests.integration.test_cli_errors import dead_connection, one_line_error, run_nbtui
from tests.integration.test_ssh import SshServer, pytestmark, sshd

__all__ = ["pytestmark", "sshd"]


@pytest.fixture
def remote_dir(tmp_path: Path) -> Path:
    """The "remote" runtime dir: not the test's JUPYTER_RUNTIME_DIR."""
    folder = tmp_path / "remote-runtime"
    folder.mkdir()
    return folder


@pytest.fixture
def remote_kernel(remote_dir: Path) -> KernelManager:
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
