"""What the session says in the transcript, worded in one place: pure functions of what
happened, so the session's state machine holds decisions and not sentences."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from nbtui.app.kernel.liveness import TROUBLE
from nbtui.app.kernel.sanitize import sanitize_line

if TYPE_CHECKING:
    from nbtui.app.kernel.limits import MemoryLimit
    from nbtui.app.kernel.liveness import LivenessSnapshot
    from nbtui.app.kernel.target import KernelTarget

__all__ = [
    "Level",
    "Notice",
    "asked_exit",
    "died_unanswered",
    "died_under",
    "ended_during_gap",
    "exit_refused",
    "interrupt_ignored",
    "link_back",
    "link_lost",
    "liveness_notice",
    "lost_end",
    "memory_short",
    "not_sent_while",
    "postmortem",
    "postmortem_pending",
    "ran_during_gap",
]

Level = Literal["info", "warning", "error"]
"""How loud a notice is."""
Notice = tuple[str, Level]
"""A notice's text and level."""


def liveness_notice(
    snapshot: LivenessSnapshot, previous: str, where: KernelTarget
) -> Notice | None:
    """What to say when the liveness state goes from `previous` to `snapshot.state`."""
    state = snapshot.state
    if state == "dead":
        detail = snapshot.detail or "no heartbeat"
        return f"the kernel is dead: {detail} (the transcript stays readable)", "error"
    if state == "restarting":
        who = where.restarting_detail
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
    if state == "reconnecting" or (state == "alive" and previous == "reconnecting"):
        return None  # the link's own notices (`link_lost`, `link_back`) say it
    if state == "restarted":
        same = f" {where.restart_detail}" if where.restart_detail else ""
        return f"the kernel restarted{same}: its variables are gone", "warning"
    if previous in TROUBLE:
        return "the kernel answers again", "info"
    return None


def link_lost(reason: str) -> Notice:
    """The way to the kernel dropped (`reason`); the kernel is not known to be dead."""
    return (
        f"connection lost, reconnecting ({sanitize_line(reason)}); the kernel is not "
        "known to be dead: it may run on at the other end",
        "warning",
    )


def link_back(gap: float, what: str, answers: bool, replays: bool = False) -> Notice:
    """The link (`what`) is back after `gap` seconds; `answers`: the kernel's heartbeat
    answered through it; `replays`: the other end replays what was sent meanwhile (a
    Jupyter Server does, for the same WebSocket session)."""
    took = f"{gap:.1f} s" if gap < 60 else f"{gap / 60:.1f} min"
    if not answers:
        return (
            f"connection back after {took} ({what}), but the kernel does not answer through it",
            "warning",
        )
    if replays:
        return (
            f"connection back after {took} ({what}): the server replays what the kernel "
            "sent meanwhile, as far as it kept it; inputs run meanwhile follow, from the "
            "kernel's history",
            "info",
        )
    return (
        f"connection back after {took} ({what}): output sent during the gap is lost "
        "(iopub does not replay it); inputs run meanwhile follow, from the kernel's history",
        "info",
    )


def ran_during_gap(count: int, code: str) -> Notice:
    """An input someone ran while the link was down (from history; its output is lost)."""
    # Someone else's code, from the kernel: untrusted like any output.
    lines = code.strip("\n").splitlines() or [""]
    more = f"  (+{len(lines) - 1} more lines)" if len(lines) > 1 else ""
    return f"run during the gap: In [{count}]  {sanitize_line(lines[0])}{more}", "info"


def ended_during_gap(count: int | None) -> Notice:
    """A cell that was running when the link dropped ended during the gap."""
    return (
        f"In [{count if count is not None else '?'}] ended while the connection was down: "
        "how it ended, and what it printed then, are lost",
        "warning",
    )


def lost_end(count: int | None, own: bool) -> Notice:
    """A cell ended and iopub lost its idle (`lost_ends`); `own`: one of ours."""
    return (
        f"{'your cell' if own else 'the cell'} In [{count if count is not None else '?'}] "
        "has ended, but iopub lost its end (a kernel drops messages for a client that "
        "falls behind): the last of its output may be missing",
        "warning",
    )


def interrupt_ignored(grace: float, just_started: bool = False) -> Notice:
    """The kernel still runs what was interrupted `grace` seconds ago; `just_started`:
    a cell had started moments before the interrupt was sent."""
    why = (
        # ipykernel ignores SIGINT between a cell's busy and its handler, and one just
        # after escapes its dispatch (ipykernel#666): measured on ipykernel 7.4.
        "it had just started a cell, when ipykernel can miss an interrupt: press ctrl+c again"
        if just_started
        else "it may be in C code that ignores SIGINT, or not support interrupts"
    )
    return (f"the kernel did not respond to the interrupt within {grace:g} s ({why})", "warning")


def memory_short(share: float | None, limit: MemoryLimit | None = None) -> Notice:
    """The kernel holds `share` of the memory it could have (`limit`: its cgroup's limit
    or the host's memory, when known)."""
    held = f"{share:.0%}" if share else "most"
    of = "the memory it can get"
    if limit is not None and limit.source == "cgroup":
        of = f"its {limit.describe()}"
    return (
        f"the kernel uses {held} of {of}: the out-of-memory killer may strike soon",
        "warning",
    )


def postmortem_pending() -> Notice:
    """The kernel died; why is being looked up (the line is reworded when it is known)."""
    return "post-mortem: looking for why the kernel died…", "error"


def postmortem(cause: str) -> Notice:
    """Why the kernel died, as `postmortem.Watch.cause` found it."""
    return f"post-mortem: {cause}", "error"


def _cell(count: int | None) -> str:
    return f" In [{count}]" if count else ""


def died_unanswered() -> Notice:
    """The kernel died with our cell sent and unanswered, not known to have started."""
    return (
        "the kernel died before answering your cell (it may have ended the kernel itself, "
        "with os._exit() for one; so can a crash or the out-of-memory killer)",
        "error",
    )


def died_under(count: int | None) -> Notice:
    """The kernel died while our cell (execution `count`) ran."""
    return (
        f"the kernel died while your cell{_cell(count)} ran "
        "(a cell can end the kernel's process, with os._exit() for one; so can a "
        "crash or the out-of-memory killer)",
        "error",
    )


def asked_exit(count: int | None) -> Notice:
    """Our cell called exit() in a way reading could not see: the kernel is going."""
    return (
        f"your cell{_cell(count)} called exit(): ipykernel shut itself down, for everyone "
        "attached (nbtui could not tell from the code beforehand)",
        "error",
    )


def exit_refused(own: bool) -> str:
    """Why a cell that calls exit() is not sent (`own`: nbtui started the kernel)."""
    return (
        "this cell calls exit(), and ipykernel answers that by shutting itself "
        "down, for everyone attached; take the exit() out to run the rest. "
        "ctrl+q leaves nbtui" + (" (and stops the kernel it started)" if own else "")
    )


def not_sent_while(state: str, own: bool, join: str) -> str:
    """Why a cell is not sent to a dead or restarting kernel, and what to do (`own`:
    nbtui started it; `join`: the command that attaches again)."""
    if state == "reconnecting":
        return (
            "the connection to the kernel is down and being made again; the cell stays "
            "in the editor: run it once it is back"
        )
    if state == "restarting":
        return (
            "the kernel is restarting; the cell stays in the "
            "editor: run it when the kernel is back (its variables will be gone)"
        )
    if own:
        return "the kernel is dead; F9 restarts it (nbtui started it), then run the cell"
    return (
        "the kernel is dead, and only whoever started it can restart it; once it is "
        f"back (or for another kernel), ctrl+q and attach again: "
        f"{join}"
    )
