"""What the remote side's script answers, read without ssh: choosing among the files, and
answers that are malformed or hostile (the server's files are not ours to trust)."""

from __future__ import annotations

import json

import pytest

from nbtui.app.kernel.errors import NbtuiError
from nbtui.app.kernel.remote import RemoteListing, _parse_file, choose
from nbtui.app.present_tables import format_remote_table, remote_json

KEY = "5e3c0ffee-very-secret"


def connection(hb: int = 5) -> str:
    ports = dict(shell_port=1, iopub_port=2, stdin_port=3, control_port=4, hb_port=hb)
    return json.dumps({"ip": "127.0.0.1", "key": KEY, "kernel_name": "python3", **ports})


def raw(name: str, mtime: float, alive: bool | None, text: str | None = None) -> dict[str, object]:
    return {
        "path": f"/home/me/.local/share/jupyter/runtime/{name}",
        "mtime": mtime,
        "alive": alive,
        "text": connection() if text is None else text,
        "error": "",
    }


def listing(*entries: dict[str, object]) -> RemoteListing:
    files = [f for f in (_parse_file(entry, "me@gpu") for entry in entries) if f is not None]
    files.sort(key=lambda f: f.mtime, reverse=True)
    return RemoteListing("me@gpu", "/home/me/.local/share/jupyter/runtime", files)


def test_the_newest_live_file_wins_and_a_name_narrows() -> None:
    found = listing(
        raw("kernel-aaaa.json", 100, True),
        raw("kernel-bbbb.json", 300, False),
        raw("kernel-cccc.json", 200, True),
    )
    chosen, others = choose(found)
    assert chosen.name == "kernel-cccc.json"
    assert [other.name for other in others] == ["kernel-aaaa.json"]
    assert choose(found, "aaa")[0].name == "kernel-aaaa.json"
    assert choose(found, "kernel-a*")[0].name == "kernel-aaaa.json"
    with pytest.raises(NbtuiError, match="no live kernel"):
        choose(found, "bbbb")
    with pytest.raises(NbtuiError, match="no connection file matching 'zzz'"):
        choose(found, "zzz")
    with pytest.raises(NbtuiError, match="no kernel connection files in"):
        choose(listing())


def test_a_chosen_file_carries_where_it_lives() -> None:
    chosen, _ = choose(listing(raw("kernel-aaaa.json", 1, True)))
    assert chosen.info is not None
    assert chosen.info.remote == "me@gpu"
    assert chosen.info.key == KEY
    assert chosen.info.join_command() == "nbtui --ssh me@gpu --existing kernel-aaaa.json"
    assert KEY not in repr(chosen)


@pytest.mark.parametrize(
    "entry",
    [
        "not a dict",
        {"path": 42},
        {"nopath": "x"},
    ],
)
def test_entries_that_are_not_files_are_skipped(entry: object) -> None:
    assert _parse_file(entry, "me@gpu") is None


def test_bad_files_are_invalid_and_named_safely() -> None:
    found = listing(
        raw("kernel-json.json", 3, None, text="{not json"),
        raw("kernel-nokey.json", 2, True, text=json.dumps({"ip": "127.0.0.1"})),
        {
            "path": "/r/kernel-err.json",
            "mtime": "soon",
            "alive": "yes",
            "error": "\x1b]52;c;x\x07boom",
        },
    )
    assert [f.state for f in found.files] == ["invalid", "invalid", "invalid"]
    table = format_remote_table(found.files, now=10)
    assert "\x1b" not in table and "\x07" not in table
    assert "kernel-err.json: " in table and "boom" in table
    with pytest.raises(NbtuiError, match="stale or invalid"):
        choose(found)


def test_the_table_and_json_never_show_the_key() -> None:
    found = listing(raw("kernel-aaaa.json", 0, True), raw("kernel-bbbb.json", 0, False))
    table = format_remote_table(found.files, now=125)
    assert table.splitlines()[1].split() == [
        "kernel-aaaa.json",
        "python3",
        "alive",
        "127.0.0.1",
        "2",
        "min",
    ]
    as_json = remote_json(found.files, now=125)
    assert KEY not in table and KEY not in as_json
    assert [entry["state"] for entry in json.loads(as_json)] == ["alive", "stale"]
