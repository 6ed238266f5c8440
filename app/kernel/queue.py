"""The kernel's queue as one client can see it: whose cell runs, which of ours wait behind
it, and which cells (anyone's) ended since the last look.

A kernel runs one execute request at a time, in the order its shell received them. It
publishes nothing for a request until it starts it (busy, execute_input): measured on
ipykernel 7.4 with three clients, a peer's cell sent during another's 2 s sleep showed
on iopub only when that sleep ended. So the cells seen waiting are our own (sent, no busy
yet); another client's waiting cell is invisible until it runs, to every client. What
each waits behind is the cell running now, whoever's.

Pure: fed the transcript model, no sockets, no clock of its own.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from nbtui.app.kernel.entries import Cell

if TYPE_CHECKING:
    from nbtui.app.kernel.model import Entry, Transcript

__all__ = ["SCAN", "CellEnds", "Waiting", "running_now", "waiting_cells"]


@dataclass(frozen=True)
class Waiting:
    """One of our cells sent and not started yet."""

    cell: Cell
    place: int
    """1 for the next to run, 2 behind that one, and so on."""
    behind: Cell | None
    """The cell running now (anyone's), None when none is seen running (the kernel has
    not said it started ours yet, or runs something from before we joined)."""


def running_now(model: Transcript) -> Cell | None:
    """The cell the kernel is running: the latest to start of those between busy and
    idle (one whose idle was lost would otherwise be named for ever)."""
    if not model.running:
        return None
    return max(model.running.values(), key=lambda cell: cell.started or 0.0)


SCAN = 200
"""Cells looked at from the newest back when finding ours that wait. Each frame asks,
and a long session holds thousands of cells (a full scan of 10,000 took 1 ms). Ours are
added when sent, others' when they start; so a cell of ours that still waits can only be
followed by cells that started after it was sent and ran ahead of it: a handful."""


def waiting_cells(model: Transcript) -> list[Waiting]:
    """Our cells that wait their turn, next to run first.

    A peer's cell in the state "queued" is one whose output came before its busy was
    seen (it started before we joined): it runs, it does not wait.
    """
    queued: list[Cell] = []
    for cell in itertools.islice(reversed(model.cells.values()), SCAN):
        if not cell.is_self:
            continue
        if cell.state != "queued" or cell.started is not None:
            break  # ours run in the order sent: the ones before this have all started
        queued.append(cell)
    if not queued:
        return []
    behind = running_now(model)
    return [Waiting(cell, place, behind) for place, cell in enumerate(reversed(queued), start=1)]


class CellEnds:
    """Which cells ended since the last call, anyone's, each told once.

    Fed the entries each frame changed (`SessionChanges.changed`): a cell that starts and
    ends between two frames is still seen to end.
    """

    _FORGET = 10_000
    """Keys kept of cells told about; past this the set starts again (a cell is told
    when it ends, and ends once)."""

    def __init__(self) -> None:
        self._told: set[str] = set()

    def ended(self, changed: Iterable[Entry]) -> list[Cell]:
        """The cells among `changed` that have ended and were not told before."""
        ends: list[Cell] = []
        for entry in changed:
            if (
                isinstance(entry, Cell)
                and entry.finished is not None
                and entry.state not in ("queued", "running")
                and entry.key not in self._told
            ):
                if len(self._told) >= self._FORGET:
                    self._told.clear()
                self._told.add(entry.key)
                ends.append(entry)
        return ends
