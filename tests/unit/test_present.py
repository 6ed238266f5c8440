"""The words nbtui shows for what the kernel layer finds: tables, sizes, ages. No sockets."""

from __future__ import annotations

import json
from pathlib import Path

from nbtui.app import present, present_tables
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
    cells = present_tables.row(alive(tmp_path), NOW, tmp_path)
    assert len(cells) == len(present_tables.HEADERS)
    assert cells[:5] == ("kernel-a.json", "python3 (python)", "alive", "idle", "4242")
    assert cells[6] == "12%"


def test_row_of_a_stale_and_an_invalid_file(tmp_path: Path) -> None:
    assert present_tables.row(stale(tmp_path), NOW, tmp_path)[1:7] == (
        "python3",
        "STALE",
        "-",
        "-",
        "-",
        "-",
    )
    invalid = KernelEntry(path=tmp_path / "kernel-c.json", mtime=NOW, error="bad json")
    assert present_tables.row(invalid, NOW, tmp_path)[1:3] == ("-", "INVALID")


def test_table_aligns_columns_and_sums_up(tmp_path: Path) -> None:
    entries = [alive(tmp_path), stale(tmp_path)]
    table = present_tables.format_table(entries, now=NOW, runtime=tmp_path).splitlines()
    assert table[0].split() == list(present_tables.HEADERS)
    # The right-aligned columns end where their headers end.
    assert table[1].index("12%") == table[0].index("CPU")
    assert table[-1] == "1 alive, 1 stale (nbtui --prune removes the stale files)"


def test_table_names_files_with_problems(tmp_path: Path) -> None:
    invalid = KernelEntry(path=tmp_path / "kernel-c.json", mtime=NOW, error="not JSON")
    deaf = alive(tmp_path, "kernel-d.json", responsive=False)
    lines = present_tables.format_table([invalid, deaf], now=NOW, runtime=tmp_path).splitlines()
    assert "1 alive, 0 stale, 1 invalid" in lines
    assert "kernel-c.json: not JSON" in lines
    assert any(line.startswith("kernel-d.json: the heartbeat answers") for line in lines)


def test_table_without_summary(tmp_path: Path) -> None:
    table = present_tables.format_table([stale(tmp_path)], now=NOW, runtime=tmp_path, summary=False)
    assert len(table.splitlines()) == 2


def test_entries_json_is_the_entries_as_json(tmp_path: Path) -> None:
    entries = [alive(tmp_path), stale(tmp_path)]
    data = json.loads(present_tables.entries_json(entries, now=NOW))
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
    table = present_tables.format_server_table([server_kernel(stamp)], now=1767225600.0 + 30)
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
    cells = present_tables.row(alive(tmp_path, memory=int(52.7 * MIB)), NOW, tmp_path)
    assert cells[present_tables.HEADERS.index("MEMORY")] == "53 MiB"


def test_duration_in_at_most_two_whole_units() -> None:
    assert present.format_duration(-3) == "0 s"
    assert present.format_duration(59.9) == "59 s"
    assert present.format_duration(60) == "1 min"
    assert present.format_duration(3599) == "59 min"
    assert present.format_duration(3600) == "1 h"
    assert present.format_duration(3 * 3600 + 5 * 60 + 59) == "3 h 5 min"
    assert present.format_duration(86400) == "1 d"
    assert present.format_duration(2 * 86400 + 7 * 3600 + 1800) == "2 d 7 h"


def test_ago() -> None:
    assert present.format_ago(2) == "2 s ago"
    assert present.format_ago(3 * 3600 + 300) == "3 h 5 min ago"
    assert present.format_ago(59, now_below=60) == "now"
    assert present.format_ago(61, now_below=60) == "1 min ago"


def test_elapsed_clock_keeps_its_seconds() -> None:
    assert present.format_elapsed(4.24) == "4.2 s"
    assert present.format_elapsed(125.3) == "2 min 5 s"
    assert present.format_elapsed(3725) == "1 h 2 min 5 s"


def test_latency_in_milliseconds() -> None:
    assert present.format_latency(None) == "-"
    assert present.format_latency(0.0001) == "0.1 ms"
    assert present.format_latency(0.0123) == "12 ms"
    assert present.format_latency(1.43) == "1.4 s"


def test_coarse_latency_moves_in_steps() -> None:
    assert present.format_latency(0.0002, coarse=True) == "<1 ms"
    assert present.format_latency(0.004, coarse=True) == "<10 ms"
    assert present.format_latency(0.04, coarse=True) == "<100 ms"
    assert present.format_latency(0.34, coarse=True) == "0.3 s"


def test_list_and_server_ages_are_written_alike(tmp_path: Path) -> None:
    entry = alive(tmp_path, mtime=NOW - (2 * 3600 + 13 * 60))
    assert (
        present_tables.row(entry, NOW, tmp_path)[present_tables.HEADERS.index("AGE")]
        == "2 h 13 min"
    )
    stamp = "2026-01-01T00:00:00.000000Z"
    assert present.format_timestamp_ago(stamp, 1767225600.0 + 75) == "1 min ago"
    assert present.format_timestamp_ago(stamp, 1767225600.0 + 3 * 86400) == "3 d ago"


def test_unreadable_server_time_is_shown_as_is() -> None:
    assert present.format_timestamp_ago("not a time") == "not a time"
    assert present.format_timestamp_ago("") == "-"


def test_coarse_clocks_move_in_growing_steps() -> None:
    steps = [
        present.format_duration(s, coarse=True) for s in (35, 61, 599, 601, 1250, 7300, 200_000)
    ]
    assert steps == ["35 s", "1 min", "9 min", "10 min", "20 min", "2 h", "2 d"]
    assert present.format_ago(4, coarse=True) == present.format_ago(59, coarse=True) == "<1 min ago"
    assert present.format_ago(3 * 3600 + 300, coarse=True) == "3 h ago"
    assert present.format_duration(3 * 3600 + 300) == "3 h 5 min"  # the fine default stays


def test_steady_figures_hold_the_shown_value_within_their_band() -> None:
    steady = present.SteadyFigures()
    shown = [steady.value("mem", mib * MIB, relative=0.03) for mib in (52, 53, 51, 52, 56, 55)]
    assert [value // MIB for value in shown if value is not None] == [52, 52, 52, 52, 56, 56]
    assert steady.value("cpu", 0.3, absolute=5.0) == 0.3
    assert steady.value("cpu", 4.0, absolute=5.0) == 0.3
    assert steady.value("cpu", 99.0, absolute=5.0) == 99.0
    assert steady.value("cpu", None) is None
    assert steady.value("cpu", 98.0, absolute=5.0) == 98.0  # unknown in between: no centre


def test_a_control_probe_step_changes_when_two_agree_or_at_once_when_slow() -> None:
    control = present.SteadyLatency(agree=2, median_of=1)
    history = [0.0004]
    assert control.figure(history) == "<1 ms"
    history.append(0.003)
    assert control.figure(history) == "<1 ms"
    history.append(0.004)
    assert control.figure(history) == "<10 ms"
    history.append(0.3)
    assert control.figure(history) == "0.3 s"
