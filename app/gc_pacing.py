"""The cyclic collector's full passes kept out of bursts of output.

Textual's strips cache pieces of themselves, which makes cycles: every row dropped from a
cache is garbage only the cyclic collector frees, and a flood of output makes a great
deal of it. The young generations' passes are short (0.3-3 ms of CPU here); a full pass
took 13-17 ms in a flood of megabyte lines, 47 ms the first time after startup, on top of
the frame it fell in. While frames come one after another, full passes are held back
(`gc.set_threshold`'s third value); once the screen has been still for `quiet` seconds,
the thresholds are as they were, and the full pass that was held back, if one came due,
runs then. A burst longer than `longest` seconds gets its due full pass in a loop step of
its own, so garbage stays bounded under output that never stops. An idle screen's
occasional frame (a clock, a figure) makes no full pass that would not have come anyway.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable

__all__ = ["FullCollections", "pacer"]

Later = Callable[[float, Callable[[], object]], object]
"""Runs a callback after a delay in seconds, on the event loop (a Textual `set_timer`)."""


class FullCollections:
    """Holds full collections back while frames are drawn (`frame`), and runs one when
    the screen is still (`quiet` s after the last frame) or a burst has lasted `longest` s.

    For the one app of a process (the `nbtui` command): the thresholds are the process's.
    """

    HELD = 1_000_000
    """The third threshold while held: full passes wait for this many middle ones."""

    def __init__(
        self,
        quiet: float = 0.5,
        longest: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.quiet = quiet
        self.longest = longest
        self._clock = clock
        self._normal = gc.get_threshold()
        self._held_since: float | None = None
        self._last_frame = 0.0
        self._armed = False
        self.passes = 0
        """Full passes run by this pacer (tests and benchmarks read it)."""

    @property
    def held(self) -> bool:
        """Whether full passes are being held back now."""
        return self._held_since is not None

    def frame(self, later: Later) -> None:
        """A frame is being drawn: hold full passes back, and check for stillness later."""
        now = self._clock()
        self._last_frame = now
        if self._held_since is None:
            self._normal = gc.get_threshold()
            gc.set_threshold(self._normal[0], self._normal[1], self.HELD)
            self._held_since = now
        elif now - self._held_since > self.longest:
            self._held_since = now
            if self._due():
                later(0.001, self._collect)  # a loop step of its own, not this frame's
        if not self._armed:
            self._armed = True
            later(self.quiet, lambda: self._check(later))

    def _check(self, later: Later) -> None:
        still = self._clock() - self._last_frame
        if still < self.quiet:
            later(self.quiet - still, lambda: self._check(later))
            return
        self._armed = False
        self.release()

    def release(self) -> None:
        """The screen is still: the usual thresholds again, and the full pass now if one
        came due while held."""
        if self._held_since is None:
            return
        self._held_since = None
        gc.set_threshold(*self._normal)
        if self._due():
            self._collect()

    def _due(self) -> bool:
        # Middle passes since the last full one, against the usual third threshold: what
        # would have made the collector consider a full pass (its other test, the share
        # of new long-lived objects, is its own to make).
        return gc.get_count()[2] >= self._normal[2]

    def _collect(self) -> None:
        gc.collect()
        self.passes += 1


pacer: FullCollections | None = None
"""The process's pacer, set once its one app is attached (`settle_after_startup`); None in
a process that runs many apps (tests), whose collector is left alone."""
