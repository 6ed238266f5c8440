"""The command line: parse arguments, attach or start a kernel, run the app."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from nbtui.app import __version__
from nbtui.app.kernel.client import KernelClient
from nbtui.app.kernel.connection import (
    ConnectionInfo,
    load_connection_file,
    parse_connection_text,
    resolve_connection_file,
)
from nbtui.app.kernel.errors import NbtuiError
from nbtui.app.kernel.launcher import OwnKernel

__all__ = ["main", "parse_args"]


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="nbtui",
        description="A full-screen console on a Jupyter kernel, shared with other clients.",
    )
    parser.add_argument(
        "--existing", nargs="?", const="", default=None, metavar="FILE",
        help="attach to a running kernel: a connection file, a partial name (4342f6), "
        "nothing for the newest kernel, or - to read the connection JSON from stdin",
    )
    parser.add_argument("--kernel", default="python3", metavar="NAME",
                        help="kernelspec to start when not attaching (default: python3)")
    parser.add_argument("--keep-kernel", action="store_true",
                        help="leave a kernel nbtui started running on quit")
    parser.add_argument("--scrollback", type=int, default=50_000, metavar="LINES",
                        help="output lines kept in the transcript (default: 50000)")
    parser.add_argument("--username", default=None,
                        help="name shown to other clients with your cells")
    parser.add_argument("--version", action="version", version=f"nbtui {__version__}")
    args = parser.parse_args(argv)
    if args.scrollback < 100:
        parser.error("--scrollback must be at least 100")
    return args


def _connection(existing: str) -> ConnectionInfo:
    if existing == "-":
        return parse_connection_text(sys.stdin.read(), "standard input")
    path = resolve_connection_file(existing or None)
    return load_connection_file(Path(path))


async def _run(args: argparse.Namespace) -> int:
    # Textual loads only once the arguments are good: bad input fails fast.
    from nbtui.app.nbtui_app import NbtuiApp  # noqa: PLC0415

    own: OwnKernel | None = None
    if args.existing is not None:
        info = _connection(args.existing)
    else:
        own = await OwnKernel.start(args.kernel)
        info = load_connection_file(own.connection_file)
    client = KernelClient(info, username=args.username)
    try:
        try:
            await client.attach()
        except NbtuiError:
            if own is not None:
                await own.shutdown()
            raise
        if args.existing == "-" and not sys.stdin.isatty():
            # The JSON came down a pipe; the UI needs the terminal as its keyboard.
            with contextlib.suppress(OSError):
                tty = os.open("/dev/tty", os.O_RDONLY)
                os.dup2(tty, 0)
                os.close(tty)
        app = NbtuiApp(client, own_kernel=own, scrollback=args.scrollback)
        await app.run_async()
    finally:
        await client.close()
    if app.error:
        raise NbtuiError(app.error)
    if own is not None:
        if args.keep_kernel:
            print(f"nbtui: kernel left running; re-attach with: {info.join_command()}")
        else:
            await own.shutdown()
    return app.return_code or 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `nbtui` and `jupyter nbtui`."""
    args = parse_args(argv)
    try:
        return asyncio.run(_run(args))
    except NbtuiError as error:
        print(f"nbtui: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
