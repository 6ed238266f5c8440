"""The side panes' container: beside the transcript when wide, an overlay when narrow."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Label

from nbtui.widgets.connection_pane import ConnectionPane
from nbtui.widgets.liveness_pane import LivenessPane
from nbtui.widgets.peers_pane import PeersPane
from nbtui.widgets.resource_pane import ResourcePane

if TYPE_CHECKING:
    from textual.widget import Widget

    from nbtui.app.kernel.session import KernelSession

__all__ = ["SidePanes"]


class SidePanes(VerticalScroll):
    """The connection, liveness, resource and peers panes, one below the other.

    At 80x24 the overlay is taller than the room it has, so it scrolls and takes the
    focus while open: arrows, PageUp/PageDown and Home/End reach the lowest pane (the
    peers) with no mouse. Escape closes it, as F2 does.
    """

    BINDINGS = [Binding("escape", "screen.toggle_panes", "Close", show=False)]

    HINT = "↑↓ PgUp PgDn scroll · Esc close"
    """Shown in the overlay's lower border (the side-by-side panes have none)."""

    def on_mount(self) -> None:
        """Put the key hint in the border (only the overlay layout draws one)."""
        self.border_subtitle = self.HINT

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._focus_before: Widget | None = None
        """Where the focus was when the narrow overlay took it, to give it back."""

    def place(self, shown: bool, overlay: bool, fallback: Widget) -> None:
        """Show the panes (beside the transcript, or over it) or hide them; the focus
        goes back where it was when an overlay closes (else to `fallback`)."""
        was_overlay = self.has_class("-overlay")
        self.set_class(shown, "-shown")
        self.set_class(overlay, "-overlay")
        if overlay and not was_overlay:
            # The overlay hides the editor and is taller than an 80x24 screen: it takes
            # the keys that scroll it until it closes, then gives them back.
            self._focus_before = self.screen.focused
            self.focus()
        elif self.has_focus_within and (was_overlay or not shown):
            before, self._focus_before = self._focus_before, None
            if before is not None and before.is_attached and before.focusable:
                before.focus()
            else:
                fallback.focus()

    def compose(self) -> ComposeResult:
        """Each pane under its title."""
        yield Label("connection", classes="pane-title")
        yield ConnectionPane(id="connection")
        yield Label("liveness", classes="pane-title")
        yield LivenessPane(id="liveness")
        yield Label("resources", classes="pane-title")
        yield ResourcePane(id="resources")
        yield Label("peers", classes="pane-title")
        yield PeersPane(id="peers")

    @property
    def shown(self) -> bool:
        """Whether the panes are on the screen (beside the transcript or over it)."""
        return self.has_class("-shown")

    def show_kernel(self, session: KernelSession) -> None:
        """Where the kernel is and what it says it is (at attach, after a restart)."""
        client = session.client
        self.query_one(ConnectionPane).update(
            client.info, client.kernel_info, client.session_id, session.transport
        )

    def show_peers(self, session: KernelSession) -> None:
        """Who else is attached (the pane redraws only when that changed)."""
        self.query_one(PeersPane).update_peers(session.model.peers.values())

    def show_health(
        self, session: KernelSession, busy: str | None, liveness: bool = True, usage: bool = True
    ) -> None:
        """The liveness and resource figures, when shown: panes are not fed while
        hidden, and are brought up to date on showing."""
        if not self.shown:
            return
        if liveness and session.liveness is not None:
            self.query_one(LivenessPane).update(
                session.liveness,
                busy=busy,
                last_iopub=session.last_iopub,
                now=session.clock(),
                cause=session.postmortem,
            )
        if usage and session.usage is not None:
            self.query_one(ResourcePane).update(session.usage, idle_for=session.idle_for)
