"""The console's watch on a running kernel: the variables pane and its poller, the
queue's marks in the transcript, and the notifications when a long cell ends.

`KernelWatch` is the console screen's helper: the screen calls it once per frame with
what changed (`frame`), on each tick while something runs (`tick`), and for F3; it
owns the poller (started only while the pane shows: closed, it costs nothing) and the
notifier.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING

from nbtui.app.kernel.queue import CellEnds, waiting_cells
from nbtui.app.notify import Notice, Notifier, NotifyPolicy, app_writer
from nbtui.app.present import waiting_text
from nbtui.widgets.variables_pane import VariablesPane

if TYPE_CHECKING:
    from textual.screen import Screen
    from textual.widget import Widget

    from nbtui.app.kernel.changes import SessionChanges
    from nbtui.app.kernel.entries import Cell
    from nbtui.app.kernel.session import KernelSession
    from nbtui.app.kernel.variables import VariableRow, VariablesPoller, VariablesSnapshot
    from nbtui.widgets.transcript import TranscriptView

__all__ = ["KernelWatch"]

_RESTARTS = ("restarting", "restarted")


class KernelWatch:
    """The variables pane's poller, the queue's marks and the notifications of one
    console.

    Args:
        screen: The console screen (its widgets, timers, workers and toasts).
        session: The kernel session the screen shows.
        variables_interval: Seconds between variable readings while a cell runs; 0:
            only when cells end.
        notify_after: Seconds a cell must run to be announced when it ends; 0: no
            notifications at all.
        env: The environment the terminal is told from (`os.environ`).
    """

    def __init__(
        self,
        screen: Screen[None],
        session: KernelSession,
        *,
        variables_interval: float = 2.0,
        notify_after: float = 10.0,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.screen = screen
        self.session = session
        self.variables_interval = variables_interval
        self.poller: VariablesPoller | None = None
        """Reads the variables while the pane shows; None while it is closed."""
        self.notifier = Notifier(
            app_writer(screen.app),
            os.environ if env is None else env,
            NotifyPolicy(notify_after),
        )
        self._ends = CellEnds()
        self._liveness = "alive"
        self._kernel_events = 0
        self._focus_before: Widget | None = None
        self._queued_since: dict[str, float] = {}
        """When each queued cell was first seen queued."""

    # -- the variables pane ----------------------------------------------------------------

    @property
    def pane(self) -> VariablesPane:
        """The variables pane."""
        return self.screen.query_one(VariablesPane)

    @property
    def shown(self) -> bool:
        """Whether the variables pane is on the screen (it is mounted after the first
        frame: until then, not)."""
        panes = self.screen.query(VariablesPane)
        return bool(panes) and panes.first().has_class("-shown")

    def toggle(self, wide: bool, editor: Widget) -> None:
        """Open the pane (and read now) or close it (and stop reading); F3."""
        self.place(not self.shown, wide, editor)

    def place(self, shown: bool, wide: bool, editor: Widget) -> None:
        """Show the pane beside the transcript (`wide`) or over it, or hide it."""
        pane = self.pane
        was_shown = self.shown
        pane.set_class(shown, "-shown")
        pane.set_class(shown and not wide, "-overlay")
        if shown and not was_shown:
            self._focus_before = self.screen.focused
            self._start()
            if pane.table.display:
                pane.table.focus()
        elif not shown and was_shown:
            self._stop()
            if pane.has_focus_within or self.screen.focused is None:
                before, self._focus_before = self._focus_before, None
                if before is not None and before.is_attached and before.focusable:
                    before.focus()
                else:
                    editor.focus()

    def _start(self) -> None:
        if self.poller is not None:
            return
        from nbtui.app.kernel.variables import VariablesPoller  # noqa: PLC0415 - startup

        poller = VariablesPoller(self.session.client, self.variables_interval, on_update=self._read)
        poller.busy = self.session.model.busy
        self.poller = poller
        poller.start()

    def _stop(self) -> None:
        poller, self.poller = self.poller, None
        if poller is not None:
            self.screen.run_worker(poller.stop(), group="variables")

    async def stop(self) -> None:
        """Stop reading (the console leaves)."""
        poller, self.poller = self.poller, None
        if poller is not None:
            await poller.stop()

    def _read(self, snapshot: VariablesSnapshot) -> None:
        if self.poller is not None and not self.session.closing:
            self.pane.update(snapshot, self.variables_interval)

    def show_value(self, row: VariableRow) -> None:
        """Ask the kernel for `row`'s whole value and show it (richInspectVariables)."""
        probe = self.poller.probe if self.poller is not None else None
        if probe is None:
            return

        async def fetch() -> None:
            from nbtui.app.screens.variable_value import VariableValueScreen  # noqa: PLC0415 - startup

            value = await probe.rich(row.name)
            if not self.session.closing:
                self.screen.app.push_screen(VariableValueScreen(row, value))

        self.screen.run_worker(fetch(), group="variable-value", exclusive=True)

    # -- each frame ------------------------------------------------------------------------

    def frame(self, changes: SessionChanges, transcript: TranscriptView) -> None:
        """Take in a frame's changes: cells that ended (a reading, a notification), the
        queue's marks, the kernel's death or restart, memory running short."""
        session = self.session
        ended = self._ends.ended(changes.changed)
        if self.poller is not None:
            self.poller.busy = session.model.busy
            if ended:
                self.poller.refresh()
        if session.state in ("idle", "busy"):
            for cell in ended:
                self._cell_ended(cell)
        if changes.liveness and session.liveness is not None:
            self._liveness_changed(session.liveness.state)
        if changes.usage and session.usage is not None:
            usage = session.usage
            self._say(self.notifier.policy.memory(usage.memory_warning, usage.memory_share))
        self.mark_waiting(transcript)

    def tick(self, transcript: TranscriptView) -> None:
        """A second passed while something runs: the queue's marks say for how long."""
        self.mark_waiting(transcript)

    def mark_waiting(self, transcript: TranscriptView) -> None:
        """Put what each queued cell waits behind in its transcript line."""
        now = time.monotonic()
        queue = waiting_cells(self.session.model)
        since = self._queued_since
        self._queued_since = {entry.cell.key: since.get(entry.cell.key, now) for entry in queue}
        waiting = {
            entry.cell.key: (entry.cell, waiting_text(entry, now))
            for entry in queue
            # Not for the moment between sending and the kernel's busy: only behind a
            # cell that runs, or after a second unstarted.
            if entry.behind is not None or now - self._queued_since[entry.cell.key] >= 1.0
        }
        notes = {key: text for key, (_, text) in waiting.items()}
        if notes == transcript.waiting:
            return
        changed: list[Cell] = [cell for cell, _ in waiting.values()]
        changed += [
            cell
            for key in transcript.waiting
            if key not in notes and (cell := self.session.model.cells.get(key)) is not None
        ]
        transcript.waiting = notes
        transcript.update_entries(self.session.model.entries, [], changed)

    def typed(self) -> None:
        """The user typed: no notification this second (they are looking)."""
        self.notifier.policy.typed()

    # -- notifications ---------------------------------------------------------------------

    def _cell_ended(self, cell: Cell) -> None:
        if cell.started is None or cell.finished is None:
            return
        count = cell.execution_count
        notice = self.notifier.policy.cell_ended(
            cell.key,
            cell.finished - cell.started,
            failed=cell.state == "error",
            who="you" if cell.is_self else cell.username,
            label=f"In [{count}]" if count is not None else "a cell",
        )
        self._say(notice, "error" if cell.state == "error" else "information")

    def _liveness_changed(self, state: str) -> None:
        previous, self._liveness = self._liveness, state
        if state == previous:
            return
        if state == "dead":
            self._kernel_events += 1
            self._say(self.notifier.policy.kernel_event("dead", str(self._kernel_events)), "error")
        elif state in _RESTARTS and previous not in _RESTARTS:
            self._kernel_events += 1
            notice = self.notifier.policy.kernel_event("restarting", str(self._kernel_events))
            self._say(notice, "warning")

    def _say(self, notice: Notice | None, severity: str = "warning") -> None:
        """One notice: the terminal's notification and a toast."""
        if notice is None:
            return
        self.notifier.emit(notice)
        level = severity if severity in ("information", "warning", "error") else "warning"
        self.screen.notify(notice.body, title="nbtui", severity=level, timeout=8)  # type: ignore[arg-type]
