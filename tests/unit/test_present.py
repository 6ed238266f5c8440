"""The words nbtui shows for what the kernel layer finds: tables, sizes, ages. No sockets."""

from __future__ import annotations

import json
from pathlib import Path

from nbtui.app import present
from nbtui.app.kernel.connection import ConnectionInfo
from nbtui.app.kernel.discovery import KernelEntry
from nbtui.app.kernel.server import ServerKernelModel

NOW = 1_800_000_000.0
MIB = 1 << 20
GIB = 1 << 30


def info(ip: str = "127.0.0.1") -> ConnectionInfo:
    return ConnectionInfo(
        transport="tcp",
        ip=ip,
        ports=dict.fromkeys(("shell", "iopub", "stdin", "control", "hb"), 1),
        key="k" * 32,
        signature_scheme="hmac-sha256",
        kernel_name="python3",
    )


def alive(runtime: Path, name: str = "kernel-a.json", **fields: object) -> KernelEntry:
    values: dict[str, object] = {
        "path": runtime / name,
        "mtime": NOW - 7200,
        "info": info(),
        "alive": True,
        "responsive": True,
        "execution_state": "idle",
        "language": "python",
        "pid": 4242,
        "memory": 512 * MIB,
        "cpu": 12.4,
    }
    values.update(fields)
    return KernelEntry(**values)  # type: ignore[arg-type]


def stale(runtime: Path, name: str = "kernel-b.json") -> KernelEntry:
    return KernelEntry(path=runtime / name, mtime=NOW - 10, info=info())


def test_display_name_is_short_inside_the_runtime_dir(tmp_path: Path) -> None:
    assert present.display_name(tmp_path / "kernel-a.json", tmp_path) == "kernel-a.json"
    elsewhere = tmp_path / "sub" / "kernel-a.json"
    assert present.display_name(elsewhere, tmp_path) == str(elsewhere)


def test_row_has_one_cell_per_header(tmp_path: Path) -> None:
    cells = present.row(alive(tmp_path), NOW, tmp_path)
    assert len(cells) == len(present.HEADERS)
    assert cells[:5] == ("kernel-a.json", "python3 (python)", "alive", "idle", "4242")
    assert cells[6] == "12%"


def test_row_of_a_stale_and_an_invalid_file(tmp_path: Path) -> None:
    assert present.row(stale(tmp_path), NOW, tmp_path)[1:7] == (
        "python3",
        "STALE",
        "-",
        "-",
        "-",
        "-",
    )
    invalid = KernelEntry(path=tmp_path / "kernel-c.json", mtime=NOW, error="bad json")
    assert present.row(invalid, NOW, tmp_path)[1:3] == ("-", "INVALID")


def test_table_aligns_columns_and_sums_up(tmp_path: Path) -> None:
    entries = [alive(tmp_path), stale(tmp_path)]
    table = present.format_table(entries, now=NOW, runtime=tmp_path).splitlines()
    assert table[0].split() == list(present.HEADERS)
    # The right-aligned columns end where their headers end.
    assert table[1].index("12%") == table[0].index("CPU")
    assert table[-1] == "1 alive, 1 stale (nbtui --prune removes the stale files)"


def test_table_names_files_with_problems(tmp_path: Path) -> None:
    invalid = KernelEntry(path=tmp_path / "kernel-c.json", mtime=NOW, error="not JSON")
    deaf = alive(tmp_path, "kernel-d.json", responsive=False)
    lines = present.format_table([invalid, deaf], now=NOW, runtime=tmp_path).splitlines()
    assert "1 alive, 0 stale, 1 invalid" in lines
    assert "kernel-c.json: not JSON" in lines
    assert any(line.startswith("kernel-d.json: the heartbeat answers") for line in lines)


def test_table_without_summary(tmp_path: Path) -> None:
    table = present.format_table([stale(tmp_path)], now=NOW, runtime=tmp_path, summary=False)
    assert len(table.splitlines()) == 2


def test_entries_json_is_the_entries_as_json(tmp_path: Path) -> None:
    entries = [alive(tmp_path), stale(tmp_path)]
    data = json.loads(present.entries_json(entries, now=NOW))
    assert data == [entry.as_json(NOW) for entry in entries]
    assert data[0]["memory_bytes"] == 512 * MIB


def server_kernel(last_activity: str) -> ServerKernelModel:
    return ServerKernelModel.from_json(
        {
            "id": "abc",
            "name": "python3",
            "execution_state": "idle",
            "connections": 2,
            "last_activity": last_activity,
        }
    )


def test_server_table() -> None:
    stamp = "2026-01-01T00:00:00.000000Z"
    table = present.format_server_table([server_kernel(stamp)], now=1767225600.0 + 30)
    lines = table.splitlines()
    assert lines[0].split() == ["ID", "NAME", "STATE", "CONN", "LAST", "ACTIVITY"]
    assert lines[1].split() == ["abc", "python3", "idle", "2", "30", "s", "ago"]


def test_bytes_in_binary_units() -> None:
    assert present.format_bytes(None) == "-"
    assert present.format_bytes(0) == "0 B"
    assert present.format_bytes(1023) == "1023 B"
    assert present.format_bytes(12595) == "12 KiB"
    assert present.format_bytes(512 * MIB) == "512 MiB"
    assert present.format_bytes(1.2 * GIB) == "1.2 GiB"
    assert present.format_bytes(23.5 * GIB) == "23.5 GiB"
    assert present.format_bytes(3 * 1024 * GIB) == "3.0 TiB"


def test_bytes_never_show_1024_of_a_unit() -> None:
    assert present.format_bytes(1023.7 * 1024) == "1 MiB"
    assert present.format_bytes(1023.96 * GIB) == "1.0 TiB"


def test_list_table_shows_memory_in_binary_units(tmp_path: Path) -> None:
    cells = present.row(alive(tmp_path, memory=int(52.7 * MIB)), NOW, tmp_path)
    assert cells[present.HEADERS.index("MEMORY")] == "53 MiB"
