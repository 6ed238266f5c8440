"""Things to do later, on a clock the caller gives: the UI runs what is due when it
wakes, and a test moves a fake clock instead of waiting."""

from __future__ import annotations

import time
from collections.abc import Callable

__all__ = ["Deadlines"]


class Deadlines:
    """Callbacks due at times on `clock`.

    Args:
        clock: `time.monotonic` or a test's fake clock.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._due: list[tuple[float, Callable[[], None]]] = []

    def after(self, delay: float, then: Callable[[], None]) -> None:
        """Call `then` from `run_due()` once `delay` seconds have passed."""
        self._due.append((self.clock() + delay, then))
        self._due.sort(key=lambda deadline: deadline[0])

    def next_due(self) -> float | None:
        """When `run_due()` next has something to do (`clock` time), if ever."""
        return self._due[0][0] if self._due else None

    def run_due(self) -> None:
        """Run what is due."""
        now = self.clock()
        while self._due and self._due[0][0] <= now:
            _, then = self._due.pop(0)
            then()
