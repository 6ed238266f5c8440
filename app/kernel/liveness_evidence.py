"""What the evidence says about a kernel whose heartbeat went silent, or came back.

Two questions a `LivenessMonitor` asks, kept apart from its probing loops:

- `silence_verdict`: the heartbeat has missed enough pings; given what its process looks
  like, which state is that? Only evidence makes a kernel "dead".
- `control_changes`: what the periodic control kernel_info (or its silence) says.
- `ask_who_answers` and `comeback_changes`: the heartbeat answers again; which kernel
  is it, and so which state? Its kernel_info
  reply's session tells the process we knew (it resumed) from a new one (a restart), and
  a kernel said to be restarting that still answers from the one going away.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from nbtui.app.kernel.liveness_state import LivenessSnapshot, LivenessState, ProbedClient
from nbtui.app.kernel.messages import Msg
from nbtui.app.kernel.process import ProcessCheck

__all__ = [
    "Answer",
    "ask_who_answers",
    "comeback_changes",
    "control_changes",
    "silence_verdict",
]


def silence_verdict(
    check: ProcessCheck, silent_for: float, presume_dead_after: float
) -> tuple[LivenessState, str]:
    """The state and its detail for a kernel whose heartbeat went silent.

    Args:
        check: What the kernel's process looks like ("unknown" when it cannot be seen).
        silent_for: Seconds since the heartbeat last answered.
        presume_dead_after: Seconds of silence after which a kernel whose process
            cannot be seen is "lost" (presumed dead).

    Returns:
        "dead" when the process is gone, "stopped" or "unresponsive" while it is there,
        "lost" after a long silence with nothing to look at, else "unresponsive".
    """
    if check.state == "gone":
        return "dead", f"no heartbeat: {check.detail}"
    if check.state == "stopped":
        return "stopped", check.detail
    if check.state == "running":
        return "unresponsive", f"no heartbeat, though process {check.pid} runs"
    if silent_for >= presume_dead_after:
        return "lost", f"no heartbeat for {presume_dead_after:g} s: presumed dead"
    return "unresponsive", "no heartbeat"


@dataclass(frozen=True)
class Answer:
    """What `ask_who_answers` learnt."""

    info: Mapping[str, Any] | None = None
    """The kernel_info reply's content from a kernel other than the leaving one; None
    when none came in time."""
    latency: float | None = None
    """Seconds that reply took."""
    session: str = ""
    """The header session of that reply ("" without one)."""
    parent_id: str = ""
    """The msg_id of the request that reply answered."""
    old_answered: bool = False
    """The kernel said to be leaving answered meanwhile: it is still there."""


async def ask_who_answers(
    client: ProbedClient, leaving: Callable[[], str], patience: float
) -> Answer:
    """Ask control for kernel_info until a kernel other than `leaving` answers.

    A fresh kernel answers its heartbeat before it reads control, so the request is
    retried for up to `patience` seconds.

    Args:
        client: The kernel client.
        leaving: The session of a kernel said to be restarting ("" for none), read at
            each answer (the kernel's manager may say so meanwhile): its answers do not
            count.
        patience: Seconds to keep asking.
    """
    old_answered = False
    deadline = time.monotonic() + patience
    while time.monotonic() < deadline:
        started = time.perf_counter()
        reply = await client.request("control", "kernel_info_request", {}, 1.0)
        if reply is None:
            continue
        session = str(reply.header.get("session", ""))
        if leaving() and session == leaving():
            # The kernel said to be restarting still answers: not back, not gone yet.
            old_answered = True
            await asyncio.sleep(0.1)
            continue
        latency = time.perf_counter() - started
        return Answer(reply.content, latency, session, reply.parent_id, old_answered)
    return Answer(old_answered=old_answered)


def comeback_changes(
    answer: Answer, known: str, previous: LivenessState, restarts: int
) -> dict[str, Any]:
    """The snapshot's changes once a silent kernel's heartbeat answers again.

    Args:
        answer: What `ask_who_answers` learnt (not from a kernel said to be leaving).
        known: The session of the kernel we knew before the silence ("" if none).
        previous: The state during the silence.
        restarts: The snapshot's restart count so far.

    Returns:
        "alive" for the very process we knew; "unresponsive" when kernel_info is not
        answered yet after a silence never seen as death; else "restarted" (with the
        new kernel_info when it came): the caller then forgets the old process.
    """
    info = answer.info
    if info is not None and known and answer.session == known:
        # The very process we knew answers: it was stopped and continued, or the way
        # to it broke (a network blip, a tunnel or WebSocket that came back).
        return {"state": "alive", "detail": "", "control_latency": answer.latency}
    if info is None and previous in ("unresponsive", "stopped", "lost", "reconnecting"):
        # Never seen dead: most likely the same process, slow to catch up on control.
        # The control probe, running again, says "alive" when it answers.
        return {
            "state": "unresponsive",
            "control_latency": None,
            "detail": "the heartbeat answers again, kernel_info does not yet",
        }
    changes: dict[str, Any] = {
        "state": "restarted",
        "restarts": restarts + 1,
        "control_latency": answer.latency,
        "detail": "kernel_info reloaded" if info is not None else "kernel_info not answered yet",
    }
    if info is not None:
        changes["kernel_info"] = MappingProxyType(dict(info))
    return changes


def control_changes(
    reply: Msg | None,
    latency: float | None,
    snapshot: LivenessSnapshot,
    key_suspect: bool,
    timeout: float,
) -> dict[str, Any]:
    """The snapshot's changes after a periodic control `kernel_info_request`.

    Args:
        reply: The reply, or None when none came within `timeout` seconds.
        latency: Seconds the reply took (None without one).
        snapshot: The snapshot when the reply (or the timeout) came.
        key_suspect: Messages failed the signature check since the last good one.
        timeout: How long the probe waited.

    Returns:
        "unresponsive" (naming a wrong key when signatures fail) without a reply; else
        the latency, the new kernel_info when it differs, and "alive" after
        "unresponsive".
    """
    if reply is None:
        detail = f"no kernel_info on control in {timeout:g} s"
        # Heartbeat alive, requests unanswered, and signatures failing since the last
        # good message (not merely some time ago): a wrong key.
        if key_suspect:
            detail += " (messages fail the signature check: wrong key?)"
        return {"state": "unresponsive", "control_latency": None, "detail": detail}
    changes: dict[str, Any] = {"control_latency": latency}
    if dict(reply.content) != dict(snapshot.kernel_info):
        changes["kernel_info"] = MappingProxyType(dict(reply.content))
    if snapshot.state == "unresponsive":
        changes.update(state="alive", detail="")
    return changes
