"""Bad input to the installed CLI: one line on stderr naming the problem, never a traceback.

Each case runs the real console script in a subprocess with no terminal, so Textual never
starts: every one of these must be caught before the UI would come up.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from jupyter_client import KernelManager

from nbtui.app import __version__
from tests.conftest import nbtui_script


def run_nbtui(
    *args: str, cwd: Path, stdin_text: str | None = None, deadline: float = 30.0
) -> subprocess.CompletedProcess[str]:
    """Run nbtui with the test's environment; `deadline` seconds at most."""
    return subprocess.run(
        [nbtui_script(), *args],
        cwd=cwd,
        env=dict(os.environ),
        input=stdin_text,
        stdin=subprocess.DEVNULL if stdin_text is None else None,
        capture_output=True,
        text=True,
        timeout=deadline,
        check=False,
    )


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    """The single error line, after checking the failure has the shape users are promised."""
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got:\n{result.stderr}"
    assert result.stdout == ""
    line = lines[0]
    assert line.startswith("nbtui: "), line
    return line


def free_ports(count: int) -> list[int]:
    """Ports nothing listens on: bound together so they differ, then released."""
    sockets = [socket.socket(socket.AF_INET, socket.SOCK_STREAM) for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def dead_connection() -> dict[str, Any]:
    """A well-formed connection file whose ports nobody listens on."""
    shell, iopub, stdin, control, hb = free_ports(5)
    return {
        "shell_port": shell,
        "iopub_port": iopub,
        "stdin_port": stdin,
        "control_port": control,
        "hb_port": hb,
        "ip": "127.0.0.1",
        "key": "0f4c7a2e-5b1d-4e8a-9c3f-2d6b8a1e7f90",
        "transport": "tcp",
        "signature_scheme": "hmac-sha256",
        "kernel_name": "python3",
    }


def write_json(path: Path, data: object) -> Path:
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_version(tmp_path: Path) -> None:
    result = run_nbtui("--version", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"nbtui {__version__}"


def test_file_does_not_exist(tmp_path: Path) -> None:
    missing = tmp_path / "kernel-0000.json"
    line = one_line_error(run_nbtui("--existing", str(missing), cwd=tmp_path))
    assert "not found" in line
    assert str(missing) in line


def test_no_kernel_matches_partial_name(tmp_path: Path, isolated_jupyter: Path) -> None:
    write_json(isolated_jupyter / "kernel-1111aaaa.json", dead_connection())
    line = one_line_error(run_nbtui("--existing", "9999zz", cwd=tmp_path))
    assert "no kernel matches '9999zz'" in line
    assert str(isolated_jupyter) in line


def test_bare_existing_with_no_kernels(tmp_path: Path, isolated_jupyter: Path) -> None:
    line = one_line_error(run_nbtui("--existing", cwd=tmp_path))
    assert "no kernel connection files" in line
    assert str(isolated_jupyter) in line


def _drop(key: str) -> Callable[[dict[str, Any]], None]:
    return lambda data: data.pop(key)


def _set(key: str, value: object) -> Callable[[dict[str, Any]], None]:
    return lambda data: data.update({key: value})


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        pytest.param(_drop("key"), "has no key", id="no-key"),
        pytest.param(_drop("hb_port"), "has no hb_port", id="no-hb-port"),
        pytest.param(_drop("ip"), "has no ip", id="no-ip"),
        pytest.param(
            _set("shell_port", "abc"), "shell_port is not an integer: 'abc'", id="port-not-integer"
        ),
        pytest.param(_set("iopub_port", 70000), "iopub_port is out of range", id="port-range"),
        pytest.param(_set("transport", "udp"), "unknown transport 'udp'", id="transport"),
        pytest.param(
            _set("signature_scheme", "hmac-md4"),
            "unknown signature scheme 'hmac-md4'",
            id="signature-scheme",
        ),
    ],
)
def test_invalid_connection_file(
    tmp_path: Path, change: Callable[[dict[str, Any]], None], expected: str
) -> None:
    data = dead_connection()
    change(data)
    path = write_json(tmp_path / "kernel-bad.json", data)
    line = one_line_error(run_nbtui("--existing", str(path), cwd=tmp_path))
    assert expected in line
    assert str(path) in line


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param('{"shell_port": 1,', "is not valid JSON", id="not-json"),
        pytest.param("[1, 2]", "is not a connection file", id="not-an-object"),
    ],
)
def test_connection_file_is_not_a_json_object(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "kernel-bad.json"
    path.write_text(text, encoding="utf-8")
    line = one_line_error(run_nbtui("--existing", str(path), cwd=tmp_path))
    assert expected in line
    assert str(path) in line


def test_connection_json_on_stdin_is_not_json(tmp_path: Path) -> None:
    line = one_line_error(run_nbtui("--existing", "-", cwd=tmp_path, stdin_text="nope"))
    assert "standard input is not valid JSON" in line


def test_dead_kernel(tmp_path: Path) -> None:
    data = dead_connection()
    path = write_json(tmp_path / "kernel-dead.json", data)
    # The deadline is the check that it gives up by itself: the heartbeat wait is 3 s.
    line = one_line_error(run_nbtui("--existing", str(path), cwd=tmp_path, deadline=20))
    assert "does not answer" in line
    assert "heartbeat" in line
    assert str(data["hb_port"]) in line


def test_partial_name_resolves_in_runtime_dir(tmp_path: Path, isolated_jupyter: Path) -> None:
    """A partial name finds the file in the runtime dir; the error names that file."""
    path = write_json(isolated_jupyter / "kernel-4342f625.json", dead_connection())
    line = one_line_error(run_nbtui("--existing", "4342f6", cwd=tmp_path, deadline=20))
    assert "does not answer" in line
    assert str(path.resolve()) in line


def test_wrong_key(tmp_path: Path, kernel: KernelManager) -> None:
    data = json.loads(Path(kernel.connection_file).read_text(encoding="utf-8"))
    assert data["key"]
    data["key"] = "not-" + data["key"]
    path = write_json(tmp_path / "kernel-wrong-key.json", data)
    line = one_line_error(run_nbtui("--existing", str(path), cwd=tmp_path, deadline=30))
    assert "key is probably wrong" in line
    assert str(path) in line
    assert kernel.is_alive()


def test_unknown_kernel_name(tmp_path: Path) -> None:
    line = one_line_error(run_nbtui("--kernel", "nosuchkernel", cwd=tmp_path, deadline=60))
    assert "'nosuchkernel'" in line
    assert "no kernel named" in line


# -- hostile connection files (issue 13) ---------------------------------------------------


@pytest.mark.parametrize(
    "ip",
    ["127.0.0.1\n", "a b", "-1", "127.0.0.1\x1b]0;PWN\x07"],
    ids=["newline", "space", "minus-one", "escape"],
)
def test_ip_zmq_refuses_is_one_line_not_a_hang(tmp_path: Path, ip: str) -> None:
    """zmq refused these in connect(), the half-made socket stayed open, and the context's
    term() then waited for it forever."""
    data = dead_connection()
    data["ip"] = ip
    path = write_json(tmp_path / "kernel-bad-ip.json", data)
    result = run_nbtui("--existing", str(path), cwd=tmp_path, deadline=20)
    line = one_line_error(result)
    assert result.returncode == 2
    assert "ip is not an address or host name" in line
    assert str(path) in line
    assert "\x1b" not in line


DEEP = "[" * 100_000 + "]" * 100_000


def test_deeply_nested_json_file_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "kernel-deep.json"
    path.write_text(DEEP, encoding="utf-8")
    result = run_nbtui("--existing", str(path), cwd=tmp_path)
    line = one_line_error(result)
    assert result.returncode == 2
    assert "nested too deeply" in line
    assert str(path) in line


@pytest.mark.parametrize("text", [DEEP, '{"a":' * 100_000], ids=["list", "object"])
def test_deeply_nested_json_on_stdin_is_one_line(tmp_path: Path, text: str) -> None:
    result = run_nbtui("--existing", "-", cwd=tmp_path, stdin_text=text)
    line = one_line_error(result)
    assert result.returncode == 2
    assert "standard input is not a connection file" in line
    assert "nested too deeply" in line


def test_a_directory_is_not_called_missing(tmp_path: Path) -> None:
    folder = tmp_path / "kernel-dir.json"
    folder.mkdir()
    result = run_nbtui("--existing", str(folder), cwd=tmp_path)
    line = one_line_error(result)
    assert result.returncode == 2
    assert f"{folder} is a directory" in line


def test_a_symlink_loop_is_not_called_missing(tmp_path: Path) -> None:
    loop = tmp_path / "kernel-loop.json"
    loop.symlink_to(tmp_path / "kernel-other.json")
    (tmp_path / "kernel-other.json").symlink_to(loop)
    result = run_nbtui("--existing", str(loop), cwd=tmp_path)
    line = one_line_error(result)
    assert result.returncode == 2
    assert f"{loop} is a symlink loop" in line


def test_dead_ipv6_kernel_names_its_endpoint_in_brackets(tmp_path: Path) -> None:
    data = dead_connection()
    data["ip"] = "::1"
    path = write_json(tmp_path / "kernel-v6.json", data)
    line = one_line_error(run_nbtui("--existing", str(path), cwd=tmp_path, deadline=20))
    assert f"no heartbeat from [::1]:{data['hb_port']}" in line


def test_dead_ipc_kernel_names_its_socket_path(tmp_path: Path) -> None:
    data = dead_connection()
    data["transport"] = "ipc"
    data["ip"] = str(tmp_path / "kernel-ipc")
    path = write_json(tmp_path / "kernel-ipc.json", data)
    line = one_line_error(run_nbtui("--existing", str(path), cwd=tmp_path, deadline=20))
    assert f"no heartbeat from {tmp_path / 'kernel-ipc'}-{data['hb_port']} " in line
