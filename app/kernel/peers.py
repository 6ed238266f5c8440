"""The clients seen on a kernel's iopub, and the colour each is drawn in.

Pure: the transcript (`nbtui.app.kernel.model`) keeps them; the palette itself is
`nbtui.widgets.palette`'s.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection
from dataclasses import dataclass

from nbtui.app.kernel.messages import short_session

__all__ = ["PEER_COLOURS", "Peer", "peer_colour"]

PEER_COLOURS = 6
"""Colours in the peer palette (nbtui.widgets.palette makes them): more would be
closer to each other than a glance tells apart, on a light background."""


def peer_colour(username: str, session: str, taken: Collection[int] = ()) -> int:
    """The palette index of a client: from a hash of its name and session, so every nbtui
    on the kernel shows it in the same colour, whoever it saw first. Only when another
    client seen here already holds that colour does it take the next free one."""
    digest = hashlib.blake2s(f"{username}\0{session}".encode(), digest_size=4).digest()
    first = int.from_bytes(digest, "big") % PEER_COLOURS
    for step in range(PEER_COLOURS):
        index = (first + step) % PEER_COLOURS
        if index not in taken:
            return index
    return first


@dataclass(eq=False)
class Peer:
    """A client seen on iopub, keyed by its session id (usernames are neither unique nor
    authenticated)."""

    session: str
    username: str
    is_self: bool
    cells: int = 0
    last_activity: float = 0.0
    running: int = 0
    colour: int = 0
    """Its index in the peer palette: `peer_colour` at first sight, then kept."""

    @property
    def label(self) -> str:
        """`username@session`, as the transcript and the peers pane name it."""
        return f"{self.username}@{short_session(self.session)}"
