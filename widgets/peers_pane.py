"""Who is attached: every client seen on iopub, with what it ran and whether it runs now."""

from __future__ import annotations

import time
from collections.abc import Iterable

from rich.style import Style
from rich.text import Text
from textual.message import Message
from textual.widget import Widget

from nbtui.app.kernel.messages import short_session
from nbtui.app.kernel.model import Peer
from nbtui.app.present import format_ago
from nbtui.widgets.palette import PEER_CLASSES, peer_class

__all__ = ["PeersPane"]


class PeersPane(Widget):
    """One line per client: `● name  3f2a  5 cells  running`, yourself first.

    Only clients seen on iopub are listed: a probe on the control channel (usage,
    kernel_info) is nobody's activity. Ages are coarse (now, minutes, hours) and redrawn
    twice a minute: an unchanged line sends no bytes to the terminal.
    """

    COMPONENT_CLASSES = {
        "peers--self",
        "peers--running",
        "peers--muted",
        "peers--peer",
        *PEER_CLASSES,
    }

    DEFAULT_CSS = """
    PeersPane { height: auto; }
    """

    class Changed(Message):
        """Someone joined, ran a cell or finished one: the list differs from the last."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._peers: list[Peer] = []
        self._signature: tuple[object, ...] = ()
        self._rows: tuple[object, ...] = ()
        self._shown_ages: tuple[str, ...] = ()

    def on_mount(self) -> None:
        """Every 30 s, redraw if an age shown has moved (an idle screen writes nothing)."""
        self.set_interval(30, self._age)

    def _ages(self) -> tuple[str, ...]:
        now = time.monotonic()
        return tuple(
            format_ago(now - peer.last_activity, now_below=60)
            for peer in self._peers
            if peer.last_activity and not peer.running
        )

    def _age(self) -> None:
        ages = self._ages()
        if ages != self._shown_ages:
            self._shown_ages = ages
            self.refresh()

    def update_peers(self, peers: Iterable[Peer]) -> None:
        """Show `peers` (every frame gives them): redraws, and posts Changed, only when
        what is shown differs."""
        ordered = sorted(peers, key=lambda peer: (not peer.is_self, -peer.last_activity))
        # A running peer's last activity is not shown (it says "running"), and moves with
        # every output: in a flood, a redraw for it was a layout of the whole screen a frame.
        signature = tuple(
            (p.session, p.username, p.cells, p.running, None if p.running else p.last_activity)
            for p in ordered
        )
        if signature != self._signature:
            # A layout only when the rows change (who, how many cells), not their state.
            rows = tuple((p.session, p.username, p.cells) for p in ordered)
            rows_changed, self._rows = rows != self._rows, rows
            self._signature = signature
            self._peers = ordered
            self._shown_ages = self._ages()
            self.refresh(layout=rows_changed)
            self.post_message(self.Changed())

    def render(self) -> Text:
        """One line per peer, yourself first, then by latest activity."""
        if not self._peers:
            return Text("nobody has run anything yet", style=self._style("peers--muted"))
        lines = []
        for peer in self._peers:
            name_style = (
                self._style("peers--self")
                if peer.is_self
                else self._style("peers--peer") + self._style(peer_class(peer.colour))
            )
            name = "you" if peer.is_self else peer.username
            cells = f"{peer.cells} cell" + ("" if peer.cells == 1 else "s")
            if peer.running:
                state = Text("running", style=self._style("peers--running"))
            elif peer.last_activity:
                state = Text(
                    format_ago(time.monotonic() - peer.last_activity, now_below=60),
                    style=self._style("peers--muted"),
                )
            else:
                state = Text("")
            lines.append(
                Text.assemble(
                    ("● ", name_style),
                    (f"{name[:12]:<12} ", name_style),
                    (f"{short_session(peer.session)}  ", self._style("peers--muted")),
                    f"{cells:<9} ",
                    state,
                )
            )
        return Text("\n").join(lines)

    def _style(self, component: str) -> Style:
        return self.get_component_rich_style(component, partial=True)
