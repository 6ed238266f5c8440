"""The words for a kernel's life, and the snapshot a `LivenessMonitor` reports.

Silence is not death. A heartbeat that stops answering makes the kernel "unresponsive";
only evidence makes it "dead": its connections dropped (the link watch), the way to
it broke (the transport says why), or its local process is gone (`LocalProcess`). A local
process that is stopped (SIGSTOP, ctrl+z, a debugger) is "stopped". Where nothing can be
checked (a remote kernel), a silence of `presume_dead_after` seconds makes it "lost":
presumed dead, and said so. Any of these returns to "alive" when the same kernel answers
its heartbeat again.

"reconnecting" is the way to the kernel, not the kernel: a tunnel or WebSocket dropped
and is being made again (`transports.reconnect`); the kernel is judged once it is back.

"restarting" is what the kernel's manager said; "restarted" is a new kernel process behind
the same connection (a new kernel_info session), until the app has said so.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any, Literal, Protocol

from nbtui.app.kernel.messages import Msg
from nbtui.app.kernel.transports import LinkWatch

__all__ = ["TROUBLE", "LivenessSnapshot", "LivenessState", "ProbedClient"]

LivenessState = Literal[
    "alive", "unresponsive", "stopped", "lost", "dead", "restarting", "restarted", "reconnecting"
]
"""One word for the kernel's life, as the status line and the liveness pane show it."""

TROUBLE: frozenset[str] = frozenset(
    {"unresponsive", "stopped", "lost", "dead", "restarting", "reconnecting"}
)
"""States in which the kernel runs nothing for anyone: the status shows them, not busy."""

_EMPTY: Mapping[str, Any] = MappingProxyType({})


class ProbedClient(Protocol):
    """What the monitor needs of a client; `KernelClient` has it all."""

    kernel_info: dict[str, Any]
    """The latest kernel_info_reply content; the monitor refreshes it."""

    async def ping(self, timeout: float) -> float | None:
        """One liveness round trip in seconds, or None after `timeout`."""

    async def request(
        self, channel: str, msg_type: str, content: dict[str, Any], timeout: float
    ) -> Msg | None:
        """A request and its reply, or None after `timeout`."""

    def watch_link(self) -> LinkWatch | None:
        """The transport's connection events, or None when it has none."""


@dataclass(frozen=True)
class LivenessSnapshot:
    """What is known about the kernel's life at one moment."""

    state: LivenessState
    """One word: alive, unresponsive, stopped, lost (presumed dead), dead, restarting
    or restarted."""
    since: float
    """`time.monotonic()` when this state began."""
    hb_rtt: float | None = None
    """The last heartbeat round trip in seconds; None before the first or after a miss."""
    hb_history: tuple[float, ...] = ()
    """Recent answered round trips in seconds, oldest first."""
    misses: int = 0
    """Heartbeat pings that got no answer since the monitor started."""
    control_latency: float | None = None
    """Seconds the last control `kernel_info_request` took; None if it timed out."""
    kernel_info: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)
    """The latest `kernel_info_reply` content (reloaded after a restart)."""
    restarts: int = 0
    """How many times the kernel came back after being seen dead."""
    detail: str = ""
    """Why the state is what it is, in a few words ("no heartbeat", ...)."""

    def changed(self, **changes: Any) -> LivenessSnapshot | None:
        """This snapshot with `changes`, `since` restamped when the state changes; None
        when nothing would change (so nobody is told of it)."""
        if "state" in changes and changes["state"] == self.state:
            del changes["state"]
        if "state" in changes:
            changes["since"] = time.monotonic()
        if all(getattr(self, name) == value for name, value in changes.items()):
            return None
        return replace(self, **changes)
