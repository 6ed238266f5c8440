"""How messages reach a kernel: the one interface between `KernelClient` and the wire.

`KernelClient` builds, routes and awaits messages; a transport only moves them. Each
lives in its own module here, named in `TRANSPORTS` by the `transport_name` its
targets give (`nbtui.app.kernel.target.KernelTarget`); `open_transport` picks one and
imports its module only then, so a ZeroMQ kernel never loads tornado. Nothing above
`KernelClient` knows which one it talks through, and nothing here imports ZeroMQ:
the liveness monitor hears of a lost connection through a `LinkWatch`.

Adding a transport: its module here, and its line in `TRANSPORTS`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal, Protocol, cast

from nbtui.app.kernel.errors import NbtuiError

if TYPE_CHECKING:
    from jupyter_client.session import Session

    from nbtui.app.kernel.target import KernelTarget

__all__ = [
    "CHANNELS",
    "TRANSPORTS",
    "Deliver",
    "LinkEvent",
    "LinkWatch",
    "Transport",
    "TransportClosed",
    "open_transport",
    "transport_factory",
]

CHANNELS = ("shell", "iopub", "stdin", "control")
"""The message channels; the heartbeat is the transport's own business."""

Deliver = Callable[[str, dict[str, Any]], None]
"""Called with (channel, message dict as `Session.deserialize` returns it). Channel "nbtui"
carries the transport's own reports, unsigned (`zeromq.dropped(count)`)."""

LinkEvent = Literal["up", "down"]
"""What a `LinkWatch` reports: the way to the kernel came up, or went down."""

TRANSPORTS: dict[str, tuple[str, str]] = {
    "zmq": ("nbtui.app.kernel.transports.zeromq", "ZmqTransport"),
    "websocket": ("nbtui.app.kernel.transports.websocket", "WebSocketTransport"),
}
"""Each `KernelTarget.transport_name`, and the module and class that serve it."""


class TransportClosed(Exception):
    """The transport was closed under a probe: the probe's loop ends quietly."""


class LinkWatch(Protocol):
    """Connection events of the way to a kernel, as they happen: the fast news of a
    `kill -9` (a dropped TCP connection) that periodic pings would take seconds to tell."""

    async def next_event(self) -> LinkEvent | None:
        """Wait for the next event; None once the watch or its transport is closed."""

    def close(self) -> None:
        """Stop watching; safe to call more than once."""


class Transport(Protocol):
    """Moves signed messages between a `KernelClient` and one kernel."""

    kind: str
    """Shown to the user: "zmq", "zmq over ssh", "websocket v1", ..."""
    bad_signatures: int
    """Messages dropped because their signature did not match (a wrong key)."""
    malformed: int
    """Messages dropped because they could not be decoded."""
    problem: str
    """Why the connection is down, when the transport knows better than "no heartbeat"."""

    @property
    def session(self) -> Session:
        """Builds, signs and reads this transport's messages; the client uses it too."""

    async def connect(self, deliver: Deliver) -> None:
        """Open the channels and start the readers; each decoded message goes to `deliver`.

        Raises:
            NbtuiError: The channels cannot be opened at all.
        """

    def send(self, channel: str, msg: dict[str, Any]) -> None:
        """Send a message built by `session.msg` without waiting for the network.

        Raises:
            TransportClosed: The transport was closed (a transport may also drop it).
        """

    async def ping(self, timeout: float) -> float | None:
        """One liveness round trip in seconds, or None if none came within `timeout`.

        Raises:
            TransportClosed: The transport was closed.
        """

    def watch_link(self) -> LinkWatch | None:
        """A watch on the connection's ups and downs, when the transport can see them;
        None leaves the liveness monitor to its pings."""

    async def interrupt(self) -> bool:
        """Interrupt out of band (a server's REST API); False: use interrupt_request."""

    async def close(self) -> None:
        """Stop the readers and release the connection; never touches the kernel."""


def transport_factory(name: str) -> Callable[[Any], Transport]:
    """The class that serves targets whose `transport_name` is `name`, its module
    imported now.

    Raises:
        NbtuiError: No transport has that name.
    """
    try:
        module, attribute = TRANSPORTS[name]
    except KeyError:
        known = ", ".join(sorted(TRANSPORTS))
        raise NbtuiError(f"no transport named {name!r} (known: {known})") from None
    return cast("Callable[[Any], Transport]", getattr(importlib.import_module(module), attribute))


def open_transport(target: KernelTarget) -> Transport:
    """A transport to `target`, not yet connected: nothing touches the network until
    `Transport.connect`.

    Raises:
        NbtuiError: The target names a transport that does not exist.
    """
    return transport_factory(target.transport_name)(target)
