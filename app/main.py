"""The command line: parse the arguments, then hand over to the listing or the launch."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from pathlib import Path

from nbtui.app import __version__
from nbtui.app.kernel.errors import NbtuiError
from nbtui.app.launch import run
from nbtui.app.listing import list_kernels, list_server_kernels, prune
from nbtui.app.process import return_freed_memory, token_on_command_line

__all__ = ["main", "parse_args"]


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The arguments of `nbtui`, checked; a bad combination exits with a usage message."""
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
        "--variables-interval",
        type=float,
        default=2.0,
        metavar="SECONDS",
        help="with the variables pane open (F3): how often to read the kernel's "
        "variables while a cell runs (default: 2; 0: only when a cell ends)",
    )
    parser.add_argument(
        "--notify-after",
        type=float,
        default=10.0,
        metavar="SECONDS",
        help="when a cell (anyone's) that ran this long ends, or the kernel dies or "
        "restarts, or memory runs short: a terminal notification and a toast "
        "(default: 10; 0: never)",
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
    parser.add_argument(
        "--record",
        nargs="?",
        const="",
        default=None,
        type=str,
        metavar="PATH.ipynb",
        help="keep a notebook of the session up to date as cells finish (written whole "
        "each time: a crash leaves the last complete version); without PATH, a "
        "timestamped file in nbtui-records/ of Jupyter's data dir",
    )
    parser.add_argument("--version", action="version", version=f"nbtui {__version__}")
    args = parser.parse_args(argv)
    if args.output_limit < 10:
        parser.error("--output-limit must be at least 10")
    if args.line_limit < 100:
        parser.error("--line-limit must be at least 100")
    if args.usage_interval < 0.5:
        parser.error("--usage-interval must be at least 0.5 seconds")
    if args.variables_interval != 0 and args.variables_interval < 0.2:
        parser.error("--variables-interval must be 0 (off) or at least 0.2 seconds")
    if args.notify_after < 0:
        parser.error("--notify-after must be 0 (off) or a number of seconds")
    if not 0 < args.memory_warn <= 1:
        parser.error("--memory-warn is a share between 0 and 1, e.g. 0.8")
    if args.scrollback < 100:
        parser.error("--scrollback must be at least 100")
    if args.record is not None and (args.list or args.prune):
        parser.error("--record goes with a console, not --list or --prune")
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


async def _dispatch(args: argparse.Namespace) -> int:
    if args.list:
        return await (list_server_kernels(args) if args.server is not None else list_kernels(args))
    if args.prune:
        return await prune(args)
    return await run(args)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `nbtui` and `jupyter nbtui`."""
    args = parse_args(argv)
    token_on_command_line(args)
    return_freed_memory()
    try:
        return asyncio.run(_dispatch(args))
    except NbtuiError as error:
        print(f"nbtui: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
