"""Cells whose end iopub lost.

Only iopub says that a cell ended (its idle), and iopub can lose it: a kernel's PUB
socket drops messages for a client that falls behind (../shared/PROTOCOL.md: a reader
stalled during 20,000 flushed prints never got the idle), and a link made again after a
drop reconnects iopub on a timer of its own, often after shell. A cell whose idle is lost
would show running for good, and the kernel busy with it. Two facts end such a cell, and
neither is a timeout, which a long cell or a slow link would trip:

- ipykernel runs one cell at a time, so when the next cell's busy comes, every cell
  still running before it has ended (`UnheardEnds.side_by_side`: not for a kernel that may
  run cells side by side, in subshells or as an async kernel does);
- a kernel publishes a cell's idle just after it sends the cell's execute_reply, so once
  iopub delivers the busy or idle of a request of ours sent well after that reply came,
  the idle, had it been sent to us, came before it (`IopubOrder`, `end_passed`).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from nbtui.app.kernel.entries import Cell, CellState
    from nbtui.app.kernel.model import Transcript
    from nbtui.app.kernel.peers import Peer

__all__ = ["LATER", "IopubOrder", "UnheardEnds", "end_passed", "runs_one_at_a_time"]

LATER = 1.0
"""Seconds after a cell's reply came that a request must have been sent for its busy or
idle to prove the cell's idle lost. The kernel publishes the idle right after sending the
reply (microseconds); a second allows for a kernel thread that was not scheduled."""


class IopubOrder:
    """How far iopub has delivered: the send time of the latest request of ours (a probe,
    a history or completion request) whose busy or idle came through it."""

    KEPT = 64
    """Requests remembered at most: a kernel that publishes no status for some requests
    must not make this grow."""

    def __init__(self) -> None:
        self._sent: dict[str, float] = {}
        self.through = 0.0
        """`time.monotonic()` when the latest request heard on iopub was sent; 0 before."""

    def sent(self, msg_id: str) -> None:
        """A request of ours went out now."""
        self._sent[msg_id] = time.monotonic()
        if len(self._sent) > self.KEPT:
            del self._sent[next(iter(self._sent))]

    def heard(self, parent_id: str) -> None:
        """A busy or idle for request `parent_id` came through iopub."""
        at = self._sent.pop(parent_id, None)
        if at is not None and at > self.through:
            self.through = at


def runs_one_at_a_time(kernel_info: dict[str, Any]) -> bool:
    """Whether this kernel is known to run one cell at a time: ipykernel, unless it
    offers subshells (JEP 91), whose cells run side by side."""
    features = kernel_info.get("supported_features")
    subshells = isinstance(features, list) and "kernel subshells" in features
    return kernel_info.get("implementation") == "ipython" and not subshells


def end_passed(model: Transcript, through: float) -> None:
    """End our replied cells that iopub has passed (`IopubOrder.through`) without their
    idle (`UnheardEnds.take_lost_ends` returns them)."""
    for key, replied in list(model.replied.items()):
        if through >= replied + LATER:
            model.end_lost(key)


class UnheardEnds:
    """The transcript's part that ends cells whose end was not heard: lost by iopub, run
    out during a dropped link, or cut off by the kernel's death. It lives here to keep
    each file readable, and uses the transcript's cells, peers and running cells."""

    # The transcript's, declared for the type checker.
    cells: dict[str, Cell]
    peers: dict[str, Peer]
    running: dict[str, Cell]

    def __init__(self) -> None:
        self.replied: dict[str, float] = {}
        """Our cells whose execute_reply came and whose idle has not, by msg_id: when the
        reply came (`end_passed`)."""
        self.side_by_side = True
        """The kernel may run cells side by side (subshells, an async kernel): another
        cell's busy does not end a running one. Until kernel_info says it is ipykernel
        without subshells, which runs one at a time (`runs_one_at_a_time`)."""
        self._lost_ends: list[Cell] = []

    def _touch(self, entry: Cell) -> None:
        raise NotImplementedError

    def end_unseen(self, keys: Iterable[str]) -> list[Cell]:
        """These cells ended while nbtui could not hear it (a dropped link): no longer
        running, how they ended unknown. Returns those that were still running."""
        return [cell for key in keys if key in self.running and (cell := self._end(key))]

    def end_lost(self, key: str) -> None:
        """This cell ended and iopub lost its idle (`lost_ends`): it is no longer running,
        and ended as its reply said (else "ok"). `take_lost_ends` returns it."""
        cell = self._end(key)
        if cell is not None:
            self._lost_ends.append(cell)

    def _end(self, key: str) -> Cell | None:
        self.replied.pop(key, None)
        cell = self.running.pop(key, None)
        if cell is not None:
            peer = self.peers.get(cell.session)
            if peer is not None:
                peer.running = max(0, peer.running - 1)
        else:
            cell = self.cells.get(key)
        if cell is None or cell.finished is not None:
            return None
        if cell.state in ("queued", "running"):
            cell.state = "ok"
        cell.finished = time.monotonic()
        self._touch(cell)
        return cell

    def take_lost_ends(self) -> list[Cell]:
        """The cells `end_lost` ended since the last call."""
        lost, self._lost_ends = self._lost_ends, []
        return lost

    def mark_all_stopped(self, state: CellState = "aborted") -> None:
        """The kernel died or restarted: nothing is running any more, and nothing sent
        and still waiting its turn will run either."""
        now = time.monotonic()
        waiting = [cell for cell in self.cells.values() if cell.state == "queued"]
        for cell in [*self.running.values(), *waiting]:
            cell.state = state
            cell.finished = now
            self._touch(cell)
        self.running.clear()
        self.replied.clear()
        for peer in self.peers.values():
            peer.running = 0
