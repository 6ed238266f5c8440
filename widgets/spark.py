"""Unicode block sparklines for one-line figures in the panes."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

__all__ = ["BLOCKS", "LATENCY_FLOOR", "latency_sparkline", "sparkline", "unstretched"]

BLOCKS = "▁▂▃▄▅▆▇█"

LATENCY_FLOOR = 0.01
"""Seconds: a round trip under this is the lowest block of `latency_sparkline`."""

_TAIL = re.compile(f"([{BLOCKS}])\\1+(?![{BLOCKS}])")


def sparkline(
    values: Sequence[float], width: int, floor: float | None = None, ceiling: float | None = None
) -> str:
    """The last `width` values as block characters, lowest to highest.

    Args:
        values: Readings, oldest first.
        width: At most this many characters.
        floor: The value drawn as the lowest block; the smallest value by default.
        ceiling: The value drawn as a full block; the largest value by default (a value
            above a fixed ceiling is a full block too).

    Returns:
        One character per value; "" for no values or no room.
    """
    if width <= 0 or not values:
        return ""
    shown = list(values[-width:])
    low = min(shown) if floor is None else floor
    high = max(shown) if ceiling is None else ceiling
    span = high - low
    top = len(BLOCKS) - 1
    if span <= 0:
        return BLOCKS[0] * len(shown)
    return "".join(BLOCKS[max(0, min(top, round((value - low) / span * top)))] for value in shown)


def latency_sparkline(values: Sequence[float], width: int) -> str:
    """The last `width` round trips (seconds) on a fixed logarithmic scale: half a decade
    a block from 10 ms, so under 10 ms is the lowest block and 10 s or more the full one.

    A scale drawn from the shown values' own maximum turns an idle kernel's sub-millisecond
    jitter into a line of every height, redrawn whenever the slowest beat leaves the
    window; on a fixed scale an idle kernel is a flat line, and a slow beat stands out.
    The lowest block takes the beats of a loaded machine too (a few ms), which the
    round trip's coarse figure does not show either.
    """
    if width <= 0 or not values:
        return ""
    top = len(BLOCKS) - 1

    def block(value: float) -> str:
        steps = 2 * math.log10(value / LATENCY_FLOOR) + 1 if value >= LATENCY_FLOOR else 0.0
        return BLOCKS[max(0, min(top, math.floor(steps)))]

    return "".join(block(value) for value in values[-width:])


def unstretched(text: str) -> str:
    """`text` with each sparkline's trailing run of one block cut to a single block.

    Two rows equal under this differ only by sparklines that grew by more of their last
    level: `▁█▁` and `▁█▁▁▁` (a history still filling, a flat line), which a pane need not
    redraw. A line that shifted (`▁█▁▁` to `█▁▁▁`) or gained a new level still differs.
    """
    return _TAIL.sub(r"\1", text)
