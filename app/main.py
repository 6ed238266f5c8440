"""The command line: parse arguments, attach or start a kernel, run the app."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import dataclasses
import json
import os
import re
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from nbtui.app import __version__
from nbtui.app.kernel import discovery
from nbtui.app.kernel.client import KernelClient
from nbtui.app.kernel.connection import (
    ConnectionInfo,
    load_connection_file,
    resolve_connection_file,
)
from nbtui.app.kernel.errors import NbtuiError
from nbtui.app.kernel.launcher import OwnKernel
from nbtui.app.kernel.tunnel import SshTunnel, open_tunnel
from nbtui.app.present import display_name, entries_json, format_table

if TYPE_CHECKING:
    from nbtui.app.kernel.server import ServerKernel
    from nbtui.app.kernel.target import KernelTarget, OwnedKernel

__all__ = ["main", "parse_args"]


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="nbtui",
        description="A full-screen console on a Jupyter kernel, shared with other clients.",
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument(
        "--existing",
        nargs="?",
        const="",
        default=None,
        metavar="FILE",
        help="attach to a running kernel: a connection file, a partial name (4342f6), "
        "nothing for the newest live kernel, or - to read the connection JSON (or what "
        "%%connect_info prints) from stdin",
    )
    mode.add_argument(
        "--list",
        action="store_true",
        help="list the kernels of the connection files in the runtime dir "
        "(and DIRs): alive, stale or stopped, busy or idle, pid, memory, cpu, age",
    )
    mode.add_argument(
        "--prune",
        action="store_true",
        help="remove the connection files of dead kernels, after asking",
    )
    mode.add_argument(
        "--pick",
        action="store_true",
        help="choose a running kernel from a live-updating list, then attach",
    )
    parser.add_argument("--json", action="store_true", help="with --list: print JSON")
    parser.add_argument(
        "-y", "--yes", action="store_true", help="with --prune: remove without asking"
    )
    parser.add_argument(
        "dirs",
        nargs="*",
        type=Path,
        metavar="DIR",
        help="with --list, --prune or --pick: more directories to search",
    )
    parser.add_argument(
        "--kernel",
        default=None,
        metavar="NAME",
        help="kernelspec to start when not attaching (default: python3); "
        "with --server, start it on the server",
    )
    parser.add_argument(
        "--keep-kernel",
        action="store_true",
        help="leave a kernel nbtui started running on quit (it outlives nbtui however it "
        "ends; re-attach with a bare --existing)",
    )
    parser.add_argument(
        "--scrollback",
        type=int,
        default=50_000,
        metavar="LINES",
        help="output lines kept in the transcript (default: 50000), "
        "and at most 320 characters a line on average",
    )
    parser.add_argument(
        "--username", default=None, help="name shown to other clients with your cells"
    )
    parser.add_argument(
        "--observe",
        action="store_true",
        help="read-only: show everything, never send a cell or an input",
    )
    parser.add_argument(
        "--hide-others",
        choices=("outputs", "all"),
        default=None,
        help="hide other clients' outputs, or their inputs and outputs (F4 cycles while running)",
    )
    parser.add_argument(
        "--usage-interval",
        type=float,
        default=5.0,
        metavar="SECONDS",
        help="how often to ask the kernel for its CPU and memory while a cell "
        "runs (default: 5; every 30 s while idle)",
    )
    parser.add_argument(
        "--memory-warn",
        type=float,
        default=0.8,
        metavar="SHARE",
        help="warn when the kernel holds this share of the memory it could have (default: 0.8)",
    )
    parser.add_argument(
        "--output-limit",
        type=int,
        default=2000,
        metavar="LINES",
        help="lines of one text result shown before its middle is held back "
        "(markdown: a quarter of that; F10 shows it whole; default: 2000)",
    )
    parser.add_argument(
        "--line-limit",
        type=int,
        default=10_000,
        metavar="CHARS",
        help="characters of one line of output shown before its middle is "
        "held back (F10 shows it whole; default: 10000)",
    )
    parser.add_argument(
        "--ssh",
        default=None,
        metavar="USER@HOST[:PORT]",
        help="with --existing: reach the kernel through SSH tunnels to this "
        "server (OpenSSH, key login; ssh config aliases work)",
    )
    parser.add_argument(
        "--sshkey", default=None, metavar="FILE", help="with --ssh: the private key to log in with"
    )
    parser.add_argument(
        "--server",
        default=None,
        metavar="URL",
        help="a Jupyter Server (http://host:8888, or the URL it printed, though a "
        "?token= in it shows in ps: better set JUPYTER_TOKEN): pick one of its "
        "kernels, or with --list list them",
    )
    parser.add_argument(
        "--token",
        default=None,
        help="with --server: its token (better: set JUPYTER_TOKEN, which "
        "other users cannot see in the process list)",
    )
    parser.add_argument(
        "--kernel-id",
        default=None,
        metavar="ID",
        help="with --server: attach to this kernel (a unique prefix will do)",
    )
    parser.add_argument("--version", action="version", version=f"nbtui {__version__}")
    args = parser.parse_args(argv)
    if args.output_limit < 10:
        parser.error("--output-limit must be at least 10")
    if args.line_limit < 100:
        parser.error("--line-limit must be at least 100")
    if args.usage_interval < 0.5:
        parser.error("--usage-interval must be at least 0.5 seconds")
    if not 0 < args.memory_warn <= 1:
        parser.error("--memory-warn is a share between 0 and 1, e.g. 0.8")
    if args.scrollback < 100:
        parser.error("--scrollback must be at least 100")
    if args.json and not args.list:
        parser.error("--json goes with --list")
    if args.yes and not args.prune:
        parser.error("--yes goes with --prune")
    if args.ssh is not None and args.existing is None:
        parser.error("--ssh goes with --existing FILE")
    if args.sshkey is not None and args.ssh is None:
        parser.error("--sshkey goes with --ssh")
    if args.server is not None and (args.existing is not None or args.pick or args.prune):
        parser.error("--server goes without --existing, --pick or --prune")
    if (args.token is not None or args.kernel_id is not None) and args.server is None:
        parser.error("--token and --kernel-id go with --server")
    if args.kernel_id is not None and args.kernel is not None:
        parser.error("--kernel-id attaches to a kernel, --kernel starts one: not both")
    if args.server is not None and args.dirs:
        parser.error("directories go with --list of connection files, not --server")
    if args.dirs and not (args.list or args.prune or args.pick):
        parser.error("directories go with --list, --prune or --pick")
    return args


def _search_dirs(args: argparse.Namespace) -> list[Path]:
    return [discovery.runtime_dir(), *args.dirs]


async def _list(args: argparse.Namespace) -> int:
    entries = await discovery.probe_all(discovery.connection_files(_search_dirs(args)))
    if args.json:
        print(entries_json(entries))
    elif not entries:
        print(f"no kernel connection files in {discovery.runtime_dir()}")
    else:
        print(format_table(entries))
    return 0


async def _prune(args: argparse.Namespace) -> int:
    if not args.yes and not discovery.stdin_is_tty():
        raise NbtuiError(
            "--prune asks before removing files and there is no terminal to ask "
            "on: add --yes to remove the stale files without asking"
        )
    entries = await discovery.probe_all(
        discovery.connection_files(_search_dirs(args)), details=False, usage=False
    )
    stale = [entry for entry in entries if entry.stale]
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


def _on_terminal() -> bool:
    return discovery.stdin_is_tty() and sys.stdout.isatty()


async def _pick(paths: list[Path] | None, dirs: list[Path]) -> Path | None:
    if not _on_terminal():
        raise NbtuiError(
            "the kernel picker needs a terminal: nbtui --list shows the kernels, "
            "nbtui --existing FILE attaches to one"
        )
    from nbtui.app.screens.picker import KernelPickerApp  # noqa: PLC0415

    picker = KernelPickerApp(dirs=dirs, only=paths)
    return await picker.run_async()


def _read_stdin() -> str:
    """All of standard input, which ctrl+c interrupts.

    asyncio.run's SIGINT handler only cancels the main task, which cannot happen while the
    loop blocks in this read: the first ctrl+c at the paste prompt was swallowed (a second
    one left without a word). Python's own handler raises KeyboardInterrupt in the read."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        return sys.stdin.read()
    finally:
        signal.signal(signal.SIGINT, previous)


async def _connection(args: argparse.Namespace) -> ConnectionInfo | None:
    """The kernel to attach to; None when the picker was closed without a choice."""
    if args.pick:
        picked = await _pick(None, _search_dirs(args))
        return None if picked is None else load_connection_file(picked)
    existing: str = args.existing
    if existing == "-":
        if discovery.stdin_is_tty():
            # Otherwise the terminal just sits there, blank, waiting for input.
            print(
                "nbtui: paste the connection JSON (or what %connect_info prints), then ctrl+d",
                file=sys.stderr,
            )
        return discovery.connection_from_text(_read_stdin(), "standard input")
    dirs = [Path("."), discovery.runtime_dir()]
    if not existing:
        path, skipped = await discovery.newest_alive(dirs)
        if skipped:
            names = ", ".join(display_name(skip) for skip in skipped)
            print(
                f"nbtui: skipped {len(skipped)} newer stale connection file(s) ({names}); "
                f"attaching to {display_name(path)}",
                file=sys.stderr,
            )
        return load_connection_file(path)
    matches = discovery.match_connection_files(existing, dirs)
    if len(matches) > 1:
        if not discovery.stdin_is_tty():
            names = ", ".join(display_name(match) for match in matches)
            raise NbtuiError(
                f"{existing!r} matches {len(matches)} connection files ({names}): "
                "give more of the name, or run on a terminal to pick one"
            )
        picked = await _pick(matches, dirs)
        return None if picked is None else load_connection_file(picked)
    if len(matches) == 1:
        return load_connection_file(matches[0])
    return load_connection_file(resolve_connection_file(existing))


def _need_terminal(what: str) -> None:
    """Refuse before doing anything that the full-screen app would then sit on forever."""
    if not _on_terminal():
        raise NbtuiError(
            f"{what} needs a terminal to run nbtui in (stdin and stdout are "
            "not one); nbtui --server URL --list works without"
        )


async def _server_kernel(
    args: argparse.Namespace,
) -> tuple[ServerKernel, OwnedKernel | None] | None:
    """The server kernel to attach to, asked for when --kernel says so; None when the
    picker was closed without a choice. Prints the server's kernels with --list."""
    from nbtui.app.kernel.server import (  # noqa: PLC0415 - tornado only when needed
        JupyterServer,
        ServerOwnKernel,
    )
    from nbtui.app.present import format_server_table  # noqa: PLC0415

    server = JupyterServer(args.server, args.token)
    if args.list:
        kernels = await server.kernels()
        if args.json:
            print(json.dumps([dataclasses.asdict(kernel) for kernel in kernels], indent=2))
        elif not kernels:
            print(f"no kernels on {server.base_url}")
        else:
            print(format_server_table(kernels))
        return None
    if args.kernel is not None:
        own = await ServerOwnKernel.start(
            server,
            args.kernel,
            lambda: _need_terminal(f"starting a {args.kernel} kernel on {server.base_url}"),
        )
        return own.kernel, own
    if args.kernel_id is not None:
        return server.locate(await server.find(args.kernel_id)), None
    kernels = await server.kernels()
    if not kernels:
        own = await ServerOwnKernel.start(
            server,
            "python3",
            lambda: _need_terminal(f"{server.base_url} has no kernels, and starting one"),
        )
        return own.kernel, own
    if len(kernels) == 1:
        return server.locate(kernels[0]), None
    if not _on_terminal():
        raise NbtuiError(
            f"{server.base_url} has {len(kernels)} kernels: choose one with "
            "--kernel-id (--list shows them), or start one with --kernel NAME"
        )
    from nbtui.app.screens.server_picker import ServerPickerApp, StartNew  # noqa: PLC0415

    picked = await ServerPickerApp(server).run_async()
    if picked is None:
        return None
    if isinstance(picked, StartNew):
        own = await ServerOwnKernel.start(server, picked.kernel_name)
        return own.kernel, own
    return server.locate(picked.kernel), None


async def _release(
    client: KernelClient,
    tunnel: SshTunnel | None,
    own: OwnedKernel | None,
    *,
    keep: bool,
) -> None:
    """Let go of everything nbtui holds; a kernel it started goes too unless kept."""
    await client.close()
    if tunnel is not None:
        tunnel.close()
    if own is not None and not keep:
        with contextlib.suppress(Exception):
            await own.shutdown()


async def _attach(client: KernelClient, own: OwnedKernel | None) -> None:
    """Attach; to a kernel nbtui has just started, giving it time to come up.

    ipykernel binds its ports a second or so after it starts, and much later on a loaded
    machine: attach's few seconds are for a kernel that is already running. One nbtui
    started is waited for while it may still be starting (`OwnedKernel.may_be_starting`:
    a local one while its process lives)."""
    deadline = time.monotonic() + OWN_KERNEL_START
    while True:
        try:
            await client.attach()
        except NbtuiError:
            if own is None or time.monotonic() > deadline or not await own.may_be_starting():
                raise
        else:
            return


OWN_KERNEL_START = 60.0
"""Seconds a kernel nbtui started may take to answer, while its process lives."""


async def _run(args: argparse.Namespace) -> int:
    found_server = None
    if args.server is not None:
        found_server = await _server_kernel(args)
        if found_server is None:
            return 0 if args.list else 1
    if args.list:
        return await _list(args)
    if args.prune:
        return await _prune(args)
    # Textual loads only once the arguments are good: bad input fails fast.
    from nbtui.app.nbtui_app import NbtuiApp, create_app  # noqa: PLC0415

    own: OwnedKernel | None = None
    tunnel: SshTunnel | None = None
    info: KernelTarget
    if found_server is not None:
        info, own = found_server
    elif args.existing is not None or args.pick:
        found = await _connection(args)
        if found is None:
            return 1
        info = found
        if args.ssh is not None:
            tunnel = await asyncio.to_thread(open_tunnel, found, args.ssh, args.sshkey)
            info = tunnel.info
    else:
        own = await OwnKernel.start(args.kernel or "python3", keep=args.keep_kernel)
        info = own.target
    client = KernelClient(info, username=args.username)
    app: NbtuiApp | None = None
    try:
        await _attach(client, own)
        if args.existing == "-" and not sys.stdin.isatty():
            # The JSON came down a pipe; the UI needs the terminal as its keyboard.
            with contextlib.suppress(OSError):
                tty = os.open("/dev/tty", os.O_RDONLY)
                os.dup2(tty, 0)
                os.close(tty)
        show_others = {None: (True, True), "outputs": (True, False), "all": (False, False)}
        app = create_app(
            client,
            own_kernel=own,
            scrollback=args.scrollback,
            observe=args.observe,
            show_others=show_others[args.hide_others],
            usage_interval=args.usage_interval,
            memory_threshold=args.memory_warn,
            output_limit=args.output_limit,
            line_limit=args.line_limit,
        )
        app.freeze_gc = True
        # A kill (SIGTERM) ends the app like ctrl+q, so that what nbtui owns (a kernel it
        # started, a tunnel) is cleaned up below. A closed terminal (SIGHUP) cannot be
        # restored, and Textual's shutdown can wait forever on writes to it: what nbtui
        # owns is cleaned up, then the process leaves at once.
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, app.exit, None, 128 + signal.SIGTERM)

        async def hung_up() -> None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(_release(client, tunnel, own, keep=args.keep_kernel), 10)
            os._exit(128 + signal.SIGHUP)

        leaving: list[asyncio.Task[None]] = []  # the loop keeps only a weak reference
        loop.add_signal_handler(signal.SIGHUP, lambda: leaving.append(loop.create_task(hung_up())))
        try:
            await app.run_async()
        finally:
            for signum in (signal.SIGTERM, signal.SIGHUP):
                loop.remove_signal_handler(signum)
    finally:
        # Whatever ended the run (a failed attach, a crash, a hung-up terminal), a kernel
        # nbtui started goes too, unless the user asked to keep one that worked.
        await _release(client, tunnel, own, keep=args.keep_kernel and app is not None)
    if app.error:
        raise NbtuiError(app.error)
    if own is not None and args.keep_kernel:
        print(f"nbtui: kernel left running; re-attach with: {info.join_command()}")
    return app.return_code or 0


def _return_freed_memory() -> None:
    """Have glibc give large freed blocks back to the system at once.

    glibc raises its mmap threshold each time a large block is freed, up to 32 MB; past
    that, a burst of big messages (megabyte lines, plots) is served from the heap, and
    the heap keeps the memory after the strings are gone: 100 flushed 1 MB lines left
    nbtui at 212 MiB with 16 MB of text kept, 88 MiB with the threshold held at 128 KiB
    (setting it also stops the raising)."""
    with contextlib.suppress(OSError, ValueError, AttributeError):
        # confstr and the soname rather than ctypes.util.find_library: that one spawns
        # processes, 8 ms of every start.
        if not os.confstr("CS_GNU_LIBC_VERSION"):
            return
        ctypes.CDLL("libc.so.6").mallopt(_M_MMAP_THRESHOLD, 128 * 1024)


_M_MMAP_THRESHOLD = -3
"""mallopt's parameter number, from glibc's malloc.h."""


_URL_TOKEN = re.compile(rb"([?&;]token=)([^&#;\x00]+)")
"""A token in a pasted server URL's query, as the raw bytes of an argument."""


def _masked_arguments(raw: bytes, token: str | None) -> bytes:
    """`raw` (NUL-separated arguments) with every token on it turned into asterisks, each
    argument its own length."""

    def stars(match: re.Match[bytes]) -> bytes:
        return match.group(1) + b"*" * len(match.group(2))

    secret = os.fsencode(token) if token else None
    masked = []
    value_next = False
    for argument in raw.split(b"\0"):
        shown = argument
        if value_next:
            shown = b"*" * len(argument)
        elif secret is not None and argument.startswith(b"--t") and argument.endswith(secret):
            # --token=T, or an abbreviation argparse takes (--tok=T)
            option = argument[: -len(secret)]
            if option.endswith(b"=") and b"--token".startswith(option[:-1]):
                shown = option + b"*" * len(secret)
        value_next = secret is not None and len(argument) >= 3 and b"--token".startswith(argument)
        masked.append(_URL_TOKEN.sub(stars, shown))
    return b"\0".join(masked)


def _hide_tokens_from_ps(token: str | None) -> bool:
    """Overwrite the tokens in this process's arguments, where `ps` and /proc/PID/cmdline
    read them (Linux). True when that worked.

    The kernel shows the bytes between the process's arg_start and arg_end, on its
    stack; writing them through /proc/self/mem changes what `ps` shows (as setproctitle
    and MySQL's client do), never their length. Python copied its arguments at start
    and never reads these bytes again."""
    try:
        stat = Path("/proc/self/stat").read_bytes()
        fields = stat[stat.rindex(b")") + 2 :].split()
        # Fields 48 and 49 of proc(5), counted from the state, which is field 3.
        start, end = int(fields[48 - 3]), int(fields[49 - 3])
        if not 0 < start < end:
            return False
        with open("/proc/self/mem", "r+b", buffering=0) as memory:
            memory.seek(start)
            raw = memory.read(end - start)
            masked = _masked_arguments(raw, token)
            if masked != raw and len(masked) == len(raw):
                memory.seek(start)
                memory.write(masked)
    except (OSError, ValueError, IndexError):
        return False
    return True


def _token_on_command_line(args: argparse.Namespace) -> None:
    """Hide a token given on the command line from other users, and say it was seen."""
    if args.server is None:
        return
    if args.token is None and not _URL_TOKEN.search(os.fsencode(args.server)):
        return
    # Hidden a moment after start: until then `ps` showed it.
    could = "could" if _hide_tokens_from_ps(args.token) else "can"
    print(
        f"nbtui: other users {could} see the command line's token in ps; set JUPYTER_TOKEN instead",
        file=sys.stderr,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `nbtui` and `jupyter nbtui`."""
    args = parse_args(argv)
    _token_on_command_line(args)
    _return_freed_memory()
    try:
        return asyncio.run(_run(args))
    except NbtuiError as error:
        print(f"nbtui: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
