"""Finding running kernels: the connection files in the usual dirs, and the newest live one.

Connection files are found here; they are probed in :mod:`nbtui.app.kernel.probing`
(which explains what a probe sends), recorded as :class:`KernelEntry` in
:mod:`nbtui.app.kernel.kernel_entry`, and stale ones removed by
:mod:`nbtui.app.kernel.prune`. Those names are re-exported here, as is
`connection_from_text` (reading `--existing -`) from :mod:`nbtui.app.kernel.connection`,
so the CLI and the picker reach discovery through one module.

Nothing here imports Textual: the CLI and the picker screen both build on it.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterable, Sequence
from fnmatch import fnmatch
from pathlib import Path

from jupyter_core.paths import jupyter_runtime_dir

from nbtui.app.kernel.connection import connection_from_text
from nbtui.app.kernel.errors import NbtuiError
from nbtui.app.kernel.kernel_entry import KernelEntry, file_mtime
from nbtui.app.kernel.probing import (
    HB_TIMEOUT,
    REMOTE_HB_TIMEOUT,
    REPLY_TIMEOUT,
    listening_pids,
    probe_all,
    probe_file,
)
from nbtui.app.kernel.prune import PruneResult, prune

__all__ = [
    "HB_TIMEOUT",
    "PATTERN",
    "REMOTE_HB_TIMEOUT",
    "REPLY_TIMEOUT",
    "KernelEntry",
    "PruneResult",
    "connection_files",
    "connection_from_text",
    "listening_pids",
    "match_connection_files",
    "newest_alive",
    "probe_all",
    "probe_file",
    "prune",
    "runtime_dir",
    "stdin_is_tty",
]

PATTERN = "kernel-*.json"
"""The names kernels give their connection files."""


def runtime_dir() -> Path:
    """The Jupyter runtime dir, where kernels write their connection files."""
    return Path(jupyter_runtime_dir())


# -- finding files ---------------------------------------------------------------------------


def connection_files(dirs: Iterable[Path]) -> list[Path]:
    """Every `kernel-*.json` in `dirs`, newest first, each once."""
    seen: dict[Path, None] = {}
    for folder in dirs:
        with contextlib.suppress(OSError):
            for path in folder.glob(PATTERN):
                if path.is_file():
                    seen.setdefault(path.resolve(), None)
    return sorted(seen, key=file_mtime, reverse=True)


def match_connection_files(name: str, dirs: Iterable[Path]) -> list[Path]:
    """The `kernel-*.json` files in `dirs` whose names contain `name` (or match it as a glob).

    Args:
        name: A partial name such as "4342f6", a full file name, or a glob.
        dirs: Where to look, usually the current dir and the runtime dir.

    Returns:
        The matches, newest first; one when `name` is an existing file.
    """
    if os.path.isfile(name):
        return [Path(name).resolve()]
    pattern = name if any(char in name for char in "*?[") else f"*{name}*"
    return [path for path in connection_files(dirs) if fnmatch(path.name, pattern)]


# -- choosing -------------------------------------------------------------------------------


async def newest_alive(dirs: Sequence[Path]) -> tuple[Path, list[Path]]:
    """The newest connection file whose kernel answers its heartbeat.

    Args:
        dirs: Where to look, usually the current dir and the runtime dir.

    Returns:
        The chosen file, and the newer files skipped because their kernels are dead.

    Raises:
        NbtuiError: No connection files, or none with a live kernel.
    """
    paths = connection_files(dirs)
    if not paths:
        raise NbtuiError(
            f"no kernel connection files in {runtime_dir()}: start a kernel, "
            "or run nbtui without --existing to start one"
        )
    entries = await probe_all(paths, details=False, usage=False)
    skipped: list[Path] = []
    for entry in entries:  # newest first, so the first alive is the newest live kernel
        if entry.alive:
            return entry.path, skipped
        skipped.append(entry.path)
    stopped = sum(1 for entry in entries if entry.state in ("stopped", "no answer"))
    what = "stale or invalid" if not stopped else f"stale, invalid or not answering ({stopped})"
    raise NbtuiError(
        f"no live kernel: the {len(paths)} connection file(s) in {_dirs_text(dirs)} "
        f"are {what} (nbtui --list shows them, nbtui --prune removes stale ones)"
    )


def _dirs_text(dirs: Sequence[Path]) -> str:
    return " and ".join(str(folder) for folder in dirs)


# -- the terminal ----------------------------------------------------------------------------


def stdin_is_tty() -> bool:
    """Whether standard input is a terminal (False when it is closed, a pipe or a file)."""
    return sys.stdin is not None and sys.stdin.isatty()
