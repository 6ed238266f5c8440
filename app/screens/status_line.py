"""What the status line says about the session, in words and figures."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from nbtui.app.kernel.queue import waiting_cells
from nbtui.app.present import format_bytes, format_duration, format_elapsed, format_latency

if TYPE_CHECKING:
    from nbtui.app.kernel.model import Transcript
    from nbtui.app.kernel.session import KernelSession

__all__ = ["HeartbeatFigure", "busy_text", "summary"]


def busy_text(model: Transcript, now: float, silent_hint: float) -> str | None:
    """`4.2 s · trainer In [17]` for the oldest running cell, or None when idle; another
    client's cell silent for `silent_hint` seconds may be waiting for its input; `· 2
    queued` when cells of ours wait behind it."""
    cell = model.oldest_running()
    if cell is None:
        return None
    elapsed = now - (cell.started or now)
    who = "you" if cell.is_self else cell.username
    count = f" In [{cell.execution_count}]" if cell.execution_count is not None else ""
    detail = f"{format_elapsed(elapsed)} · {who}{count}"
    silent = now - (cell.last_output or cell.started or now)
    if not cell.is_self and silent > silent_hint:
        # Other clients' input prompts are invisible to us (stdin goes only to them).
        detail += f" · no output for {format_duration(silent)}: may be waiting for {who}'s input"
    waiting = len(waiting_cells(model))
    if waiting:
        detail += f" · {waiting} queued"
    return detail


class HeartbeatFigure:
    """The status line's heartbeat round trip, in coarse steps that do not flap.

    A figure that changes with every beat redraws the status line with every beat: on a
    loaded machine the round trip crosses 1 ms or 10 ms from beat to beat, and even the
    median of the last few flips between `<1 ms` and `<10 ms`. So the step shown changes
    only when the last AGREE beats all fall in one other step; a round trip of NOTABLE or
    more (a kernel that is really slow to answer) shows at once.
    """

    AGREE = 3
    """Beats in a row in another step before the shown step changes."""
    NOTABLE = 0.1
    """Seconds: a median round trip this long is shown at once, in tenths of a second."""
    MEDIAN_OF = 5
    """The figure is the median of this many last beats."""

    def __init__(self) -> None:
        self.shown: str | None = None
        """The step on screen (`<1 ms`), None before the first beat."""

    def figure(self, history: Sequence[float]) -> str:
        """The step to show for the round trips `history` (oldest first, not empty)."""
        recent = sorted(history[-self.MEDIAN_OF :])
        median = recent[len(recent) // 2]
        wanted = format_latency(median, coarse=True)
        if self.shown is None or median >= self.NOTABLE:
            self.shown = wanted
            return wanted
        last = {format_latency(rtt, coarse=True) for rtt in history[-self.AGREE :]}
        if len(history) >= self.AGREE and last == {wanted} and wanted != self.shown:
            self.shown = wanted
        return self.shown


def summary(session: KernelSession, heartbeat: HeartbeatFigure | None = None) -> str:
    """The narrow terminal's one line of pane facts: round trip, memory, peers; the round
    trip through `heartbeat` (kept by the caller from one line to the next)."""
    parts = []
    liveness, usage = session.liveness, session.usage
    history = liveness.hb_history if liveness else ()
    if history and liveness and liveness.hb_rtt is not None:
        heartbeat = heartbeat or HeartbeatFigure()
        parts.append(f"hb {heartbeat.figure(history)}")
    memory = usage.kernel_memory if usage else None
    if memory is not None:
        parts.append(f"mem {format_bytes(memory)}")
    others = sum(1 for peer in session.model.peers.values() if not peer.is_self)
    if others:
        parts.append(f"{others} peer" + ("" if others == 1 else "s"))
    return " · ".join(parts)
