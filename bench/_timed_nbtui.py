"""nbtui with a timing log: what bench/timeline.py runs in place of the `nbtui` script.

Wraps a few of nbtui's and Textual's methods to append "<event> <start> <end> <detail>"
lines to the file named by NBTUI_TIMELINE, on `time.perf_counter()` (CLOCK_MONOTONIC on
Linux, the same clock in every process, so the benchmark can line the events up with its
own). Textual's private names are used on purpose: this is a diagnostic, and a Textual
release that renames them makes it fail loudly, not measure the wrong thing.
"""

from __future__ import annotations

import gc
import os
import sys
import time
from collections.abc import Callable
from typing import Any

from textual.screen import Screen

from nbtui.app.kernel import client
from nbtui.app.main import main
from nbtui.app.screens import console

_log = open(os.environ["NBTUI_TIMELINE"], "a", buffering=1)  # noqa: SIM115 -- for the life of the process


def _write(event: str, start: float, end: float, detail: str = "") -> None:
    _log.write(f"{event} {start:.6f} {end:.6f} {detail}\n")


def _timed(cls: type, name: str, event: str) -> None:
    original: Callable[..., Any] = getattr(cls, name)

    def timed(self: Any, *args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return original(self, *args, **kwargs)
        finally:
            _write(event, start, time.perf_counter())

    setattr(cls, name, timed)


_timed(console.ConsoleScreen, "_apply_changes", "frame")  # the session's news into the view
_timed(Screen, "_compositor_refresh", "compose")  # Textual draws what changed
_timed(client.KernelClient, "execute", "execute")

_deliver = client.KernelClient._deliver


def _delivered(self: client.KernelClient, channel: str, raw: dict[str, Any]) -> None:
    if channel == "iopub" and raw.get("msg_type") == "stream":
        now = time.perf_counter()
        _write("received", now, now, f"{len(raw['content'].get('text', ''))}B")
    _deliver(self, channel, raw)


client.KernelClient._deliver = _delivered  # type: ignore[method-assign]

_gc_start = [0.0]


def _collected(phase: str, info: dict[str, Any]) -> None:
    if phase == "start":
        _gc_start[0] = time.perf_counter()
    elif info["generation"] == 2:
        _write("gc2", _gc_start[0], time.perf_counter())


gc.callbacks.append(_collected)

if __name__ == "__main__":
    sys.exit(main())
