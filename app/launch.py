"""Launching: find the kernel to attach to (a connection file, a server's kernel, or one
nbtui starts itself, waited for while it comes up), open SSH tunnels, run the app, and let
go of all of it however the run ends (ctrl+q, a kill, a closed terminal)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import signal
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nbtui.app.entry import collector_on
from nbtui.app.kernel import discovery
from nbtui.app.kernel.client import KernelClient
from nbtui.app.kernel.connection import (
    ConnectionInfo,
    load_connection_file,
    resolve_connection_file,
)
from nbtui.app.kernel.errors import NbtuiError
from nbtui.app.listing import on_terminal, pick, search_dirs
from nbtui.app.present import display_name

if TYPE_CHECKING:
    from nbtui.app.kernel.server import ServerKernel
    from nbtui.app.kernel.target import KernelTarget, OwnedKernel
    from nbtui.app.kernel.tunnel import SshTunnel

__all__ = ["OWN_KERNEL_START", "app_options", "connection", "run"]


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


def app_options(args: argparse.Namespace) -> dict[str, Any]:
    """`create_app`'s settings from the command line (over the config file's)."""
    show_others = {None: (True, True), "outputs": (True, False), "all": (False, False)}
    return {
        "scrollback": args.scrollback,
        "observe": args.observe,
        "show_others": show_others[args.hide_others],
        "usage_interval": args.usage_interval,
        "memory_threshold": args.memory_warn,
        "output_limit": args.output_limit,
        "line_limit": args.line_limit,
        "variables_interval": args.variables_interval,
        "notify_after": args.notify_after,
        "theme": getattr(args, "theme", None),
        "keymap": getattr(args, "keymap", None),
        "editing_mode": args.editing_mode,
    }


async def connection(args: argparse.Namespace) -> ConnectionInfo | None:
    """The kernel to attach to; None when the picker was closed without a choice."""
    if args.pick:
        collector_on()  # a picker may stay up for long: see entry.py
        picked = await pick(None, search_dirs(args))
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
        collector_on()
        picked = await pick(matches, dirs)
        return None if picked is None else load_connection_file(picked)
    if len(matches) == 1:
        return load_connection_file(matches[0])
    return load_connection_file(resolve_connection_file(existing))


def _remote_lookup(existing: str) -> bool:
    """With --ssh, whether --existing names a file on the server (a partial name, or none
    for the newest live one) rather than a connection file here or stdin."""
    return existing != "-" and not os.path.isfile(existing)


def _remote_connection(args: argparse.Namespace) -> ConnectionInfo:
    """The newest live kernel in the server's runtime dir (matching --existing NAME), read
    through ssh; blocks."""
    from nbtui.app.kernel.remote import choose, list_remote  # noqa: PLC0415

    listing = list_remote(args.ssh, args.sshkey, args.remote_runtime_dir)
    chosen, others = choose(listing, args.existing)
    if others:
        names = ", ".join(other.name for other in others)
        print(
            f"nbtui: {len(others) + 1} live kernels match on {args.ssh}; attaching to the "
            f"newest, {chosen.name} (also: {names})",
            file=sys.stderr,
        )
    assert chosen.info is not None  # choose() returns valid files only
    return chosen.info


def _say(line: str) -> None:
    print(f"nbtui: {line}", file=sys.stderr)


def _need_terminal(what: str) -> None:
    """Refuse before doing anything that the full-screen app would then sit on forever."""
    if not on_terminal():
        raise NbtuiError(
            f"{what} needs a terminal to run nbtui in (stdin and stdout are "
            "not one); nbtui --server URL --list works without"
        )


async def _server_kernel(
    args: argparse.Namespace,
) -> tuple[ServerKernel, OwnedKernel | None] | None:
    """The server kernel to attach to, asked for when --kernel says so; None when the
    picker was closed without a choice."""
    from nbtui.app.kernel.hub import open_server  # noqa: PLC0415 - tornado only when needed
    from nbtui.app.kernel.server import (  # noqa: PLC0415
        KernelsNotListed,
        ServerOwnKernel,
    )

    server = await open_server(
        args.server, args.token, user=args.user, start_server=args.start_server, say=_say
    )
    if args.kernel is not None:
        own = await ServerOwnKernel.start(
            server,
            args.kernel,
            lambda: _need_terminal(f"starting a {args.kernel} kernel on {server.base_url}"),
        )
        return own.kernel, own
    if args.kernel_id is not None:
        return server.locate(await server.find(args.kernel_id)), None
    empty = f"{server.base_url} has no kernels"
    try:
        kernels = await server.kernels()
    except KernelsNotListed:
        # A kernel gateway that keeps its kernels to itself: a new one is the only kind
        # nbtui can reach without an id.
        empty = f"{server.describe} does not list its kernels"
        kernels = []
    if not kernels:

        def check() -> None:
            _need_terminal(f"{empty}, and starting one")
            if server.kind == "gateway":
                _say(f"{empty}: starting a python3 kernel on it")

        own = await ServerOwnKernel.start(server, "python3", check)
        return own.kernel, own
    if len(kernels) == 1:
        return server.locate(kernels[0]), None
    if not on_terminal():
        raise NbtuiError(
            f"{server.base_url} has {len(kernels)} kernels: choose one with "
            "--kernel-id (--list shows them), or start one with --kernel NAME"
        )
    from nbtui.app.screens.server_picker import ServerPickerApp, StartNew  # noqa: PLC0415

    collector_on()
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


def _record_path(args: argparse.Namespace, info: KernelTarget) -> Path | None:
    """`--record`'s notebook, said on standard error (it shows again once nbtui ends)."""
    if args.record is None:
        return None
    if args.record:
        path = Path(args.record).expanduser().absolute()
    else:
        from nbtui.app.kernel.record import default_record_path  # noqa: PLC0415 - startup

        found = re.search(r"[0-9a-f]{8}", info.label)
        path = default_record_path(found.group(0) if found else "")
    print(f"nbtui: recording the session to {path}", file=sys.stderr)
    return path


def _open_tunnel(target: ConnectionInfo, args: argparse.Namespace) -> SshTunnel:
    """`--ssh`'s tunnel to `target`'s ports (blocking: run it in a thread)."""
    from nbtui.app.kernel.tunnel import open_tunnel  # noqa: PLC0415 - startup: pexpect only with --ssh

    return open_tunnel(target, args.ssh, args.sshkey)


OWN_KERNEL_START = 60.0
"""Seconds a kernel nbtui started may take to answer, while its process lives."""


async def run(args: argparse.Namespace) -> int:
    """Attach to the kernel the arguments name, or start one, and run the app on it; the
    exit status. Everything nbtui owns (a kernel it started, a tunnel) is let go after."""
    found_server = None
    if args.server is not None:
        found_server = await _server_kernel(args)
        if found_server is None:
            return 1
    # Textual loads only once the arguments are good: bad input fails fast.
    from nbtui.app.nbtui_app import NbtuiApp, create_app  # noqa: PLC0415

    own: OwnedKernel | None = None
    tunnel: SshTunnel | None = None
    info: KernelTarget
    if found_server is not None:
        info, own = found_server
    elif args.ssh is not None and _remote_lookup(args.existing):
        remote = await asyncio.to_thread(_remote_connection, args)
        tunnel = await asyncio.to_thread(_open_tunnel, remote, args)
        info = tunnel.info
    elif args.existing is not None or args.pick:
        found = await connection(args)
        if found is None:
            return 1
        info = found
        if args.ssh is not None:
            tunnel = await asyncio.to_thread(_open_tunnel, found, args)
            info = tunnel.info
    else:
        from nbtui.app.kernel.launcher import OwnKernel  # noqa: PLC0415 - startup: only when nbtui starts one

        own = await OwnKernel.start(args.kernel or "python3", keep=args.keep_kernel)
        info = own.target
    client = KernelClient(info, username=args.username)
    if tunnel is not None:
        from nbtui.app.kernel.transports.zeromq import ZmqTransport  # noqa: PLC0415
        from nbtui.app.kernel.tunnel import SshLink  # noqa: PLC0415 - startup: pexpect only with --ssh

        if isinstance(client.transport, ZmqTransport):
            # A tunnel that drops (ssh killed, the network gone) is made again.
            client.transport.link = SshLink(tunnel)
    app: NbtuiApp | None = None
    record: Path | None = None
    try:
        await _attach(client, own)
        if args.existing == "-" and not sys.stdin.isatty():
            # The JSON came down a pipe; the UI needs the terminal as its keyboard.
            with contextlib.suppress(OSError):
                tty = os.open("/dev/tty", os.O_RDONLY)
                os.dup2(tty, 0)
                os.close(tty)
        record = _record_path(args, info)
        app = create_app(client, own_kernel=own, record=record, **app_options(args))
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
    if record is not None:
        print(f"nbtui: the session is recorded in {record}", file=sys.stderr)
    if app.error:
        raise NbtuiError(app.error)
    if own is not None and args.keep_kernel:
        print(f"nbtui: kernel left running; re-attach with: {info.join_command()}")
    return app.return_code or 0
