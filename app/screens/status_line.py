"""What the status line says about the session, in words and figures."""

from __future__ import annotations

from typing import TYPE_CHECKING

from nbtui.app.kernel.queue import waiting_cells
from nbtui.app.present import format_bytes, format_duration, format_elapsed, format_latency

if TYPE_CHECKING:
    from nbtui.app.kernel.model import Transcript
    from nbtui.app.kernel.session import KernelSession

__all__ = ["busy_text", "summary"]


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


def summary(session: KernelSession) -> str:
    """The narrow terminal's one line of pane facts: round trip, memory, peers."""
    parts = []
    liveness, usage = session.liveness, session.usage
    history = liveness.hb_history[-5:] if liveness else ()
    if history and liveness and liveness.hb_rtt is not None:
        # Coarse on purpose: a figure that changes with every beat redraws with every
        # beat. The median of the last few, in steps, keeps jitter from flapping it.
        rtt = sorted(history)[len(history) // 2]
        parts.append(f"hb {format_latency(rtt, coarse=True)}")
    memory = usage.kernel_memory if usage else None
    if memory is not None:
        parts.append(f"mem {format_bytes(memory)}")
    others = sum(1 for peer in session.model.peers.values() if not peer.is_self)
    if others:
        parts.append(f"{others} peer" + ("" if others == 1 else "s"))
    return " · ".join(parts)
