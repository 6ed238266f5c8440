"""Why the kernel died, told in the transcript and the liveness pane: the part of
`KernelSession` that keeps a `postmortem.Watch` on the kernel's process while it lives
and asks it for the cause once it died, and pins the death on the cell of ours it came
under. It lives here to keep each file readable, and uses the session's client, model,
state and changes.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

from nbtui.app.kernel.liveness_state import TROUBLE
from nbtui.app.kernel.notices import died_unanswered, died_under, postmortem, postmortem_pending
from nbtui.app.kernel.postmortem import Watch

if TYPE_CHECKING:
    from nbtui.app.kernel.changes import SessionChanges
    from nbtui.app.kernel.client import KernelClient
    from nbtui.app.kernel.deadlines import Deadlines
    from nbtui.app.kernel.entries import Cell, Notice
    from nbtui.app.kernel.liveness_state import LivenessSnapshot
    from nbtui.app.kernel.model import Transcript
    from nbtui.app.kernel.target import OwnedKernel
    from nbtui.app.kernel.usage import UsageSnapshot

__all__ = ["DeathTelling"]


class DeathTelling:
    """Watches the kernel's life and says, once per death, why it died."""

    EXIT_STATUS_WAIT = 1.0
    """Seconds a dead kernel of ours has to be reaped before its exit status is given up on
    (its sockets close as it exits, a hair before its parent can see the status)."""

    DEATH_WINDOW = 10.0
    """Seconds after the kernel's death in which our cell's late busy still pins it. Any
    busy that comes was published before the death, so a long window cannot mislead;
    1 s was too short on a loaded machine (the CI failure of test_os_exit_is_reported…)."""

    # The session's, declared for the type checker.
    client: KernelClient
    model: Transcript
    own_kernel: OwnedKernel | None
    state: str
    closing: bool
    clock: Callable[[], float]
    deadlines: Deadlines
    liveness: LivenessSnapshot | None
    on_change: Callable[[], None]
    _changes: SessionChanges

    def __init__(self) -> None:
        self.death_watch: Watch | None = None
        """Watches the kernel's process, once the usage poller names it, to tell why it
        died (`postmortem.Watch`); a remote kernel's keeps only the last figures."""
        self._watched_pid: int | None = None
        self._explained = False
        """This kernel's death was explained (or is being): once per life."""
        self.postmortem: str | None = None
        """Why the kernel last died, once known; the liveness pane shows it until the
        kernel is alive again."""
        self._lost_cells: list[str] = []
        """Our cells the kernel died under, until one is seen to have started."""

    def _spawn(self, work: Coroutine[Any, Any, Any]) -> None:
        raise NotImplementedError

    @property
    def idle_for(self) -> float | None:
        """Seconds since the kernel last ran anything we saw (since we attached, if
        nothing); None while a cell runs."""
        if self.model.oldest_running() is not None:
            return None
        finished = [cell.finished for cell in self.model.cells.values() if cell.finished]
        return max(0.0, self.clock() - max([*finished, self.client.attached_at]))

    def _follow_life(self, snapshot: UsageSnapshot) -> None:
        """Keep the figures the post-mortem tells, and watch a new local process (file
        reads, in a thread) as soon as the usage poller names it."""
        if self.state in TROUBLE or self.closing:
            return  # a reading taken as the kernel died says nothing of its life
        local = self.client.info.is_local
        pid = snapshot.pid
        if self.death_watch is None:
            self.death_watch = Watch(None, local=local)  # no process yet: no file read
        if local and pid is not None and pid != self._watched_pid:
            self._watched_pid = pid
            self._spawn(self._watch_process(pid))
        gpu = snapshot.gpu.kernel_memory if snapshot.gpu is not None else None
        self.death_watch.observe(
            memory=snapshot.kernel_memory, cpu=snapshot.kernel_cpu, gpu_memory=gpu
        )

    async def _watch_process(self, pid: int) -> None:
        log_path = getattr(self.own_kernel, "log_path", None)
        watch = await asyncio.to_thread(Watch, pid, log_path=log_path)
        if self.closing or pid != self._watched_pid or self._explained:
            return
        if self.death_watch is not None:
            watch.last = self.death_watch.last
        self.death_watch = watch

    def _explain_death(self, running: Cell | None) -> None:
        """Say why the kernel died, in one line under the death's notice: at once when
        only the last figures are known (a remote kernel), else in a line that says so
        and is reworded when the process's evidence is read (in a thread)."""
        if self._explained or self.closing:
            return
        self._explained = True
        watch = self.death_watch or Watch(None, local=self.client.info.is_local)
        if running is not None:
            watch.observe(running=running.code or "?", owner=running.username)
        else:
            watch.observe(running="")
        if watch.pid is None and self.own_kernel is None:
            self._tell_cause(watch.cause(), None)  # no process was ever seen: nothing to read
            return
        notice = self.model.add_notice(*postmortem_pending())
        self._spawn(self._find_cause(watch, notice))

    async def _find_cause(self, watch: Watch, notice: Notice) -> None:
        status = None
        exit_status = getattr(self.own_kernel, "exit_status", None)
        if callable(exit_status):
            end = time.monotonic() + self.EXIT_STATUS_WAIT
            while (status := exit_status()) is None and time.monotonic() < end:
                await asyncio.sleep(0.02)
        try:
            cause = await asyncio.to_thread(watch.cause, status)
        except Exception as error:  # noqa: BLE001 - a post-mortem never takes nbtui down
            cause = f"cause unknown (the evidence could not be read: {error})"
        if not self.closing:
            self._tell_cause(cause, notice)

    def _gone(self) -> None:
        """A dead or restarted kernel answers nothing we sent before: stop waiting."""
        given_up = self.client.abandon_replies()
        self._changes.close_input = True
        if self.liveness is not None and self.liveness.state == "dead":
            # The cell's own busy may still be on its way (iopub has its own reader, and
            # the link's loss is seen at once): it has a little while to arrive.
            self._lost_cells = given_up
            self.deadlines.after(self.DEATH_WINDOW, self._death_unpinned)
            self._pin_death()

    def _pin_death(self) -> None:
        """Say the kernel died under our cell, once one of those given up is seen to
        have started: whatever the cause, it happened while that ran."""
        cells = [self.model.cells.get(key) for key in self._lost_cells]
        started = [cell for cell in cells if cell is not None and cell.started is not None]
        if started:
            self._lost_cells.clear()
            self.model.add_notice(*died_under(started[0].execution_count))

    def _death_unpinned(self) -> None:
        """No busy came for our cell: the kernel may have died before it said the cell
        started (os._exit() can beat ipykernel's iopub thread). Say what is known."""
        if self._lost_cells:
            self._lost_cells = []
            self.model.add_notice(*died_unanswered())
            self.on_change()

    def _tell_cause(self, cause: str, notice: Notice | None) -> None:
        text, level = postmortem(cause)
        if notice is None:
            self.model.add_notice(text, level)
        else:
            self.model.reword(notice, text, level)
        self.postmortem = cause
        self._changes.liveness = self._changes.liveness_news = True
        self.on_change()
