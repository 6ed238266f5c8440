"""The command line: parse the arguments, then hand over to the listing or the launch."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from pathlib import Path

from nbtui.app import __version__
from nbtui.app.config import (
    Config,
    ConfigError,
    default_settings,
    effective_settings,
    format_settings,
    load_config,
    options_given,
)
from nbtui.app.config_checks import Checked, at_least, not_empty, settings_of, share
from nbtui.app.kernel.errors import NbtuiError
from nbtui.app.launch import run
from nbtui.app.listing import list_kernels, list_remote_kernels, list_server_kernels, prune
from nbtui.app.process import return_freed_memory, token_on_command_line
from nbtui.widgets.editing_modes import EDITING_MODES
from nbtui.widgets.graphics import (
    MODES,
    configure,
    graphics,
    no_cell_size,
    probe,
    probe_cell,
)

__all__ = ["build_parser", "load_settings", "main", "parse_args"]


def _off_or_at_least_fifth(value: float) -> str | None:
    # Faster readings than 5 a second would compete with the cell they watch.
    return None if value == 0 or value >= 0.2 else "must be 0 (off) or at least 0.2 seconds"


def build_parser() -> argparse.ArgumentParser:
    """The parser of `nbtui`'s arguments; its long options are the config file's keys
    (`nbtui.app.config_checks.settings_of`), bounds included."""
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
        type=not_empty,
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
        type=at_least(int, 100),
        default=50_000,
        metavar="LINES",
        help="output lines kept in the transcript (default: 50000), "
        "and at most 320 characters a line on average",
    )
    parser.add_argument(
        "--username",
        default=None,
        type=not_empty,
        help="name shown to other clients with your cells",
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
        type=at_least(float, 0.5, " seconds"),
        default=5.0,
        metavar="SECONDS",
        help="how often to ask the kernel for its CPU and memory while a cell "
        "runs (default: 5; every 30 s while idle)",
    )
    parser.add_argument(
        "--memory-warn",
        type=share,
        default=0.8,
        metavar="SHARE",
        help="warn when the kernel holds this share of the memory it could have (default: 0.8)",
    )
    parser.add_argument(
        "--variables-interval",
        type=Checked(float, _off_or_at_least_fifth),
        default=2.0,
        metavar="SECONDS",
        help="with the variables pane open (F3): how often to read the kernel's "
        "variables while a cell runs (default: 2; 0: only when a cell ends)",
    )
    parser.add_argument(
        "--notify-after",
        type=at_least(float, 0, " seconds"),
        default=10.0,
        metavar="SECONDS",
        help="when a cell (anyone's) that ran this long ends, or the kernel dies or "
        "restarts, or memory runs short: a terminal notification and a toast "
        "(default: 10; 0: never)",
    )
    parser.add_argument(
        "--output-limit",
        type=at_least(int, 10),
        default=2000,
        metavar="LINES",
        help="lines of one text result shown before its middle is held back "
        "(markdown: a quarter of that; F10 shows it whole; default: 2000)",
    )
    parser.add_argument(
        "--line-limit",
        type=at_least(int, 100),
        default=10_000,
        metavar="CHARS",
        help="characters of one line of output shown before its middle is "
        "held back (F10 shows it whole; default: 10000)",
    )
    parser.add_argument(
        "--editing-mode",
        choices=EDITING_MODES,
        default="default",
        help="the editor's keys: vi (Escape for normal mode) or emacs (readline's), as "
        "in IPython; default: ctrl+a/ctrl+e, ctrl+k, ctrl+z undo",
    )
    parser.add_argument(
        "--ssh",
        default=None,
        metavar="USER@HOST[:PORT]",
        help="with --existing: reach the kernel through SSH tunnels to this "
        "server (OpenSSH, key login; ssh config aliases work); a NAME that is not a "
        "file here, or none, is looked up in the runtime dir there; with --list, list "
        "the kernels there",
    )
    parser.add_argument(
        "--remote-runtime-dir",
        default=None,
        metavar="DIR",
        help="with --ssh: the Jupyter runtime dir on the server (default: as Jupyter "
        "finds it there: $JUPYTER_RUNTIME_DIR, jupyter --runtime-dir, the default path)",
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
        "--images",
        choices=MODES,
        default="auto",
        help="how pictures are drawn: kitty graphics (kitty, ghostty; in tmux with "
        "allow-passthrough on), sixel (foot, WezTerm, iTerm2, mlterm, Konsole, Windows "
        "Terminal, xterm with sixel; tmux 3.4 built with sixel), half blocks (any truecolor "
        "terminal), or off (their text instead); auto picks from TERM, TERM_PROGRAM and "
        "the terminal's device attributes (default: auto)",
    )
    parser.add_argument(
        "--user",
        default=None,
        metavar="NAME",
        help="with --server on JupyterHub: whose server (default: the URL's /user/NAME/, "
        "else the token's owner); the token is a hub API token (JUPYTERHUB_API_TOKEN)",
    )
    parser.add_argument(
        "--start-server",
        action="store_true",
        help="with --server on JupyterHub: ask the hub to start the user's server when it "
        "is not running, and wait for it",
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
    parser.add_argument(
        "--config",
        type=Path,
        default=None,
        metavar="FILE",
        help="read settings from FILE instead of $XDG_CONFIG_HOME/nbtui/config.toml "
        "(~/.config/nbtui/config.toml)",
    )
    parser.add_argument(
        "--print-config",
        action="store_true",
        help="print every setting in effect and where it came from (default, the config "
        "file, the command line), then exit",
    )
    parser.add_argument("--version", action="version", version=f"nbtui {__version__}")
    return parser


def parse_args(
    argv: Sequence[str] | None = None, config: Config | None = None
) -> argparse.Namespace:
    """The arguments of `nbtui`, checked, over the settings of `config` (the command line
    wins); a bad combination exits with a usage message."""
    parser = build_parser()
    if config is not None:
        parser.set_defaults(**config.options)
    args = parser.parse_args(argv)
    if args.record is not None and (args.list or args.prune):
        parser.error("--record goes with a console, not --list or --prune")
    if args.json and not args.list:
        parser.error("--json goes with --list")
    if args.yes and not args.prune:
        parser.error("--yes goes with --prune")
    if args.ssh is not None and args.existing is None and not args.list:
        parser.error("--ssh goes with --existing [NAME] or --list")
    if args.ssh is not None and args.dirs:
        parser.error("directories go with --list of this machine's files, not --ssh")
    if args.remote_runtime_dir is not None and args.ssh is None:
        parser.error("--remote-runtime-dir goes with --ssh")
    if args.sshkey is not None and args.ssh is None:
        parser.error("--sshkey goes with --ssh")
    if args.server is not None and (args.existing is not None or args.pick or args.prune):
        parser.error("--server goes without --existing, --pick or --prune")
    if (args.token is not None or args.kernel_id is not None) and args.server is None:
        parser.error("--token and --kernel-id go with --server")
    if (args.user is not None or args.start_server) and args.server is None:
        parser.error("--user and --start-server go with --server")
    if args.kernel_id is not None and args.kernel is not None:
        given = options_given(parser, sys.argv[1:] if argv is None else argv)
        if config is not None and "kernel" not in given:
            args.kernel = None  # the file's kernelspec is for starting one; this attaches
        else:
            parser.error("--kernel-id attaches to a kernel, --kernel starts one: not both")
    if args.server is not None and args.dirs:
        parser.error("directories go with --list of connection files, not --server")
    if args.dirs and not (args.list or args.prune or args.pick):
        parser.error("directories go with --list, --prune or --pick")
    return args


async def _dispatch(args: argparse.Namespace) -> int:
    if args.list and args.ssh is not None:
        return await list_remote_kernels(args)
    if args.list:
        return await (list_server_kernels(args) if args.server is not None else list_kernels(args))
    if args.prune:
        return await prune(args)
    return await run(args)


def _config_file(argv: Sequence[str]) -> Path | None:
    """The `--config FILE` of `argv`, read before the rest: its settings are the defaults
    of the other options."""
    early = argparse.ArgumentParser(add_help=False)
    early.add_argument("--config", type=Path, default=None)
    known, _ = early.parse_known_args(argv)
    path: Path | None = known.config
    return path


def _print_config(argv: Sequence[str], config: Config) -> None:
    """`--print-config`: every setting in effect and its source."""
    from nbtui.app.bindings import DEFAULT_THEME, keyed_bindings  # noqa: PLC0415

    parser = build_parser()
    defaults = default_settings(parser, keyed_bindings(), DEFAULT_THEME)
    parser.set_defaults(**config.options)
    args = parser.parse_args(argv)
    settings = effective_settings(
        args, config, defaults, settings_of(parser), given=options_given(parser, argv)
    )
    print(f"# config file: {config.path}{'' if config.path.exists() else ' (none)'}")
    print(format_settings(settings))
    if args.images == "auto":
        configure("auto", attributes=probe())
        print(f"# images: {graphics.mode} ({graphics.why})")


def load_settings(argv: Sequence[str]) -> tuple[Config, argparse.Namespace]:
    """The config file (`--config` or the default one) and the arguments over it.

    Raises:
        ConfigError: the file is wrong; nothing has been started.
    """
    config = load_config(_config_file(argv), settings_of(build_parser()))
    if config.keys:
        # Only then: the bindings are the app's, and the app is slow to import.
        from nbtui.app.bindings import keyed_bindings  # noqa: PLC0415

        config.check_actions({b.id for b in keyed_bindings() if b.id is not None})
    args = parse_args(argv, config)
    args.theme = config.theme
    args.keymap = config.keymap()
    return config, args


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `nbtui` and `jupyter nbtui`."""
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        config, args = load_settings(argv)
    except ConfigError as error:
        print(f"nbtui: {error}", file=sys.stderr)
        return 2
    if args.print_config:
        _print_config(argv, config)
        return 0
    token_on_command_line(args)
    return_freed_memory()
    configure(args.images, attributes=probe() if args.images == "auto" else None)
    if graphics.mode == "sixel" and not probe_cell():
        no_cell_size()
    try:
        return asyncio.run(_dispatch(args))
    except NbtuiError as error:
        print(f"nbtui: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
