"""The tables of the command line: --list and --prune of connection files, --list of a
server's kernels, and the --pick picker; the tables themselves come from app/present.py."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from nbtui.app.kernel import discovery
from nbtui.app.kernel.errors import NbtuiError
from nbtui.app.kernel.gpu import REMOTE, GpuSampler, GpuSnapshot
from nbtui.app.kernel.kernel_entry import KernelEntry

__all__ = [
    "gpu_readings",
    "list_kernels",
    "list_remote_kernels",
    "list_server_kernels",
    "on_terminal",
    "pick",
    "prune",
    "search_dirs",
]


def search_dirs(args: argparse.Namespace) -> list[Path]:
    """Where --list, --prune and --pick look: the runtime dir, then the DIRs given."""
    return [discovery.runtime_dir(), *args.dirs]


async def list_kernels(args: argparse.Namespace) -> int:
    """--list: print the table (or, with --json, the JSON) of the connection files' kernels."""
    from nbtui.app.present_tables import entries_json, format_table  # noqa: PLC0415 - startup

    entries = await discovery.probe_all(discovery.connection_files(search_dirs(args)))
    gpu = await asyncio.to_thread(gpu_readings, entries)
    if args.json:
        print(entries_json(entries, gpu=gpu))
    elif not entries:
        print(f"no kernel connection files in {discovery.runtime_dir()}")
    else:
        print(format_table(entries, gpu=gpu))
    return 0


def gpu_readings(
    entries: Sequence[KernelEntry], sampler: GpuSampler | None = None
) -> dict[Path, GpuSnapshot]:
    """The GPUs of each listed kernel (blocking: NVML is asked once for them all); a
    remote kernel's reading only says it is remote, and a dead one's is left out.

    Args:
        entries: The probed connection files.
        sampler: NVML's sampler; a new one (closed afterwards) by default.
    """
    local = {
        entry.path: entry.pid
        for entry in entries
        if entry.alive and entry.info is not None and entry.info.is_local
    }
    own = sampler is None
    sampler = sampler or GpuSampler()
    try:
        found = sampler.sample_many(local.values()) if local else {}
    finally:
        if own:
            sampler.close()
    readings = {path: found[pid] for path, pid in local.items()}
    for entry in entries:
        if entry.alive and entry.info is not None and not entry.info.is_local:
            readings[entry.path] = GpuSnapshot(at=time.monotonic(), note=REMOTE)
    return readings


async def prune(args: argparse.Namespace) -> int:
    """--prune: remove the connection files of dead kernels, after asking unless --yes."""
    if not args.yes and not discovery.stdin_is_tty():
        raise NbtuiError(
            "--prune asks before removing files and there is no terminal to ask "
            "on: add --yes to remove the stale files without asking"
        )
    entries = await discovery.probe_all(
        discovery.connection_files(search_dirs(args)), details=False, usage=False
    )
    stale = [entry for entry in entries if entry.stale]
    from nbtui.app.present_tables import format_table  # noqa: PLC0415 - startup

    if not stale:
        print(f"no stale connection files ({len(entries)} checked)")
        return 0
    print(format_table(stale, summary=False))
    if not args.yes:
        try:
            noun = "file" if len(stale) == 1 else f"{len(stale)} files"
            answer = input(f"Remove the stale connection {noun} listed above? [y/N] ")
        except EOFError:
            answer = ""
        if answer.strip().lower() not in ("y", "yes"):
            print("nothing removed")
            return 0
    result = await discovery.prune(stale)
    for path in result.removed:
        print(f"removed {path}")
    for path, why in result.kept:
        print(f"kept {path}: {why}")
    return 0


def on_terminal() -> bool:
    """Whether stdin and stdout are both a terminal, which a full-screen app needs."""
    return discovery.stdin_is_tty() and sys.stdout.isatty()


async def pick(paths: list[Path] | None, dirs: list[Path]) -> Path | None:
    """The connection file chosen in the kernel picker (among `paths`, or all in `dirs`);
    None when it was closed without a choice."""
    if not on_terminal():
        raise NbtuiError(
            "the kernel picker needs a terminal: nbtui --list shows the kernels, "
            "nbtui --existing FILE attaches to one"
        )
    from nbtui.app.screens.picker import KernelPickerApp  # noqa: PLC0415

    picker = KernelPickerApp(dirs=dirs, only=paths)
    return await picker.run_async()


def _say(line: str) -> None:
    print(f"nbtui: {line}", file=sys.stderr)


async def list_server_kernels(args: argparse.Namespace) -> int:
    """--server URL --list: print the server's kernels (with --json, as JSON)."""
    from nbtui.app.kernel.hub import open_server  # noqa: PLC0415 - tornado only when needed
    from nbtui.app.present_tables import format_server_table  # noqa: PLC0415

    server = await open_server(
        args.server, args.token, user=args.user, start_server=args.start_server, say=_say
    )
    kernels = await server.kernels()
    if args.json:
        print(json.dumps([dataclasses.asdict(kernel) for kernel in kernels], indent=2))
    elif not kernels:
        print(f"no kernels on {server.base_url}")
    else:
        print(format_server_table(kernels))
    return 0


async def list_remote_kernels(args: argparse.Namespace) -> int:
    """--ssh HOST --list: print the kernels of the connection files on HOST (with --json,
    as JSON; never their keys)."""
    from nbtui.app.kernel.remote import list_remote  # noqa: PLC0415
    from nbtui.app.present_tables import format_remote_table, remote_json  # noqa: PLC0415

    listing = await asyncio.to_thread(list_remote, args.ssh, args.sshkey, args.remote_runtime_dir)
    if args.json:
        print(remote_json(listing.files))
    elif not listing.files:
        print(f"no kernel connection files in {listing.runtime_dir} on {listing.server}")
    else:
        print(format_remote_table(listing.files))
    return 0
