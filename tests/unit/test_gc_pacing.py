"""The collector's full passes are held back while frames come, and run once the screen is
still or a burst has gone on too long (issue 19's stalls)."""

from __future__ import annotations

import gc
import os
import threading
from collections.abc import Callable, Iterator

import pytest

from nbtui.app.gc_pacing import FullCollections
from nbtui.app.process import BACKGROUND_NICENESS, background_thread


class Clock:
    """A clock the test moves, and the timers set on it."""

    def __init__(self) -> None:
        self.now = 100.0
        self.timers: list[tuple[float, Callable[[], object]]] = []

    def __call__(self) -> float:
        return self.now

    def later(self, delay: float, callback: Callable[[], object]) -> None:
        self.timers.append((self.now + delay, callback))

    def advance(self, seconds: float) -> None:
        """Move on, running the timers that fall due, in order."""
        end = self.now + seconds
        while True:
            due = sorted((at, index) for index, (at, _) in enumerate(self.timers) if at <= end)
            if not due:
                break
            at, index = due[0]
            _, callback = self.timers.pop(index)
            self.now = max(self.now, at)
            callback()
        self.now = end


@pytest.fixture
def thresholds() -> Iterator[tuple[int, int, int]]:
    """Thresholds for the test, the first one high enough that the collector runs only
    when the test says; the process's are put back after it whatever it did."""
    saved = gc.get_threshold()
    gc.set_threshold(1_000_000, saved[1], saved[2])
    try:
        yield gc.get_threshold()
    finally:
        gc.set_threshold(*saved)


def middle_passes(count: int) -> None:
    """Run `count` collections of the young generations (each counts towards a full one)."""
    for _ in range(count):
        gc.collect(1)


def test_frames_hold_full_passes_until_the_screen_is_still(
    thresholds: tuple[int, int, int],
) -> None:
    clock = Clock()
    gc.collect()
    pacer = FullCollections(quiet=0.5, longest=30.0, clock=clock)
    pacer.frame(clock.later)
    assert pacer.held
    assert gc.get_threshold() == (thresholds[0], thresholds[1], FullCollections.HELD)
    for _ in range(20):  # a burst: a frame every 33 ms
        clock.advance(0.033)
        pacer.frame(clock.later)
    assert pacer.held
    middle_passes(thresholds[2])  # a full pass comes due, and waits
    assert pacer.passes == 0
    clock.advance(0.4)  # not yet still for half a second
    assert pacer.held
    clock.advance(0.2)
    assert not pacer.held
    assert pacer.passes == 1
    assert gc.get_threshold() == thresholds


def test_an_idle_screens_frames_make_no_full_pass_that_was_not_due(
    thresholds: tuple[int, int, int],
) -> None:
    clock = Clock()
    gc.collect()
    pacer = FullCollections(quiet=0.5, longest=30.0, clock=clock)
    for _ in range(5):  # a clock's frame now and then
        pacer.frame(clock.later)
        clock.advance(10.0)
        assert not pacer.held
    assert pacer.passes == 0
    assert gc.get_threshold() == thresholds


def test_a_burst_that_never_stops_still_gets_a_full_pass_now_and_then(
    thresholds: tuple[int, int, int],
) -> None:
    clock = Clock()
    pacer = FullCollections(quiet=0.5, longest=2.0, clock=clock)
    for frame in range(200):  # 6.6 s of frames, garbage enough for a full pass each second
        pacer.frame(clock.later)
        if frame % 30 == 0:
            middle_passes(thresholds[2])
        clock.advance(0.033)
    assert pacer.held
    assert pacer.passes == 3  # one each 2 s, each in a timer of its own
    middle_passes(thresholds[2])
    clock.advance(1.0)  # still: the pass due since the last one
    assert pacer.passes == 4
    assert gc.get_threshold() == thresholds


def test_background_threads_run_at_a_lower_priority() -> None:
    seen: list[int] = []

    def work() -> None:
        before = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
        background_thread()
        seen.append(os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) - before)

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    assert seen == [BACKGROUND_NICENESS]
    # This thread's own priority is untouched.
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == os.getpriority(
        os.PRIO_PROCESS, 0
    )
