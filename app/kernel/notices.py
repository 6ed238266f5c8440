"""What the session says in the transcript, worded in one place: pure functions of what
happened, so the session's state machine holds decisions and not sentences."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from nbtui.app.kernel.connection import ConnectionInfo
from nbtui.app.kernel.liveness import TROUBLE

if TYPE_CHECKING:
    from nbtui.app.kernel.liveness import LivenessSnapshot
    from nbtui.app.kernel.server import ServerKernel

__all__ = ["Level", "Notice", "interrupt_ignored", "liveness_notice", "memory_short"]

Level = Literal["info", "warning", "error"]
"""How loud a notice is."""
Notice = tuple[str, Level]
"""A notice's text and level."""


def liveness_notice(
    snapshot: LivenessSnapshot, previous: str, where: ConnectionInfo | ServerKernel
) -> Notice | None:
    """What to say when the liveness state goes from `previous` to `snapshot.state`."""
    state = snapshot.state
    if state == "dead":
        detail = snapshot.detail or "no heartbeat"
        return f"the kernel is dead: {detail} (the transcript stays readable)", "error"
    if state == "restarting":
        # A server says so on its own; a kernel on ZeroMQ ports is restarted by
        # whoever started it (its KernelManager), never by a client like us.
        who = "its owner restarts it" if isinstance(where, ConnectionInfo) else "its server says so"
        return (
            f"the kernel is restarting ({who}): whatever ran was stopped and its "
            "variables will be gone",
            "warning",
        )
    if state == "lost":
        return f"the kernel is lost: {snapshot.detail} (it may yet answer again)", "error"
    if state == "stopped":
        return f"the kernel is stopped, not dead: {snapshot.detail}", "warning"
    if state == "unresponsive":
        alive = "alive but " if snapshot.hb_rtt is not None else ""
        return f"the kernel is {alive}not answering ({snapshot.detail})", "warning"
    if state == "restarted":
        same = " on the same ports" if isinstance(where, ConnectionInfo) else ""
        return f"the kernel restarted{same}: its variables are gone", "warning"
    if previous in TROUBLE:
        return "the kernel answers again", "info"
    return None


def interrupt_ignored(grace: float) -> Notice:
    """The kernel still runs what was interrupted `grace` seconds ago."""
    return (
        f"the kernel did not respond to the interrupt within {grace:g} s "
        "(it may be in C code that ignores SIGINT, or not support interrupts)",
        "warning",
    )


def memory_short(share: float | None) -> Notice:
    """The kernel holds `share` of the memory it could have."""
    held = f"{share:.0%}" if share else "most"
    return (
        f"the kernel uses {held} of the memory it can get: the out-of-memory killer may "
        "strike soon",
        "warning",
    )
