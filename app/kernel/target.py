"""Where a kernel is, as one protocol: what the UI, the probes and the CLI ask of it.

A kernel is reached through a connection file (`ConnectionInfo`: ZeroMQ, directly or
through an SSH tunnel) or through a Jupyter Server (`ServerKernel`). Whatever differs
between the two is a question a `KernelTarget` answers, so nothing above the kernel
layer asks which kind it holds, and a new kind (a kernel gateway, say) is one class
here and one transport in `nbtui.app.kernel.transports`.

A kernel nbtui started itself is an `OwnedKernel`: the only kind it may interrupt by
signal, restart or shut down, whichever way it was started.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

__all__ = ["KernelTarget", "OwnedKernel", "PaneRow", "PartStyle", "pane_row", "value_row"]

PartStyle = Literal["value", "muted", ""]
"""How one part of a pane row is drawn: a value, a muted aside, or plain text."""


@dataclass(frozen=True)
class PaneRow:
    """One row of the connection pane, as plain data: the widget chooses the styles."""

    label: str
    """The left column ("file", "ports", ...); empty continues the row above."""
    parts: tuple[tuple[str, PartStyle], ...]
    """The right column, as (text, style) pieces."""
    whole: bool = False
    """One value styled as a whole rather than assembled from pieces."""


def pane_row(label: str, *parts: str | tuple[str, PartStyle]) -> PaneRow:
    """A row assembled from pieces; a bare string is plain text.

    Args:
        label: The left column.
        parts: Plain strings, or (text, style) pairs.
    """
    return PaneRow(label, tuple((part, "") if isinstance(part, str) else part for part in parts))


def value_row(label: str, text: str) -> PaneRow:
    """A row that is one value."""
    return PaneRow(label, ((text, "value"),), whole=True)


class KernelTarget(Protocol):
    """Where one kernel is and how to talk about it; implemented by `ConnectionInfo`
    and `nbtui.app.kernel.server.ServerKernel`."""

    @property
    def kernel_name(self) -> str:
        """The kernelspec's name ("python3"), or "" when nobody said."""

    @property
    def transport_name(self) -> str:
        """Which transport reaches it: a key of `nbtui.app.kernel.transports.TRANSPORTS`."""

    @property
    def label(self) -> str:
        """A few words for the status line: the connection file's name, or the
        server's host and the kernel id's first characters."""

    @property
    def is_local(self) -> bool:
        """Whether the kernel runs on this machine: psutil can see its process, and a
        heartbeat need not wait for a network."""

    @property
    def pid_port(self) -> int | None:
        """A port the kernel's own process listens on, to find it with psutil; None
        when it is not local."""

    @property
    def pings_kernel(self) -> bool:
        """Whether the transport's ping reaches the kernel process itself (a heartbeat),
        so that attaching proves the process before asking it anything. A server's
        WebSocket ping proves the server only."""

    @property
    def exposure_notice(self) -> str:
        """A warning for the transcript when others may use this connection (a
        connection file other users can read), else ""."""

    @property
    def pane_warning(self) -> str:
        """The same warning as the connection pane words it, else ""."""

    @property
    def restart_detail(self) -> str:
        """Words for "the kernel restarted ..." ("on the same ports"), or ""."""

    @property
    def restarting_detail(self) -> str:
        """Who says the kernel is restarting, for "the kernel is restarting (...)"."""

    def join_command(self) -> str:
        """The command another person runs to attach to the same kernel."""

    def pane_rows(self, transport: str) -> tuple[PaneRow, ...]:
        """The connection pane's rows about where the kernel is; never a secret.

        Args:
            transport: How messages travel, as the transport names itself ("websocket v1").
        """

    def no_heartbeat(self, timeout: float) -> str:
        """Why attaching failed when no ping came back within `timeout` seconds."""

    def no_reply(self, timeout: float, bad_signatures: int, *, key_proven: bool) -> str:
        """Why attaching failed when pings come back but requests are not answered.

        Args:
            timeout: Seconds the requests waited, together.
            bad_signatures: Messages dropped for a wrong signature meanwhile.
            key_proven: Messages signed with our key came, and none failed since: the
                key is right, the kernel may be stuck.
        """


class OwnedKernel(Protocol):
    """A kernel nbtui started (a local process, or one a Jupyter Server started for
    it): the only kind it may interrupt out of band, restart, or shut down."""

    @property
    def target(self) -> KernelTarget:
        """Where the kernel is, to attach to it."""

    @property
    def session_id(self) -> str:
        """The session of whoever restarts it for nbtui (its kernel manager), whose
        `shutdown_reply` is the user's own restart; "" where nbtui cannot know it."""

    async def may_be_starting(self) -> bool:
        """Whether an attach that failed is worth trying again: the kernel may still be
        coming up (a local one whose process lives). A server's kernel: no, the server
        answers for it once it has started it."""

    async def interrupt(self) -> None:
        """Interrupt what runs, through whoever runs the kernel."""

    async def restart(self) -> None:
        """Restart the kernel: all its state is lost."""

    async def shutdown(self) -> None:
        """Stop the kernel for good and clean up after it."""
