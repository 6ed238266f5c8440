"""Unicode block sparklines for one-line figures in the panes."""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["BLOCKS", "sparkline"]

BLOCKS = "▁▂▃▄▅▆▇█"


def sparkline(
    values: Sequence[float], width: int, floor: float | None = None, ceiling: float | None = None
) -> str:
    """The last `width` values as block characters, lowest to highest.

    Args:
        values: Readings, oldest first.
        width: At most this many characters.
        floor: The value drawn as the lowest block; the smallest value by default.
        ceiling: The value drawn as a full block; the largest value by default.

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
