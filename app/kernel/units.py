"""Sizes in binary units, the one way nbtui writes any size.

In the kernel layer, because a death notice in the transcript (worded in the
kernel layer) and every pane (worded in `nbtui.app.present`, which re-exports it) must
say the same size the same way.
"""

from __future__ import annotations

__all__ = ["format_bytes"]


def format_bytes(count: float | None) -> str:
    """A size in binary units, the one way nbtui writes any size.

    Whole numbers up to MiB: a kernel's memory is read again every few seconds, and a
    figure whose decimals change at every reading redraws at every reading.

    Args:
        count: Bytes, or None when unknown.

    Returns:
        For example `512 B`, `12 KiB`, `512 MiB`, `1.2 GiB`; `-` when unknown.
    """
    if count is None:
        return "-"
    value = float(count)
    for unit in ("B", "KiB", "MiB", "GiB"):
        shown = f"{value:.1f}" if unit == "GiB" else f"{value:.0f}"
        if abs(float(shown)) < 1024:  # 1023.7 KiB is "1 MiB", not "1024 KiB"
            return f"{shown} {unit}"
        value /= 1024
    return f"{value:.1f} TiB"
