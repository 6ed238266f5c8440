"""Connection files: every problem becomes one sentence, and the key never leaks."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import pytest

from nbtui.app.kernel.connection import (
    CHANNELS,
    ConnectionInfo,
    load_connection_file,
    mask_key,
    parse_connection_info,
    parse_connection_text,
    resolve_connection_file,
)
from nbtui.app.kernel.errors import NbtuiError

KEY = "6f1c2a9e-51d4-4c8b-9e0a-7b3d2f8c1e44"


def valid() -> dict[str, Any]:
    return {
        "shell_port": 50001,
        "iopub_port": 50002,
        "stdin_port": 50003,
        "control_port": 50004,
        "hb_port": 50005,
        "ip": "127.0.0.1",
        "key": KEY,
        "transport": "tcp",
        "signature_scheme": "hmac-sha256",
        "kernel_name": "python3",
    }


def parse(data: object) -> ConnectionInfo:
    return parse_connection_text(json.dumps(data), "kernel-test.json")


def error_of(data: object) -> str:
    with pytest.raises(NbtuiError) as caught:
        parse(data)
    message = str(caught.value)
    assert KEY not in message
    return message


def write(path: Path, data: object, mode: int = 0o600) -> Path:
    path.write_text(json.dumps(data), encoding="utf-8")
    path.chmod(mode)
    return path


# -- parsing -------------------------------------------------------------------------------


def test_valid_file(tmp_path: Path) -> None:
    path = write(tmp_path / "kernel-abc.json", valid())
    info = load_connection_file(path)
    assert info.transport == "tcp"
    assert info.ip == "127.0.0.1"
    assert info.key == KEY
    assert info.signature_scheme == "hmac-sha256"
    assert info.kernel_name == "python3"
    assert info.ports == {
        "shell": 50001,
        "iopub": 50002,
        "stdin": 50003,
        "control": 50004,
        "hb": 50005,
    }
    assert info.path == path
    assert info.url("shell") == "tcp://127.0.0.1:50001"
    assert not info.curve
    jupyter = info.as_jupyter_dict()
    assert jupyter["key"] == KEY
    assert jupyter["hb_port"] == 50005


def test_defaults_for_optional_fields() -> None:
    data = valid()
    del data["transport"], data["signature_scheme"], data["kernel_name"]
    info = parse(data)
    assert info.transport == "tcp"
    assert info.signature_scheme == "hmac-sha256"
    assert info.kernel_name == ""


def test_empty_key_is_allowed_and_masked_as_unsigned() -> None:
    data = valid()
    data["key"] = ""
    info = parse(data)
    assert info.key == ""
    assert "unsigned" in info.masked_key


def test_missing_key() -> None:
    data = valid()
    del data["key"]
    assert "has no key" in error_of(data)


def test_key_not_a_string() -> None:
    data = valid()
    data["key"] = 12345
    assert "key is not a string" in error_of(data)


def test_missing_ip() -> None:
    data = valid()
    del data["ip"]
    assert "has no ip" in error_of(data)


@pytest.mark.parametrize("bad", ["", None, 127])
def test_bad_ip(bad: object) -> None:
    data = valid()
    data["ip"] = bad
    assert "ip is not a string" in error_of(data)


@pytest.mark.parametrize("channel", CHANNELS)
def test_missing_port(channel: str) -> None:
    data = valid()
    del data[f"{channel}_port"]
    message = error_of(data)
    assert f"has no {channel}_port" in message
    assert "kernel-test.json" in message


@pytest.mark.parametrize("channel", CHANNELS)
@pytest.mark.parametrize("bad", ["50001", 50001.5, None, [50001]])
def test_non_integer_port(channel: str, bad: object) -> None:
    data = valid()
    data[f"{channel}_port"] = bad
    message = error_of(data)
    assert f"{channel}_port is not an integer" in message


@pytest.mark.parametrize("channel", CHANNELS)
def test_bool_port(channel: str) -> None:
    # bool is an int in Python: True must not pass as port 1.
    data = valid()
    data[f"{channel}_port"] = True
    assert f"{channel}_port is not an integer" in error_of(data)


@pytest.mark.parametrize("bad", [0, -1, 65536, 100000])
def test_out_of_range_port(bad: int) -> None:
    data = valid()
    data["iopub_port"] = bad
    message = error_of(data)
    assert "iopub_port is out of range" in message
    assert str(bad) in message


@pytest.mark.parametrize("good", [1, 65535])
def test_port_range_edges(good: int) -> None:
    data = valid()
    data["hb_port"] = good
    assert parse(data).ports["hb"] == good


def test_ipc_transport() -> None:
    data = valid()
    data["transport"] = "ipc"
    data["ip"] = "/tmp/kernel-ipc"
    info = parse(data)
    assert info.url("shell") == "ipc:///tmp/kernel-ipc-50001"


@pytest.mark.parametrize("transport", ["udp", "ws", "", "TCP"])
def test_unknown_transport(transport: str) -> None:
    data = valid()
    data["transport"] = transport
    message = error_of(data)
    assert "unknown transport" in message
    assert repr(transport) in message


@pytest.mark.parametrize("scheme", ["hmac-md4", "sha256", "", "none"])
def test_unknown_signature_scheme(scheme: str) -> None:
    data = valid()
    data["signature_scheme"] = scheme
    message = error_of(data)
    assert "unknown signature scheme" in message
    assert repr(scheme) in message


@pytest.mark.parametrize("scheme", ["hmac-md5", "hmac-sha1", "hmac-sha512"])
def test_known_signature_schemes(scheme: str) -> None:
    data = valid()
    data["signature_scheme"] = scheme
    assert parse(data).signature_scheme == scheme


def test_not_json_names_line_and_column() -> None:
    text = '{\n  "ip": "127.0.0.1",\n  "key": oops\n}'
    with pytest.raises(NbtuiError) as caught:
        parse_connection_text(text, "kernel-bad.json")
    message = str(caught.value)
    assert "kernel-bad.json is not valid JSON" in message
    assert "line 3" in message
    assert "column 10" in message


def test_empty_file_is_not_json(tmp_path: Path) -> None:
    path = tmp_path / "kernel-empty.json"
    path.write_text("", encoding="utf-8")
    with pytest.raises(NbtuiError, match="not valid JSON"):
        load_connection_file(path)


@pytest.mark.parametrize("text", ["[1, 2]", '"a string"', "42", "null"])
def test_not_an_object(text: str) -> None:
    with pytest.raises(NbtuiError, match="a JSON object is expected"):
        parse_connection_text(text, "kernel-x.json")


def test_parse_connection_info_rejects_non_dict() -> None:
    with pytest.raises(NbtuiError, match="not a connection file"):
        parse_connection_info(["not", "a", "dict"], "somewhere")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(NbtuiError, match="connection file not found"):
        load_connection_file(tmp_path / "kernel-gone.json")


def test_unreadable_bytes(tmp_path: Path) -> None:
    path = tmp_path / "kernel-binary.json"
    path.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(NbtuiError, match="cannot read connection file"):
        load_connection_file(path)


def test_curve_keys_are_kept_and_passed_on() -> None:
    data = valid()
    data["curve_publickey"] = "P" * 40
    data["curve_secretkey"] = "S" * 40
    info = parse(data)
    assert info.curve
    jupyter = info.as_jupyter_dict()
    assert jupyter["curve_publickey"] == "P" * 40
    assert jupyter["curve_secretkey"] == "S" * 40
    assert "S" * 40 not in repr(info)


# -- the key never leaks -------------------------------------------------------------------


@pytest.mark.parametrize(
    "key",
    [KEY, "a3f9c2d81b7e4e6f", "k3Y9x2", "k3Y9x"],
)
def test_mask_key_never_contains_the_full_key(key: str) -> None:
    masked = mask_key(key)
    assert key not in masked
    assert masked


@pytest.mark.parametrize("key", ["k3Y9", "k3Y", "Zq", "7"])
def test_mask_key_hides_short_keys(key: str) -> None:
    assert key not in mask_key(key)


def test_mask_key_tells_keys_apart() -> None:
    assert mask_key(KEY) != mask_key("0123456789abcdef0123")


def test_repr_never_contains_the_key(tmp_path: Path) -> None:
    info = load_connection_file(write(tmp_path / "kernel-r.json", valid()))
    assert KEY not in repr(info)
    assert KEY not in str(info)
    assert KEY not in info.masked_key
    assert "127.0.0.1" in repr(info)


def test_error_for_a_bad_port_does_not_show_the_key(tmp_path: Path) -> None:
    data = valid()
    data["shell_port"] = "nope"
    path = write(tmp_path / "kernel-k.json", data)
    with pytest.raises(NbtuiError) as caught:
        load_connection_file(path)
    assert KEY not in str(caught.value)


# -- permissions ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "readable"),
    [(0o600, False), (0o400, False), (0o640, True), (0o604, True), (0o644, True)],
)
def test_group_readable_detection(tmp_path: Path, mode: int, readable: bool) -> None:
    path = write(tmp_path / "kernel-perm.json", valid(), mode)
    assert load_connection_file(path).group_readable is readable


def test_text_without_a_path_is_not_group_readable() -> None:
    assert parse(valid()).group_readable is False


# -- the join command ----------------------------------------------------------------------


def test_join_command_in_runtime_dir(isolated_jupyter: Path) -> None:
    path = write(isolated_jupyter / "kernel-x.json", valid())
    assert load_connection_file(path).join_command() == "nbtui --existing kernel-x.json"


def test_join_command_elsewhere_gives_full_path(tmp_path: Path) -> None:
    path = write(tmp_path / "kernel-x.json", valid())
    assert load_connection_file(path).join_command() == f"nbtui --existing {path}"


def test_join_command_without_a_file() -> None:
    assert parse(valid()).join_command() == "nbtui --existing -"


# -- finding connection files --------------------------------------------------------------


@pytest.fixture
def elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty working directory: resolve also looks in ".", which must not be the repo."""
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    return cwd


def _age(path: Path, seconds_ago: float) -> None:
    stamp = time.time() - seconds_ago
    os.utime(path, (stamp, stamp))


def test_resolve_partial_name(isolated_jupyter: Path, elsewhere: Path) -> None:
    wanted = write(isolated_jupyter / "kernel-4342f6aa.json", valid())
    write(isolated_jupyter / "kernel-99bb01cc.json", valid())
    assert resolve_connection_file("4342f6") == wanted.resolve()


def test_resolve_full_name_in_runtime_dir(isolated_jupyter: Path, elsewhere: Path) -> None:
    wanted = write(isolated_jupyter / "kernel-abc.json", valid())
    assert resolve_connection_file("kernel-abc.json") == wanted.resolve()


def test_resolve_existing_path(tmp_path: Path, elsewhere: Path) -> None:
    path = write(tmp_path / "my-connection.json", valid())
    assert resolve_connection_file(str(path)) == path.resolve()


def test_resolve_none_picks_the_newest(isolated_jupyter: Path, elsewhere: Path) -> None:
    old = write(isolated_jupyter / "kernel-old.json", valid())
    new = write(isolated_jupyter / "kernel-new.json", valid())
    middle = write(isolated_jupyter / "kernel-middle.json", valid())
    _age(old, 3600)
    _age(middle, 600)
    _age(new, 10)
    assert resolve_connection_file(None) == new.resolve()


def test_resolve_none_ignores_access_time(isolated_jupyter: Path, elsewhere: Path) -> None:
    stale = write(isolated_jupyter / "kernel-stale.json", valid())
    new = write(isolated_jupyter / "kernel-new.json", valid())
    now = time.time()
    os.utime(new, (now - 60, now - 60))
    # Started an hour ago (mtime), but read a moment ago (atime).
    os.utime(stale, (now, now - 3600))
    assert resolve_connection_file(None) == new.resolve()


def test_resolve_none_with_no_files(isolated_jupyter: Path, elsewhere: Path) -> None:
    with pytest.raises(NbtuiError) as caught:
        resolve_connection_file(None)
    message = str(caught.value)
    assert "no kernel connection files" in message
    assert str(isolated_jupyter) in message


def test_resolve_partial_name_without_match(isolated_jupyter: Path, elsewhere: Path) -> None:
    write(isolated_jupyter / "kernel-abc.json", valid())
    with pytest.raises(NbtuiError) as caught:
        resolve_connection_file("zzz999")
    message = str(caught.value)
    assert "no kernel matches 'zzz999'" in message
    assert str(isolated_jupyter) in message


@pytest.mark.parametrize("name", ["kernel-missing.json", "/nonexistent/dir/kernel-1.json"])
def test_resolve_missing_file(isolated_jupyter: Path, elsewhere: Path, name: str) -> None:
    with pytest.raises(NbtuiError, match="connection file not found"):
        resolve_connection_file(name)


# -- hostile files (issue 13) ----------------------------------------------------------------


@pytest.mark.parametrize(
    "bad",
    ["127.0.0.1\n", "a b", "-1", "1\x1b[2J", " 127.0.0.1", "host:1", "[::1", "x" * 300],
    ids=["newline", "space", "minus-one", "escape", "leading-space", "port", "bracket", "long"],
)
def test_ip_zmq_cannot_connect_to_is_named(bad: str) -> None:
    """zmq refuses these in connect(); they must be refused here first, in one line."""
    data = valid()
    data["ip"] = bad
    message = error_of(data)
    assert "ip" in message
    assert "\n" not in message
    assert "\x1b" not in message


@pytest.mark.parametrize(
    "good",
    ["127.0.0.1", "localhost", "kernel-host.example.com", "::1", "[::1]", "fe80::1%lo", "*"],
)
def test_ip_accepts_addresses_and_host_names(good: str) -> None:
    data = valid()
    data["ip"] = good
    assert parse(data).ip == good


def test_ipc_path_with_a_control_character_is_refused() -> None:
    data = valid()
    data["transport"] = "ipc"
    data["ip"] = "/tmp/kernel\n"
    assert "ip" in error_of(data)


def test_ipc_path_too_long_for_a_socket_is_refused() -> None:
    data = valid()
    data["transport"] = "ipc"
    data["ip"] = "/tmp/" + "x" * 200
    assert "ipc socket paths are too long" in error_of(data)


def test_star_connects_to_this_host() -> None:
    """jupyter_client turns a "*" ip into 0.0.0.0; zmq cannot connect to "*" itself."""
    data = valid()
    data["ip"] = "*"
    assert parse(data).url("hb") == "tcp://0.0.0.0:50005"


@pytest.mark.parametrize(
    "text",
    ["[" * 100_000 + "]" * 100_000, '{"a":' * 100_000 + "1" + "}" * 100_000],
    ids=["list", "object"],
)
def test_deeply_nested_json_is_one_sentence(tmp_path: Path, text: str) -> None:
    path = tmp_path / "kernel-deep.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(NbtuiError) as caught:
        load_connection_file(path)
    assert "nested too deeply" in str(caught.value)
    assert str(path) in str(caught.value)


def test_a_directory_is_not_called_missing(tmp_path: Path) -> None:
    folder = tmp_path / "kernel-dir.json"
    folder.mkdir()
    with pytest.raises(NbtuiError, match="is a directory"):
        load_connection_file(folder)
    with pytest.raises(NbtuiError, match="is a directory"):
        resolve_connection_file(str(folder))


def test_a_symlink_loop_is_not_called_missing(tmp_path: Path) -> None:
    loop = tmp_path / "kernel-loop.json"
    loop.symlink_to(tmp_path / "kernel-other.json")
    (tmp_path / "kernel-other.json").symlink_to(loop)
    with pytest.raises(NbtuiError, match="symlink loop"):
        load_connection_file(loop)
    with pytest.raises(NbtuiError, match="symlink loop"):
        resolve_connection_file(str(loop))


@pytest.mark.parametrize(
    ("transport", "ip", "shown"),
    [
        ("tcp", "127.0.0.1", "127.0.0.1:50005"),
        ("tcp", "kernel-host", "kernel-host:50005"),
        ("tcp", "::1", "[::1]:50005"),
        ("tcp", "[::1]", "[::1]:50005"),
        ("ipc", "/tmp/kernel-ab12", "/tmp/kernel-ab12-50005"),
    ],
)
def test_endpoint_is_shown_as_written_for_its_kind(transport: str, ip: str, shown: str) -> None:
    data = valid()
    data["transport"] = transport
    data["ip"] = ip
    assert parse(data).endpoint("hb") == shown
