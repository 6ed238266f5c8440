"""Textual's Linux driver without its input thread's ten wake-ups a second.

Textual's input thread calls `select()` with a 0.1 s timeout, so that it notices when the
app exits and can time out a lone Escape. Ten wake-ups a second are all the CPU an idle
Textual app spends: a bare app in tmux measured 0.04-0.05 CPU s per 30 s with them and 0.00
without, where `jupyter console` spends 0.02-0.04 (bench/README.md). This thread sleeps until
a key arrives, the parser's own deadline (a pending Escape) passes, or the app's exit writes
to a pipe.

It also hands an Alt chord over as Textual's own key presses make it (Pilot's, the tests'):
the parser gives `alt+s` its character, "s", so the focused editor or search field typed an
"s" and the app's binding (export to Markdown; the search's alt+c, alt+r) never ran.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import threading
import time
from codecs import getincrementaldecoder
from typing import Any

from textual import events
from textual._xterm_parser import XTermParser
from textual.drivers.linux_driver import LinuxDriver
from textual.message import Message

__all__ = ["QuietLinuxDriver", "as_pressed"]


def as_pressed(event: Message) -> Message:
    """`event`, or for an Alt chord the same key without its character: a key with a
    printable character is text to whatever has the focus, and Alt+S is not text."""
    if isinstance(event, events.Key) and "alt+" in event.key and event.character is not None:
        return events.Key(event.key, None)
    return event


class _WakingEvent(threading.Event):
    """An Event whose `set()` also makes a pipe readable, to wake a thread in select()."""

    def __init__(self, wake_fd: int) -> None:
        super().__init__()
        self._wake_fd = wake_fd

    def set(self) -> None:
        super().set()
        # A full pipe is already awake; a closed one belongs to a closed driver.
        with contextlib.suppress(OSError):
            os.write(self._wake_fd, b"x")


class QuietLinuxDriver(LinuxDriver):
    """`LinuxDriver` whose input thread blocks instead of polling every 100 ms."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._wake_read, self._wake_write = os.pipe()
        os.set_blocking(self._wake_read, False)
        os.set_blocking(self._wake_write, False)
        self.exit_event = _WakingEvent(self._wake_write)

    def close(self) -> None:
        """Close the driver, then the wake-up pipe's two ends."""
        super().close()
        for fd in (self._wake_read, self._wake_write):
            with contextlib.suppress(OSError):
                os.close(fd)

    def _drain_wake(self) -> None:
        try:
            while os.read(self._wake_read, 512):
                pass
        except OSError:
            pass  # BlockingIOError: nothing (more) to drain

    def run_input_thread(self) -> None:
        """As `LinuxDriver.run_input_thread`, with a timeout only while the parser waits."""
        # A wake byte left over from an earlier stop (suspend with Ctrl+Z) means nothing now.
        self._drain_wake()
        selector = selectors.SelectSelector()
        fileno = self.fileno
        selector.register(fileno, selectors.EVENT_READ)
        selector.register(self._wake_read, selectors.EVENT_READ)
        parser = XTermParser(self._debug)
        decode = getincrementaldecoder("utf-8")().decode

        def timeout() -> float | None:
            deadline: float | None = parser._timeout_time
            return None if deadline is None else max(0.0, deadline - time.monotonic())

        def process(ready: list[tuple[selectors.SelectorKey, int]], final: bool = False) -> None:
            for key, mask in ready:
                if key.fd != fileno or not mask & selectors.EVENT_READ:
                    continue
                text = decode(os.read(fileno, 1024 * 4), final=final)
                if not text:
                    break  # stdin is a pipe that closed
                for event in parser.feed(text):
                    self.process_message(as_pressed(event))
            for event in parser.tick():
                self.process_message(as_pressed(event))

        try:
            while not self.exit_event.is_set():
                process(selector.select(timeout()))
            selector.unregister(fileno)
            process(selector.select(0.1), final=True)
        finally:
            selector.close()
            self._drain_wake()
            try:
                for _ in parser.feed(""):
                    pass
            except Exception:  # noqa: BLE001 -- as Textual: EOF/parse errors at exit don't matter
                pass
