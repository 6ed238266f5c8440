"""One console's session on one kernel, without a UI: the client, the transcript model,
liveness and usage, and the notices and state they make.

The UI asks `drain()` what changed since its last frame and draws that; the session never
calls into it except through `on_change` ("something changed: draw a frame soon"). Time
comes from `clock`, and what must happen later (say the interrupt was ignored, stop
saying "restarted") is kept in `deadlines`, which the UI runs when they are due:
so every decision here is testable with a scripted client and a fake clock.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

from nbtui.app.kernel.cells import lexer_name
from nbtui.app.kernel.changes import SessionChanges
from nbtui.app.kernel.deadlines import Deadlines
from nbtui.app.kernel.deaths import DeathTelling
from nbtui.app.kernel.link_drops import LinkTelling
from nbtui.app.kernel.liveness import (
    TROUBLE,
    LivenessMonitor,
    LivenessSnapshot,
    LocalProcess,
    local_process,
)
from nbtui.app.kernel.lost_ends import end_passed, runs_one_at_a_time
from nbtui.app.kernel.model import Transcript
from nbtui.app.kernel.notices import liveness_notice, lost_end, memory_short
from nbtui.app.kernel.sanitize import sanitize_line
from nbtui.app.kernel.submit import CellSubmission, Verdict
from nbtui.app.kernel.transports.reconnect import Link, LinkKeeper
from nbtui.app.kernel.usage import UsagePoller, UsageSnapshot

if TYPE_CHECKING:
    from nbtui.app.kernel.client import KernelClient
    from nbtui.app.kernel.messages import Msg
    from nbtui.app.kernel.target import OwnedKernel

__all__ = ["KernelSession", "SessionChanges", "Verdict"]


def _nothing() -> None:
    pass


class KernelSession(CellSubmission, DeathTelling, LinkTelling):
    """A console's session on one kernel: what nbtui knows and says about it.

    Args:
        client: The kernel's client (attached or not yet).
        own_kernel: The kernel nbtui started (it may interrupt and restart it), if any.
        scrollback: Lines the transcript keeps.
        usage_interval: Seconds between usage probes while a cell runs.
        memory_threshold: Share of its memory limit at which the kernel is warned about.
        clock: `time.monotonic` or a test's fake clock.
    """

    STARTUP_GRACE = 3.0
    """Seconds after attach in which a "starting" status is the kernel's own start."""
    RESTARTED_SHOWN = 10.0
    """Seconds the status says "restarted" before it goes back to idle or busy."""
    QUIET_BEAT = 5.0
    """Seconds between heartbeats while no cell runs and the kernel answers (1 s while one
    runs): an idle nbtui should cost no more CPU than jupyter console, and each probe costs
    a millisecond or two; a kill -9 shows at once anyway (the socket monitor)."""
    QUIET_PROBE = 30.0
    """Seconds between control and usage probes while no cell runs (else 5 s)."""

    def __init__(
        self,
        client: KernelClient,
        *,
        own_kernel: OwnedKernel | None = None,
        scrollback: int = 50_000,
        usage_interval: float = 5.0,
        memory_threshold: float = 0.8,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.own_kernel = own_kernel
        self._restart_asked = False
        """The user asked for the restart under way: its notices were said already."""
        self.model = Transcript(client.session_id, max_lines=scrollback)
        """Everything the transcript shows."""
        self.usage_interval = usage_interval
        self.memory_threshold = memory_threshold
        self.clock = clock
        self.on_change: Callable[[], None] = _nothing
        """Called when something changed outside a drain (liveness, usage, a deadline):
        the UI draws a frame soon."""
        self.state = "starting"
        """idle, busy, restarted, or a liveness trouble (see `liveness.TROUBLE`)."""
        self.language = "python"
        """The Pygments lexer for the kernel's language."""
        self.kernel = ""
        """The kernel as kernel_info tells it: `python 3.11.0 (ipython 8.0.0)`."""
        self.base_count = 0
        """Execution counts up to this one are history: the prompt counts on from it."""
        self._earlier_kernel: set[str] | None = None
        """After a restart, the cells run in the kernel's earlier process: their counts
        are that process's, and the new one counts from 1 (None: no restart yet)."""
        self.liveness: LivenessSnapshot | None = None
        self.usage: UsageSnapshot | None = None
        self.monitor: LivenessMonitor | None = None
        self.poller: UsagePoller | None = None
        self.closing = False
        """Set when the console leaves: late answers are dropped."""
        self._changes = SessionChanges()
        self.deadlines = Deadlines(clock)
        """What is to happen later: the UI runs `run_due()` at `next_due()`."""
        self._tasks: set[asyncio.Task[Any]] = set()
        self._interrupted_cells: set[str] = set()
        """Our cells running when ctrl+c was pressed, until the interrupt is seen to take."""
        self._interrupted_input: Msg | None = None
        """The input_request whose prompt ctrl+c closed, until the interrupt is seen to take."""
        DeathTelling.__init__(self)
        LinkTelling.__init__(self)

    # -- attach and detach ---------------------------------------------------------------

    async def attach(self) -> None:
        """Attach the client unless it is already: raises NbtuiError when it cannot."""
        if not self.client.kernel_info:
            await self.client.attach()

    def attached(self) -> None:
        """The client is attached: say where we are, and read what kernel_info says."""
        client = self.client
        self.read_kernel_info()
        join = client.info.join_command()
        if self.own_kernel is not None:
            self.model.add_notice(f"started kernel {self.kernel}; others join with:  {join}")
        else:
            self.model.add_notice(f"attached to {self.kernel} as {client.username}; join: {join}")
        if client.info.exposure_notice:
            self.model.add_notice(client.info.exposure_notice, "warning")
        self.state = "idle"

    def read_kernel_info(self) -> None:
        """Take in what kernel_info says (at attach, and again after a restart)."""
        info = self.client.kernel_info
        language_info = info.get("language_info") or {}
        self.language = lexer_name(language_info)
        # Code in the kernel can rewrite its own kernel_info: untrusted like any output.
        name, version, implementation, impl_version = (
            sanitize_line(str(value))
            for value in (
                language_info.get("name", "?"),
                language_info.get("version", ""),
                info.get("implementation", ""),
                info.get("implementation_version", ""),
            )
        )
        kernel = f"{name} {version}".strip()
        if implementation:
            kernel += f" ({implementation} {impl_version})".rstrip()
        self.kernel = kernel
        self.model.side_by_side = not runs_one_at_a_time(info)
        self._changes.kernel_info = True

    @property
    def title(self) -> str:
        """The kernel spec and the kernel, for the status line."""
        spec = self.client.info.kernel_name
        return f"{spec} · {self.kernel}" if spec else self.kernel

    @property
    def source(self) -> str:
        """Where the kernel is, in a few words: its connection file, or server and id."""
        return self.client.info.label

    @property
    def transport(self) -> str:
        """How the kernel is reached, as the transport names itself."""
        return self.client.transport.kind

    def watch(
        self,
        monitor: Callable[[KernelSession], LivenessMonitor] | None = None,
        poller: Callable[[KernelSession], UsagePoller] | None = None,
        keeper: Callable[[KernelSession, Link], LinkKeeper] | None = None,
    ) -> None:
        """Start the liveness monitor, the usage poller and, for a transport with a
        link that can drop, its keeper (made by the given factories, or the usual ones)."""
        self.monitor = (monitor or _monitor)(self)
        self.client.on_kernel_event = self.monitor.kernel_event
        link: Link | None = getattr(self.client.transport, "link", None)
        if link is not None:
            self.monitor.link_check = lambda: link.up
        self.monitor.start()
        self.poller = (poller or _poller)(self)
        self.poller.start()
        if link is not None:
            self.keeper = (keeper or _keeper)(self, link)
            self.keeper.start()

    async def close(self) -> None:
        """Stop watching the kernel (the client's sockets are its owner's to close)."""
        self.closing = True
        for task in self._tasks:
            task.cancel()
        if self.keeper is not None:
            await self.keeper.stop()
        if self.monitor is not None:
            await self.monitor.stop()
        if self.poller is not None:
            await self.poller.stop()

    async def load_history(self) -> list[str]:
        """The kernel's input history, oldest first; cells from before we came become the
        transcript's catch-up."""
        numbered = await self.client.numbered_history()
        seen = {cell.execution_count for cell in self.model.cells.values()}
        earlier = [(count, code) for count, code in numbered if count not in seen]
        if self.model.add_catchup(earlier) is not None:
            self.on_change()
        self.base_count = max(self.base_count, max((c for c, _ in numbered), default=0))
        return [code for _, code in numbered]

    # -- what changed ----------------------------------------------------------------------

    @property
    def undrawn(self) -> bool:
        """Whether news of liveness, usage or kernel_info waits for the next `drain()`."""
        return bool(self._changes)

    def drain(self) -> SessionChanges:
        """Apply what the kernel sent since the last call; return everything that changed."""
        self._take_in()
        if self._lost_cells:
            self._pin_death()
        changes, self._changes = self._changes, SessionChanges()
        changes.peers = True
        changes.removed, changes.changed = self.model.take_changes()
        self._follow_cells()
        return changes

    def _take_in(self) -> None:
        """Apply the messages received so far to the model (input requests wait in the
        changes for the UI)."""
        messages = self.client.drain()
        order = self.client.iopub_order
        for msg in messages:
            if msg.channel == "iopub" and msg.msg_type == "status":
                order.heard(msg.parent_id)
            if msg.channel == "stdin" and msg.msg_type == "input_request":
                # A request that came in the same frame as its cell's end (an interrupt) is
                # already answered by the KeyboardInterrupt.
                if not self.client.replied(msg.parent_id):
                    self._changes.input_requests.append(msg)
                    self._interrupted_input = None
            elif (
                msg.channel == "iopub"
                and msg.msg_type == "status"
                and msg.content.get("execution_state") == "starting"
                # A kernel's own start may publish "starting" just after our attach
                # (iopub and control are not ordered): only later is it a restart.
                and msg.received > self.client.attached_at + self.STARTUP_GRACE
                and not self._restart_asked  # said already, as the user asked for it
            ):
                self.model.add_notice("the kernel (re)started", "warning")
        self.model.apply_all(messages)
        end_passed(self.model, order.through)
        for cell in self.model.take_lost_ends():
            self.model.add_notice(*lost_end(cell.execution_count, cell.is_self))

    def _follow_cells(self) -> None:
        """Idle or busy from the cells, unless the kernel is in trouble."""
        if self.state in TROUBLE:
            return
        cell = self.model.oldest_running()
        if self.monitor is not None and self.poller is not None:
            self.monitor.busy = self.poller.busy = cell is not None
        self.state = "busy" if cell is not None else "idle"

    @property
    def trouble(self) -> str | None:
        """What is wrong with the kernel, when something is (else None)."""
        if self.state not in TROUBLE:
            return None
        return self.liveness.detail if self.liveness else ""

    def next_count(self) -> int:
        """The execution count the next cell will probably get."""
        earlier = self._earlier_kernel or set()
        counts = [
            cell.execution_count
            for key, cell in self.model.cells.items()
            if cell.execution_count is not None and key not in earlier
        ]
        if self._earlier_kernel is not None:
            # The history and the editor's inputs are the earlier process's too.
            return max(counts, default=0) + 1
        # base_count too: inputs run while nbtui could not see them (history) count.
        return max([*counts, self.base_count]) + 1

    @property
    def last_iopub(self) -> float | None:
        """When the kernel last published anything (`clock` time)."""
        return self.client.last_iopub

    # -- liveness and usage ----------------------------------------------------------------

    def liveness_changed(self, snapshot: LivenessSnapshot) -> None:
        """The liveness monitor's news: notices on every change of state."""
        old = self.liveness
        previous = old.state if old else "alive"
        self.liveness = snapshot
        state = snapshot.state
        if state != previous:
            # What the kernel said before this news comes first: a cell that started
            # just before the kernel died is then known to have run.
            self._take_in()
            self._liveness_notice(snapshot, previous)
        if state != previous and state in ("dead", "restarted"):
            self._gone()
        if state == "alive" and previous != "alive":
            self.postmortem = None  # the pane said why it died until it is well again
            self._explained = False
        if state == "alive" and (self.state in TROUBLE or self.state == "restarted"):
            self.state = "idle"
        elif state != "alive":
            self.state = state
        self._follow_cells()
        self._changes.liveness = True
        if self._liveness_news(old, snapshot):
            self._changes.liveness_news = True
        self.on_change()

    def _liveness_notice(self, snapshot: LivenessSnapshot, previous: str) -> None:
        state = snapshot.state
        running = self.model.oldest_running()
        if state in ("dead", "restarting", "restarted"):
            self.model.mark_all_stopped()
        notice = liveness_notice(snapshot, previous, self.client.info)
        # A death is one the user did not ask for: a restart F9 asked for kills the old
        # kernel on purpose, and needs no post-mortem.
        died = not self._restart_asked and (
            state == "dead"
            or (state in ("restarting", "restarted") and previous not in ("dead", "restarting"))
        )
        # A restart the user asked for was said as it began: "restarting" again adds
        # nothing; its end ("restarted", or a death) is still told.
        if state == "restarting" and self._restart_asked:
            notice = None
        elif state != "restarting":
            self._restart_asked = False
        if notice is not None:
            self.model.add_notice(*notice)
        if died:
            self._explain_death(running)
        if state == "restarted":
            self._explained = False  # a new kernel: its own death is yet to come
            self._earlier_kernel = set(self.model.cells)
            self.read_kernel_info()
            self.deadlines.after(self.RESTARTED_SHOWN, self._acknowledge_restart)

    def _liveness_news(self, old: LivenessSnapshot | None, new: LivenessSnapshot) -> bool:
        """Whether the liveness pane redraws for `new`. While the monitor is settled (no cell
        runs, the kernel answers), a round trip that moved a little is not news: a redraw
        of the pane costs the compositor 2-3 ms, more than the heartbeat itself, and was
        half of a wide idle nbtui's CPU. The pane catches up with the next control probe."""
        if old is None or self.monitor is None or not self.monitor.settled:
            return True
        return dataclasses.replace(old, hb_rtt=None, hb_history=()) != dataclasses.replace(
            new, hb_rtt=None, hb_history=()
        )

    def _acknowledge_restart(self) -> None:
        if self.monitor is not None:
            self.monitor.acknowledge()

    def usage_changed(self, snapshot: UsageSnapshot) -> None:
        """The usage poller's news: warn once when memory runs short."""
        warned = self.usage is not None and self.usage.memory_warning
        self.usage = snapshot
        process = self.monitor.process if self.monitor is not None else None
        if isinstance(process, LocalProcess):
            process.learn(snapshot.pid, snapshot.hostname)
        if snapshot.memory_warning and not warned:
            self.model.add_notice(*memory_short(snapshot.memory_share, snapshot.memory_limit))
        self._follow_life(snapshot)
        self._changes.usage = True
        self.on_change()

    async def restart(self) -> None:
        """Restart the kernel nbtui started (the user confirmed it)."""
        if self.own_kernel is None:
            return
        self.model.add_notice("restarting the kernel (you asked)", "warning")
        self._restart_asked = True
        # Its manager's shutdown_reply is ours too: not "the kernel's owner asked".
        self.model.own_sessions.add(self.own_kernel.session_id)
        self.model.mark_all_stopped()
        self.on_change()
        try:
            await self.own_kernel.restart()
        except Exception as error:  # noqa: BLE001 - never a crash (its traceback shows locals)
            reason = " ".join(str(error).split()) or type(error).__name__
            self.model.add_notice(f"could not restart the kernel: {reason}", "error")
            self.on_change()

    def _spawn(self, work: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


def _monitor(session: KernelSession) -> LivenessMonitor:
    # Two answered beats are enough to call a kernel healthy: settling later kept a
    # fresh wide nbtui at the full pace (and its pane redraws) for its first seconds.
    return LivenessMonitor(
        session.client,
        on_change=session.liveness_changed,
        quiet_interval=session.QUIET_BEAT,
        quiet_control_interval=session.QUIET_PROBE,
        settle_after=2,
        process=local_process(session.client.info),
    )


def _poller(session: KernelSession) -> UsagePoller:
    return UsagePoller(
        session.client,
        interval=session.usage_interval,
        on_update=session.usage_changed,
        memory_threshold=session.memory_threshold,
        quiet_interval=max(session.usage_interval, session.QUIET_PROBE),
    )


def _keeper(session: KernelSession, link: Link) -> LinkKeeper:
    return LinkKeeper(
        link,
        on_lost=session.link_lost,
        on_retry=session.link_retry,
        on_restored=session.link_restored,
        clock=session.clock,
    )
