"""Finding kernels with real ones: live kernels, and stale files left by `kill -9`.

The CLI runs as a subprocess with no terminal; `--existing` that would attach is tested
through the function main uses, since attaching starts the full-screen app.
"""

from __future__ import annotations

import asyncio
import json
import os
import pty
import re
import select
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
from jupyter_client import BlockingKernelClient, KernelManager

from nbtui.app import launch
from nbtui.app import main as cli
from nbtui.app.kernel import discovery, probing
from nbtui.app.kernel.client import KernelClient
from nbtui.app.kernel.connection import load_connection_file
from nbtui.app.kernel.errors import NbtuiError
from nbtui.app.kernel.gpu import NO_DRIVER, GpuSampler
from nbtui.app.present_tables import HEADERS
from tests.conftest import nbtui_script, start_kernel
from tests.integration.test_cli_errors import dead_connection, one_line_error, run_nbtui

# Generous: these are deadlines for hangs, not timings.
LIST_DEADLINE = 30.0


def kernel_path(folder: Path) -> Path:
    return folder / f"kernel-{uuid.uuid4()}.json"


def start_live(folder: Path, count: int) -> list[KernelManager]:
    """Start `count` kernels at once, their connection files in `folder`."""
    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(lambda _: start_kernel(kernel_path(folder)), range(count)))


def make_stale(folder: Path) -> Path:
    """A real kernel killed with SIGKILL: its connection file stays, nothing answers."""
    path = kernel_path(folder)
    km = start_kernel(path)
    text = path.read_text(encoding="utf-8")
    process = km.provisioner.process  # type: ignore[union-attr]
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=30)
    # KernelManager.__del__ removes a file it wrote: after a real kill -9 no manager
    # is left to do that, so this one must not either.
    km._connection_file_written = False
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")
    return path


def set_age(path: Path, seconds_ago: float) -> None:
    when = time.time() - seconds_ago
    os.utime(path, (when, when))


@dataclass
class Fleet:
    live: list[KernelManager]
    stale: list[Path]

    @property
    def live_paths(self) -> list[Path]:
        return [Path(km.connection_file).resolve() for km in self.live]


@pytest.fixture
def fleet(isolated_jupyter: Path) -> Iterator[Fleet]:
    """Three live kernels and two stale files in the test's runtime dir."""
    # Live ones first: a kernel started after a kill could be given the freed ports.
    live = start_live(isolated_jupyter, 3)
    with ThreadPoolExecutor(2) as pool:
        stale = list(pool.map(lambda _: make_stale(isolated_jupyter), range(2)))
    try:
        yield Fleet(live, [path.resolve() for path in stale])
    finally:
        for km in live:
            km.shutdown_kernel(now=True)


def by_file(rows: list[dict[str, object]]) -> dict[str, dict[str, object]]:
    return {str(row["path"]): row for row in rows}


def test_list_marks_live_and_stale(fleet: Fleet, tmp_path: Path) -> None:
    busy_km = fleet.live[0]
    client: BlockingKernelClient = busy_km.blocking_client()
    client.start_channels()
    try:
        client.execute("import time; time.sleep(20)")
        # Wait until the cell runs, so "busy" is the kernel's state and not a race.
        deadline = time.monotonic() + 15
        while True:
            msg = client.get_iopub_msg(timeout=max(0.1, deadline - time.monotonic()))
            if msg["msg_type"] == "execute_input":
                break

        started = time.monotonic()
        result = run_nbtui("--list", "--json", cwd=tmp_path, deadline=LIST_DEADLINE)
        took = time.monotonic() - started
        print(f"nbtui --list --json with 3 live and 2 stale files took {took:.2f} s")
        assert result.returncode == 0, result.stderr
        rows = by_file(json.loads(result.stdout))
        assert len(rows) == 5
        for path in fleet.stale:
            row = rows[str(path)]
            assert row["state"] == "stale"
            assert row["stale"] is True
            assert row["alive"] is False
            assert row["pid"] is None
        for km, path in zip(fleet.live, fleet.live_paths, strict=True):
            row = rows[str(path)]
            assert row["state"] == "alive", row
            assert row["stale"] is False
            assert row["kernel_name"] == "python3"
            assert row["language"] == "python"
            assert row["pid"] == km.provisioner.process.pid  # type: ignore[union-attr]
            assert isinstance(row["memory_bytes"], int) and row["memory_bytes"] > 0
            assert isinstance(row["cpu_percent"], float)
            assert isinstance(row["age_seconds"], float)
        assert rows[str(fleet.live_paths[0])]["execution_state"] == "busy"
        for path in fleet.live_paths[1:]:
            assert rows[str(path)]["execution_state"] == "idle"

        table = run_nbtui("--list", cwd=tmp_path, deadline=LIST_DEADLINE)
        assert table.returncode == 0, table.stderr
        lines = table.stdout.splitlines()
        at = HEADERS.index("CPU") + 1
        assert lines[0].split() == [*HEADERS[:at], "GPU", *HEADERS[at:]]
        if GpuSampler().sample(None).devices:
            print("this machine has an NVIDIA GPU: the no-GPU words are not checked")
        else:
            # No GPU here: the column says "-" and one line under the table says why.
            assert f"GPU: {NO_DRIVER}" in lines
            assert all(rows[str(path)]["gpu_memory"] is None for path in fleet.live_paths)
        for path in fleet.stale:
            line = next(line for line in lines if line.startswith(path.name))
            assert " STALE " in line
        for path in fleet.live_paths:
            line = next(line for line in lines if line.startswith(path.name))
            assert " alive " in line and "STALE" not in line
            assert " MiB " in line or " GiB " in line, line  # binary units, as the panes
            # CPU, then GPU ("-": no GPU here), then the age.
            assert re.search(r"%\s+-\s+\d+ \w+$", line) or GpuSampler().sample(None).devices
        assert "3 alive, 2 stale" in table.stdout
    finally:
        busy_km.interrupt_kernel()
        client.stop_channels()
    # Listing disturbed nobody: every kernel is still there.
    assert all(km.is_alive() for km in fleet.live)
    assert all(path.exists() for path in fleet.stale)


def test_prune_yes_removes_only_stale(fleet: Fleet, tmp_path: Path) -> None:
    result = run_nbtui("--prune", "--yes", cwd=tmp_path, deadline=LIST_DEADLINE)
    assert result.returncode == 0, result.stderr
    for path in fleet.stale:
        assert not path.exists()
        assert f"removed {path}" in result.stdout
    for km, path in zip(fleet.live, fleet.live_paths, strict=True):
        assert path.exists()
        assert km.is_alive()
    again = run_nbtui("--prune", "--yes", cwd=tmp_path, deadline=LIST_DEADLINE)
    assert again.returncode == 0, again.stderr
    assert "no stale connection files (3 checked)" in again.stdout


def run_on_terminal(
    args: list[str], answer: str, cwd: Path, deadline: float = 30.0
) -> tuple[int, str]:
    """Run nbtui on a pseudo-terminal, typing `answer` at its y/N prompt."""
    master, slave = pty.openpty()
    process = subprocess.Popen(
        [nbtui_script(), *args],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        cwd=cwd,
        env=dict(os.environ),
    )
    os.close(slave)
    output = b""
    answered = False
    end = time.monotonic() + deadline
    try:
        while time.monotonic() < end:
            ready, _, _ = select.select([master], [], [], 0.1)
            if ready:
                try:
                    chunk = os.read(master, 4096)
                except OSError:  # the child closed the terminal
                    break
                if not chunk:
                    break
                output += chunk
            if not answered and b"[y/N]" in output:
                os.write(master, answer.encode() + b"\n")
                answered = True
            if process.poll() is not None and not ready:
                break
        return process.wait(timeout=max(0.1, end - time.monotonic())), output.decode()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        os.close(master)


@pytest.mark.parametrize("answer", ["y", "n", ""])
def test_prune_asks_on_a_terminal(isolated_jupyter: Path, tmp_path: Path, answer: str) -> None:
    live = start_kernel(kernel_path(isolated_jupyter))
    try:
        stale = isolated_jupyter / "kernel-dead.json"
        stale.write_text(json.dumps(dead_connection()), encoding="utf-8")
        code, output = run_on_terminal(["--prune"], answer, cwd=tmp_path)
        assert code == 0, output
        assert "Remove the stale connection file listed above? [y/N]" in output
        assert "kernel-dead.json" in output
        assert Path(live.connection_file).name not in output
        assert Path(live.connection_file).exists()
        assert stale.exists() == (answer != "y")
        assert ("nothing removed" in output) == (answer != "y")
    finally:
        live.shutdown_kernel(now=True)


def test_prune_without_a_terminal_refuses(isolated_jupyter: Path, tmp_path: Path) -> None:
    stale = isolated_jupyter / "kernel-dead.json"
    stale.write_text(json.dumps(dead_connection()), encoding="utf-8")
    line = one_line_error(run_nbtui("--prune", cwd=tmp_path))
    assert "--yes" in line
    assert stale.exists()


async def test_prune_keeps_a_file_whose_kernel_answers(
    kernel: KernelManager, isolated_jupyter: Path
) -> None:
    """A file listed as stale whose kernel answers by prune time (say it was
    suspended) is kept: prune checks each file again just before removing it."""
    path = Path(kernel.connection_file)
    entry = discovery.KernelEntry(path=path, mtime=0.0, info=load_connection_file(path))
    assert entry.stale  # as a listing would have reported it
    result = await discovery.prune([entry])
    assert result.removed == []
    assert result.kept[0][0] == path
    assert path.exists()


async def test_bare_existing_skips_newer_stale_file(
    isolated_jupyter: Path,
    kernel_pair: tuple[KernelManager, Path],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    live, stale = kernel_pair
    live_path = Path(live.connection_file).resolve()
    set_age(live_path, 600)
    set_age(stale, 5)  # the newest file is the dead one
    monkeypatch.chdir(tmp_path)
    info = await launch.connection(cli.parse_args(["--existing"]))
    assert info is not None
    assert info.path == live_path
    err = capsys.readouterr().err.strip().splitlines()
    if not err:  # say why: which kernels answered
        entries = await discovery.probe_all([live_path, stale])
        pytest.fail(f"nothing skipped; probe now says: {entries}")
    assert len(err) == 1, err
    assert "skipped 1 newer stale connection file" in err[0]
    assert stale.name in err[0]
    assert live_path.name in err[0]


async def test_bare_existing_with_only_dead_kernels(isolated_jupyter: Path, tmp_path: Path) -> None:
    for name in ("kernel-a1.json", "kernel-b2.json"):
        (isolated_jupyter / name).write_text(json.dumps(dead_connection()), encoding="utf-8")
    line = one_line_error(run_nbtui("--existing", cwd=tmp_path, deadline=LIST_DEADLINE))
    assert "no live kernel" in line
    assert "--prune" in line


@pytest.fixture
def kernel_pair(isolated_jupyter: Path) -> Iterator[tuple[KernelManager, Path]]:
    """One live kernel and one stale file from a real kernel killed with SIGKILL."""
    live = start_kernel(kernel_path(isolated_jupyter))
    stale = make_stale(isolated_jupyter).resolve()
    try:
        yield live, stale
    finally:
        live.shutdown_kernel(now=True)


def test_partial_name_matching_several_files_without_a_terminal(
    isolated_jupyter: Path, tmp_path: Path
) -> None:
    for name in ("kernel-abc111.json", "kernel-abc222.json", "kernel-zzz333.json"):
        (isolated_jupyter / name).write_text(json.dumps(dead_connection()), encoding="utf-8")
    line = one_line_error(run_nbtui("--existing", "abc", cwd=tmp_path))
    assert "'abc' matches 2 connection files" in line
    assert "kernel-abc111.json" in line and "kernel-abc222.json" in line
    assert "zzz" not in line


def test_pick_without_a_terminal_is_one_line(isolated_jupyter: Path, tmp_path: Path) -> None:
    line = one_line_error(run_nbtui("--pick", cwd=tmp_path))
    assert "picker needs a terminal" in line


def _connect_info_text(km: KernelManager) -> str:
    """What `%connect_info` prints in a cell of this kernel."""
    client: BlockingKernelClient = km.blocking_client()
    client.start_channels()
    try:
        chunks: list[str] = []
        reply = client.execute_interactive(
            "%connect_info",
            timeout=30,
            output_hook=lambda msg: chunks.append(msg["content"].get("text", "")),
        )
        assert reply["content"]["status"] == "ok"
        return "".join(chunks)
    finally:
        client.stop_channels()


async def test_connect_info_output_attaches(kernel: KernelManager) -> None:
    text = _connect_info_text(kernel)
    assert "--existing" in text and text.lstrip().startswith("{")
    info = discovery.connection_from_text(text, "standard input")
    assert info.ports["shell"] == kernel.shell_port
    assert info.key == kernel.session.key.decode()
    client = KernelClient(info, username="tester")
    try:
        reply = await client.attach()
    finally:
        await client.close()
    assert reply["status"] == "ok"
    assert reply["language_info"]["name"] == "python"


def test_connection_text_shapes() -> None:
    data = dead_connection()
    plain = discovery.connection_from_text(json.dumps(data), "standard input")
    assert plain.ports["hb"] == data["hb_port"]
    pasted = (
        "In [3]: %connect_info\n"
        + json.dumps(data, indent=1)
        + "\n\nPaste the above JSON into a file, and connect with:\n"
        "    $> jupyter <app> --existing <file>\n"
    )
    assert discovery.connection_from_text(pasted, "standard input").ports == plain.ports
    with pytest.raises(NbtuiError, match="standard input is not valid JSON"):
        discovery.connection_from_text("nope", "standard input")
    with pytest.raises(NbtuiError, match="standard input has no key"):
        discovery.connection_from_text(
            "text {" + json.dumps({k: v for k, v in data.items() if k != "key"})[1:],
            "standard input",
        )


def test_connect_info_text_on_stdin_for_a_dead_kernel_is_one_line(tmp_path: Path) -> None:
    text = (
        json.dumps(dead_connection(), indent=2)
        + "\n\nPaste the above JSON into a file, and connect with:\n"
        "    $> jupyter <app> --existing <file>\n"
    )
    line = one_line_error(run_nbtui("--existing", "-", cwd=tmp_path, stdin_text=text, deadline=20))
    assert "does not answer" in line


def test_local_listener_is_the_kernel(kernel: KernelManager) -> None:
    found = discovery.listening_pids([kernel.shell_port])
    assert found == {kernel.shell_port: kernel.provisioner.process.pid}  # type: ignore[union-attr]


def test_many_dead_files_are_probed_concurrently(isolated_jupyter: Path, tmp_path: Path) -> None:
    for number in range(40):
        (isolated_jupyter / f"kernel-dead{number:02}.json").write_text(
            json.dumps(dead_connection()), encoding="utf-8"
        )
    started = time.monotonic()
    # One at a time, 40 heartbeat timeouts would be 12 s: the deadline is below that.
    result = run_nbtui("--list", cwd=tmp_path, deadline=10)
    print(f"nbtui --list with 40 stale files took {time.monotonic() - started:.2f} s")
    assert result.returncode == 0, result.stderr
    assert "0 alive, 40 stale" in result.stdout


def test_list_with_an_invalid_file(isolated_jupyter: Path, tmp_path: Path) -> None:
    (isolated_jupyter / "kernel-broken.json").write_text("{", encoding="utf-8")
    result = run_nbtui("--list", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "INVALID" in result.stdout
    assert "0 alive, 0 stale, 1 invalid" in result.stdout
    assert "kernel-broken.json: " in result.stdout and "is not valid JSON" in result.stdout


def test_list_with_no_files(tmp_path: Path, isolated_jupyter: Path) -> None:
    result = run_nbtui("--list", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert f"no kernel connection files in {isolated_jupyter}" in result.stdout
    assert json.loads(run_nbtui("--list", "--json", cwd=tmp_path).stdout) == []


@pytest.mark.parametrize(
    "argv",
    [
        pytest.param(["--json"], id="json-without-list"),
        pytest.param(["--yes"], id="yes-without-prune"),
        pytest.param(["--list", "--prune"], id="list-and-prune"),
        pytest.param(["somedir"], id="dir-without-list"),
    ],
)
def test_option_combinations_that_make_no_sense(argv: list[str]) -> None:
    with pytest.raises(SystemExit) as raised:
        cli.parse_args(argv)
    assert raised.value.code == 2


def test_probe_does_not_hang_on_a_wrong_key(kernel: KernelManager, tmp_path: Path) -> None:
    data = json.loads(Path(kernel.connection_file).read_text(encoding="utf-8"))
    data["key"] = "not-" + data["key"]
    path = tmp_path / "kernel-wrongkey.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    entry = asyncio.run(discovery.probe_file(path))
    assert entry.alive and not entry.responsive
    assert entry.state == "no reply"
    # No reply, yet the local process behind the port is found.
    assert entry.pid == kernel.provisioner.process.pid  # type: ignore[union-attr]
    result = run_nbtui("--list", str(tmp_path), cwd=tmp_path)
    assert "key is probably wrong" in result.stdout


def test_a_remote_kernel_gets_a_longer_heartbeat_wait(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A kernel on another host is not called stale after a local kernel's 0.3 s."""
    waits: dict[str, float] = {}
    real_ping = probing._Probe.ping

    async def recording_ping(self: probing._Probe, timeout: float) -> float | None:
        waits[self.info.ip] = timeout
        return await real_ping(self, 0.01)

    monkeypatch.setattr(probing._Probe, "ping", recording_ping)
    paths = []
    for ip in ("192.0.2.1", "127.0.0.1"):  # TEST-NET-1, routed nowhere; loopback
        data = dead_connection()
        data["ip"] = ip
        path = tmp_path / f"kernel-{ip}.json"
        path.write_text(json.dumps(data), encoding="utf-8")
        paths.append(path)
    entries = asyncio.run(discovery.probe_all(paths))
    assert [entry.state for entry in entries] == ["stale", "stale"]
    assert waits == {"192.0.2.1": discovery.REMOTE_HB_TIMEOUT, "127.0.0.1": discovery.HB_TIMEOUT}


def test_list_shows_a_stopped_kernel_as_stopped_not_stale(
    isolated_jupyter: Path, tmp_path: Path
) -> None:
    """`kill -STOP` silences a kernel, it does not kill it: its file is not stale, and
    prune keeps it."""
    kernel = start_kernel(kernel_path(isolated_jupyter))
    path = Path(kernel.connection_file).resolve()
    pid = kernel.provisioner.process.pid  # type: ignore[union-attr]
    os.kill(pid, signal.SIGSTOP)
    try:
        result = run_nbtui("--list", "--json", cwd=tmp_path, deadline=LIST_DEADLINE)
        assert result.returncode == 0, result.stderr
        row = by_file(json.loads(result.stdout))[str(path)]
        assert row["state"] == "stopped", row
        assert row["stale"] is False
        assert row["alive"] is False
        assert row["pid"] == pid

        table = run_nbtui("--list", cwd=tmp_path, deadline=LIST_DEADLINE)
        assert table.returncode == 0, table.stderr
        line = next(line for line in table.stdout.splitlines() if line.startswith(path.name))
        assert " stopped " in line and "STALE" not in line
        assert "0 alive, 0 stale, 1 stopped" in table.stdout
        assert f"process {pid} is stopped" in table.stdout

        pruned = run_nbtui("--prune", "--yes", cwd=tmp_path, deadline=LIST_DEADLINE)
        assert pruned.returncode == 0, pruned.stderr
        assert path.exists()
    finally:
        os.kill(pid, signal.SIGCONT)
        alive = kernel.is_alive()
        kernel.shutdown_kernel(now=True)
    assert alive
