"""The Jupyter Server pieces that need no server: the v1 frame codec, URLs, tokens."""

from __future__ import annotations

import pytest
from jupyter_server.services.kernels.connection.base import (
    deserialize_msg_from_ws_v1,
    serialize_msg_to_ws_v1,
)

from nbtui.app.kernel.errors import NbtuiError
from nbtui.app.kernel.model import Notice, Transcript
from nbtui.app.kernel.server import (
    ServerKernel,
    ServerKernelModel,
    normalise_url,
    server_token,
)
from nbtui.app.kernel.transports.websocket import decode_v1, encode_v1
from nbtui.app.present import format_timestamp_ago
from nbtui.app.present_tables import format_server_table
from tests.unit.test_model import other, run_cell


@pytest.mark.parametrize(
    "parts",
    [
        [b"{}", b"{}", b"{}", b"{}"],
        [b'{"msg_id": "a"}', b"", b"{}", b'{"text": "\xc3\xa9"}', b"\x00\x01buffer"],
        [],
    ],
)
def test_v1_frames_match_jupyter_servers_own_codec(parts: list[bytes]) -> None:
    frame = encode_v1("iopub", parts)
    assert frame == serialize_msg_to_ws_v1(parts, "iopub")
    assert decode_v1(frame) == ("iopub", parts)
    assert deserialize_msg_from_ws_v1(frame) == ("iopub", parts)


@pytest.mark.parametrize(
    "frame",
    [
        b"",
        b"\x01\x00",
        (1 << 62).to_bytes(8, "little") + b"\x00" * 16,
        (3).to_bytes(8, "little") + (99).to_bytes(8, "little") * 3,
        (3).to_bytes(8, "little")
        + (40).to_bytes(8, "little")
        + (20).to_bytes(8, "little")
        + (41).to_bytes(8, "little")
        + b"x" * 20,
    ],
)
def test_hostile_v1_frames_are_refused(frame: bytes) -> None:
    with pytest.raises(ValueError, match=r"frame|offset"):
        decode_v1(frame)


@pytest.mark.parametrize(
    ("url", "base", "token"),
    [
        ("http://127.0.0.1:8888", "http://127.0.0.1:8888", ""),
        ("127.0.0.1:8888/", "http://127.0.0.1:8888", ""),
        ("http://127.0.0.1:8888/?token=abc", "http://127.0.0.1:8888", "abc"),
        ("https://hub.example/user/ann/lab?token=t", "https://hub.example/user/ann", "t"),
    ],
)
def test_server_urls(url: str, base: str, token: str) -> None:
    assert normalise_url(url) == (base, token)


def test_a_server_url_must_be_http() -> None:
    with pytest.raises(NbtuiError, match="http"):
        normalise_url("ftp://host/")


def test_token_from_flag_then_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("JUPYTER_TOKEN", raising=False)
    monkeypatch.delenv("NBTUI_TOKEN", raising=False)
    assert server_token(None) == ("", "")
    monkeypatch.setenv("NBTUI_TOKEN", "b")
    assert server_token(None) == ("b", "NBTUI_TOKEN")
    monkeypatch.setenv("JUPYTER_TOKEN", "a")
    assert server_token(None) == ("a", "JUPYTER_TOKEN")
    assert server_token("c") == ("c", "--token")


def test_the_token_is_never_shown() -> None:
    kernel = ServerKernel("http://h:1", "k-id", "python3", "s3cret-token", "JUPYTER_TOKEN")
    shown = f"{kernel!r} {kernel.masked_token} {kernel.join_command()} {kernel.ws_url('s')}"
    assert "s3cret" not in shown
    assert kernel.join_command() == "nbtui --server http://h:1 --kernel-id k-id"
    assert kernel.ws_url("s") == "ws://h:1/api/kernels/k-id/channels?session_id=s"


def test_server_table_and_ages() -> None:
    kernel = ServerKernelModel.from_json(
        {
            "id": "abc",
            "name": "python3",
            "execution_state": "idle",
            "connections": 2,
            "last_activity": "2026-01-01T00:00:00.000000Z",
        }
    )
    table = format_server_table([kernel], now=kernel_time(kernel) + 30)
    assert table.splitlines()[0].split() == ["ID", "NAME", "STATE", "CONN", "LAST", "ACTIVITY"]
    assert table.splitlines()[1].split() == ["abc", "python3", "idle", "2", "30", "s", "ago"]
    assert format_timestamp_ago("not a time") == "not a time"
    assert ServerKernelModel.from_json("junk").connections == 0


def kernel_time(kernel: ServerKernelModel) -> float:
    from datetime import datetime  # noqa: PLC0415

    return datetime.fromisoformat(kernel.last_activity.replace("Z", "+00:00")).timestamp()


def test_rate_limit_stand_in_becomes_a_notice() -> None:
    transcript = Transcript("own-session")
    text = (
        "IOPub data rate exceeded.\nThe Jupyter server will temporarily stop sending "
        "output\n...\nServerApp.iopub_data_rate_limit=1000000.0 (bytes/sec)\n"
        "ServerApp.rate_limit_window=3.0 (secs)\n"
    )
    request = other()
    cell = run_cell(
        transcript, request, "flood()", request.stream("0\n"), request.stream(text, "stderr")
    )
    notices = [entry for entry in transcript.entries if isinstance(entry, Notice)]
    assert len(notices) == 1
    assert notices[0].level == "warning"
    assert "alice's cell" in notices[0].text
    assert "IOPub data rate exceeded (limit 1000000.0 bytes/s over 3.0 s)" in notices[0].text
    # The stand-in is nbtui's notice, not kernel output: the cell keeps only its own.
    assert [output.name for output in cell.outputs] == ["stdout"]


def test_what_a_server_says_about_its_kernels_is_made_safe() -> None:
    kernel = ServerKernelModel.from_json(
        {
            "id": "abc\x1bc\x1b]52;c;aGk=\x07",
            "name": "py\u202ethon\nx",
            "execution_state": "\x1b[6nidle",
            "connections": "2",
            "last_activity": 5,
        }
    )
    assert kernel == ServerKernelModel("abc", "python x", "idle", 0, "5")
