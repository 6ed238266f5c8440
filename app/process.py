"""What nbtui does to its own process at start: give freed memory back to the system, keep
startup's objects out of the collector's way and the UI thread first for the GIL, and hide a
server token given on the command line from `ps`."""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import gc
import os
import re
import sys
import threading
from pathlib import Path

from nbtui.app import gc_pacing

__all__ = [
    "background_thread",
    "hide_tokens_from_ps",
    "masked_arguments",
    "return_freed_memory",
    "settle_after_startup",
    "token_on_command_line",
]

SWITCH_INTERVAL = 0.001
"""How long (s) another thread may hold the GIL once the UI thread wants it (Python's
default is 5 ms). The UI thread lets the GIL go at each wait and each large hash, and
while the layout thread decoded pictures each let-go cost it up to 5 ms to get back:
tens of ms a frame in a burst of plots."""


def return_freed_memory() -> None:
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


BACKGROUND_NICENESS = 10
"""How much lower than the UI thread a thread doing background work runs (`nice`)."""


def background_thread() -> None:
    """Lower the calling thread's priority (Linux: niceness is per thread): on two cores
    shared with a kernel printing flat out, the layout thread decoding a burst of plots
    took the UI thread's core, which then waited up to 50 ms for one with work to do."""
    with contextlib.suppress(OSError, AttributeError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), BACKGROUND_NICENESS)


def settle_after_startup() -> None:
    """For the one app of a process, once it is attached: collect once and keep what
    startup made out of the collector's full passes (one in a flood walked it all, a frame
    late by ~25 ms), turn the collector on again after app/entry.py's off, keep its full
    passes out of bursts of output (`gc_pacing`), and hand the GIL back to the UI thread
    sooner (`SWITCH_INTERVAL`)."""
    gc.collect()
    gc.freeze()
    gc.enable()
    gc_pacing.pacer = gc_pacing.FullCollections()
    sys.setswitchinterval(SWITCH_INTERVAL)


_M_MMAP_THRESHOLD = -3
"""mallopt's parameter number, from glibc's malloc.h."""


_URL_TOKEN = re.compile(rb"([?&;]token=)([^&#;\x00]+)")
"""A token in a pasted server URL's query, as the raw bytes of an argument."""


def masked_arguments(raw: bytes, token: str | None) -> bytes:
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


def hide_tokens_from_ps(token: str | None) -> bool:
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
            masked = masked_arguments(raw, token)
            if masked != raw and len(masked) == len(raw):
                memory.seek(start)
                memory.write(masked)
    except (OSError, ValueError, IndexError):
        return False
    return True


def token_on_command_line(args: argparse.Namespace) -> None:
    """Hide a token given on the command line from other users, and say it was seen."""
    if args.server is None:
        return
    if args.token is None and not _URL_TOKEN.search(os.fsencode(args.server)):
        return
    # Hidden a moment after start: until then `ps` showed it.
    could = "could" if hide_tokens_from_ps(args.token) else "can"
    print(
        f"nbtui: other users {could} see the command line's token in ps; set JUPYTER_TOKEN instead",
        file=sys.stderr,
    )
