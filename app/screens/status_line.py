"""What the status line says about the session, in words and figures."""

from __future__ import annotations

from typing import TYPE_CHECKING

from nbtui.app.kernel.queue import waiting_cells
from nbtui.app.present import (
    MEMORY_BAND,
    SteadyFigures,
    SteadyLatency,
    format_bytes,
    format_duration,
    format_elapsed,
)

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


class HeartbeatFigure(SteadyLatency):
    """The status line's heartbeat round trip: `SteadyLatency` with AGREE beats."""

    AGREE = 3
    """Beats in a row in another step before the shown step changes."""

    def __init__(self) -> None:
        super().__init__(self.AGREE)


def summary(
    session: KernelSession,
    heartbeat: HeartbeatFigure | None = None,
    steady: SteadyFigures | None = None,
) -> str:
    """The narrow terminal's one line of pane facts: round trip, memory, peers; the round
    trip through `heartbeat` and the memory through `steady` (both kept by the caller
    from one line to the next)."""
    parts = []
    liveness, usage = session.liveness, session.usage
    history = liveness.hb_history if liveness else ()
    if history and liveness and liveness.hb_rtt is not None:
        heartbeat = heartbeat or HeartbeatFigure()
        parts.append(f"hb {heartbeat.figure(history)}")
    memory = usage.kernel_memory if usage else None
    if steady is not None:
        memory = steady.value("memory", memory, relative=MEMORY_BAND)
    if memory is not None:
        parts.append(f"mem {format_bytes(memory)}")
    others = sum(1 for peer in session.model.peers.values() if not peer.is_self)
    if others:
        parts.append(f"{others} peer" + ("" if others == 1 else "s"))
    return " · ".join(parts)
