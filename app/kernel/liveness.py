"""Is the kernel alive, responsive, stopped, dead, or back after a restart?

Three probes, each answering a different question:

- The heartbeat (a REQ echo served by its own thread in the kernel) proves the process
  is there, also while a cell runs; its round trip is kept as a short history.
- The transport's link watch (`LinkWatch`: over ZeroMQ, a socket monitor on a quiet
  heartbeat socket) sees a `kill -9` within milliseconds (the TCP connection drops); a
  ping with a 100 ms timeout then confirms it. Without a watch (a Jupyter Server's
  WebSocket), only the periodic pings tell, after `dead_after` misses.
- A periodic `kernel_info_request` on the control channel proves the kernel answers
  requests; its latency is responsiveness. Control answers in about a millisecond even
  while the shell runs a cell, so a slow answer means a stuck kernel, not a busy one.

Busy and idle are the transcript model's (per execute request); it ignores these probes.

Quiet when idle: between probes nothing runs; the watch task sleeps in `next_event`. With
`quiet_interval` (and `quiet_control_interval`), a kernel that has answered `settle_after`
pings in a row while no cell runs is probed less often until something happens (a miss, a
disconnect, a state change, `busy`): each probe costs the client one to two milliseconds of
CPU (measured in bench/), and at one a second that alone was more than an idle `jupyter
console` spends. A `kill -9` is seen by the link watch whatever the pace; a kernel
that stops answering without dropping its connections (SIGSTOP, a lost network) takes
`dead_after` quiet intervals to be noticed.

The states and the snapshot are in :mod:`nbtui.app.kernel.liveness_state` (re-exported
here); what a silence, a reply or a comeback means, in `liveness_evidence`; what the link
watch and a dropped link (a tunnel, a WebSocket) do to the probes, in `liveness_link`.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Callable
from types import MappingProxyType
from typing import Any

from nbtui.app.kernel import liveness_evidence as evidence
from nbtui.app.kernel.liveness_link import LinkFollowing
from nbtui.app.kernel.liveness_state import TROUBLE, LivenessSnapshot, LivenessState, ProbedClient
from nbtui.app.kernel.pacing import log_error, sleep_paced, stop_tasks, supervised
from nbtui.app.kernel.process import LocalProcess, ProcessCheck, ProcessWatch, local_process
from nbtui.app.kernel.transports import LinkWatch, TransportClosed

__all__ = [
    "TROUBLE",
    "LivenessMonitor",
    "LivenessSnapshot",
    "LivenessState",
    "LocalProcess",
    "ProbedClient",
    "ProcessCheck",
    "ProcessWatch",
    "local_process",
]


class LivenessMonitor(LinkFollowing):
    """Watches one kernel and reports every change through `on_change`.

    Args:
        client: The kernel client (`KernelClient`, or anything with its probes).
        interval: Seconds between heartbeat pings.
        control_interval: Seconds between control `kernel_info_request` probes.
        on_change: Called with a new snapshot after every probe that changed something
            (state, round trip, misses, latency, kernel_info). Runs in the event loop.
        ping_timeout: How long a periodic ping waits for its echo.
        confirm_timeout: How long the ping that confirms a disconnect waits.
        control_timeout: How long the control probe waits before "unresponsive".
        dead_after: Consecutive missed periodic pings after which the silence is judged:
            "dead" with evidence, else "stopped" or "unresponsive" (when no link watch
            saw the disconnect first).
        restarted_hold: Seconds "restarted" stays before it becomes "alive" by itself.
        history: How many round trips the history keeps.
        quiet_interval: Seconds between pings once settled; None: always `interval`.
        quiet_control_interval: Seconds between control probes once settled; None:
            always `control_interval`.
        settle_after: Answered pings in a row, while alive, that make the monitor settled.
        process: Looks at the kernel's process (`local_process`): the evidence that tells
            a stopped or hung kernel from a dead one. None: no process to look at.
        presume_dead_after: Seconds of heartbeat silence after which a kernel whose
            process cannot be looked at is "lost": presumed dead, not known to be.
    """

    def __init__(
        self,
        client: ProbedClient,
        interval: float = 1.0,
        control_interval: float = 5.0,
        on_change: Callable[[LivenessSnapshot], None] | None = None,
        *,
        ping_timeout: float = 0.5,
        confirm_timeout: float = 0.1,
        control_timeout: float = 2.0,
        dead_after: int = 2,
        restarted_hold: float = 10.0,
        history: int = 60,
        quiet_interval: float | None = None,
        quiet_control_interval: float | None = None,
        settle_after: int = 5,
        process: ProcessWatch | None = None,
        presume_dead_after: float = 60.0,
    ) -> None:
        self.client = client
        self.interval = interval
        self.control_interval = control_interval
        self.on_change = on_change
        self.on_error: Callable[[BaseException], None] = log_error
        """Told of an exception that ended a probe loop; the loop then runs again."""
        self.ping_timeout = ping_timeout
        self.confirm_timeout = confirm_timeout
        self.control_timeout = control_timeout
        self.dead_after = dead_after
        self.restarted_hold = restarted_hold
        self.quiet_interval = quiet_interval
        self.quiet_control_interval = quiet_control_interval
        self.settle_after = settle_after
        self.process = process
        self.presume_dead_after = presume_dead_after
        self._busy = False
        self._control_wake = asyncio.Event()
        self._answered = 0
        """Pings answered in a row while alive: `settle_after` of them make it settled."""
        self._history: deque[float] = deque(maxlen=history)
        self._snapshot = LivenessSnapshot(
            state="alive",
            since=time.monotonic(),
            kernel_info=MappingProxyType(dict(client.kernel_info)),
        )
        self._consecutive = 0
        self._suspect = False
        """A disconnect was seen and not yet confirmed or refuted."""
        self._wake = asyncio.Event()
        self._stopping = False
        self._ping_task: asyncio.Task[float | None] | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._watch_link: LinkWatch | None = None
        self.disconnected_at: float | None = None
        """`time.monotonic()` of the last disconnect the link watch saw."""
        self.hb_connected = False
        """The link watch's view: a connection to the heartbeat port is up."""
        self._kernel_session = str(getattr(client, "kernel_session", ""))
        """The header session of the kernel's last kernel_info_reply: a new process has
        a new one, which tells a restarted kernel from the one that is going away."""
        self._leaving = ""
        """The session of a kernel said to be restarting: its answers do not count."""
        self._hb_silent = False
        """The heartbeat went silent (or the kernel's manager said it is going away): the
        state says why; an answer means the kernel is back, and the control probe rests."""
        self._last_answer = time.monotonic()
        """`time.monotonic()` of the last answered ping (the start before the first)."""
        self.link_check: Callable[[], bool] | None = None
        """Whether the link to the kernel (a tunnel) is there, for a client that has one:
        a silence while it is not is the link's, never the kernel's death."""
        self._link_down = False
        """The link dropped and is being restored (`link_lost`): nothing is judged."""

    @property
    def snapshot(self) -> LivenessSnapshot:
        """The latest snapshot."""
        return self._snapshot

    @property
    def busy(self) -> bool:
        """Set by whoever knows (the app's transcript): a cell runs, probe at full pace."""
        return self._busy

    @busy.setter
    def busy(self, busy: bool) -> None:
        if busy and not self._busy and self.settled:
            # Probes asleep for a quiet interval take up the full pace: a ping at once (the
            # kernel's heartbeat thread needs no GIL), the control probe within its interval.
            self._wake.set()
            self._control_wake.set()
        self._busy = busy

    @property
    def settled(self) -> bool:
        """Idle and answering: the quiet intervals apply."""
        return not self._busy and self._answered >= self.settle_after

    @property
    def pace(self) -> float:
        """Seconds until the next periodic ping."""
        if self.quiet_interval is None or not self.settled:
            return self.interval
        return self.quiet_interval

    @property
    def control_pace(self) -> float:
        """Seconds until the next control probe."""
        if self.quiet_control_interval is None or not self.settled:
            return self.control_interval
        return self.quiet_control_interval

    @property
    def running(self) -> bool:
        """Whether any probe still runs."""
        return any(not task.done() for task in self._tasks)

    # -- life cycle ------------------------------------------------------------------------

    def start(self) -> None:
        """Start probing; needs a running event loop. Calling it twice does nothing."""
        if self._tasks:
            return
        self._stopping = False
        self._watch_link = self.client.watch_link()
        self._tasks = [
            asyncio.create_task(supervised(self._ping_loop, self._failed), name="nbtui-heartbeat"),
            asyncio.create_task(
                supervised(self._control_loop, self._failed), name="nbtui-control-probe"
            ),
        ]
        if self._watch_link is not None:
            self._tasks.append(
                asyncio.create_task(self._watch(self._watch_link), name="nbtui-hb-monitor")
            )

    def _failed(self, error: BaseException) -> None:
        self.on_error(error)  # looked up now: the app may set it after start()

    async def stop(self) -> None:
        """Stop every probe; never touches the kernel."""
        tasks, self._tasks = self._tasks, []
        self._stopping = True
        await stop_tasks(tasks)
        if self._watch_link is not None:
            self._watch_link.close()
        self._watch_link = None

    def kernel_event(self, event: str) -> None:
        """Whoever manages the kernel says it is "restarting" or "dead": a Jupyter
        Server's status messages, or a restart another client asked the server for.
        Over a server these are the only word on the kernel's life: the WebSocket's
        ping proves the server, not the kernel."""
        self._hb_silent = True
        if event == "dead":
            self._update(
                state="dead", control_latency=None, detail="its manager gave up restarting it"
            )
            return
        self._leaving = self._kernel_session or str(getattr(self.client, "kernel_session", ""))
        if self._snapshot.state != "dead":
            self._update(state="restarting", control_latency=None, detail="")
        self._wake.set()

    def acknowledge(self) -> None:
        """The app has told the user about the restart: "restarted" becomes "alive"."""
        if self._snapshot.state == "restarted":
            self._update(state="alive", detail="")

    # -- state -----------------------------------------------------------------------------

    def _update(self, **changes: Any) -> None:
        new = self._snapshot.changed(**changes)
        if new is None:
            return
        self._snapshot = new
        if self.on_change is not None:
            self.on_change(new)

    # -- heartbeat -------------------------------------------------------------------------

    async def _ping(self, timeout: float) -> tuple[float | None, bool]:
        """A ping that the link watch may cancel.

        Returns:
            The round trip (None for no answer) and whether the link watch cancelled it.
        """
        task = asyncio.create_task(self.client.ping(timeout))
        self._ping_task = task
        try:
            await asyncio.wait({task})
        finally:
            self._ping_task = None
            if not task.done():
                task.cancel()
        if task.cancelled():
            return None, True
        return task.result(), False

    async def _ping_loop(self) -> None:
        if self.process is not None:
            # Meet the process while the kernel answers: after a death, "process 4242 is
            # gone" is the evidence, and a stranger who takes the port over is no kernel.
            await asyncio.to_thread(self.process.check)
        while not self._stopping:
            try:
                await self._beat()
            except TransportClosed:
                return  # the client was closed under us
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.pace)
            self._wake.clear()

    async def _beat(self) -> None:
        if self._link_down:
            return  # nothing to ping through until the link is back
        state = self._snapshot.state
        suspect = self._suspect
        timeout = self.confirm_timeout if suspect else self.ping_timeout
        rtt, cancelled = await self._ping(timeout)
        if cancelled:
            self._answered = 0
            return  # the link watch saw a disconnect and woke the loop to confirm it
        if suspect:
            self._suspect = False
        if rtt is None or suspect or state != "alive":
            self._answered = 0
        else:
            self._answered += 1
        if rtt is None:
            self._consecutive += 1
            if not self._link_ok():
                return  # the link dropped, not the kernel: its keeper says so
            if state in ("dead", "lost"):
                return  # still gone: nothing new to say
            if state == "restarting":
                self._restart_overdue()
                return
            self._update(hb_rtt=None, misses=self._snapshot.misses + 1)
            if suspect:
                # The connection dropped and nothing answers on it: the kernel closed its
                # sockets, which it does only by exiting.
                problem = str(getattr(self.client, "link_problem", ""))
                self._silent("dead", problem or "it closed its connections")
            elif self._consecutive >= self.dead_after:
                await self._judge_silence()
            return
        self._consecutive = 0
        self._last_answer = time.monotonic()
        self._history.append(rtt)
        self._update(hb_rtt=rtt, hb_history=tuple(self._history))
        if self._hb_silent:
            await self._came_back(state)
        elif (
            state == "restarted" and time.monotonic() - self._snapshot.since >= self.restarted_hold
        ):
            self._update(state="alive", detail="")

    def _silent(self, state: LivenessState, detail: str) -> None:
        self._hb_silent = True
        self._update(state=state, control_latency=None, detail=detail)

    async def _judge_silence(self) -> None:
        """The heartbeat has missed `dead_after` pings: say what is known, no more ("dead"
        needs evidence: a broken link here, else `silence_verdict`)."""
        if not self._link_ok():
            return
        problem = str(getattr(self.client, "link_problem", ""))
        if problem:
            self._silent("dead", problem)
            return
        check = ProcessCheck("unknown")
        if self.process is not None:
            check = await asyncio.to_thread(self.process.check)
        if self._stopping:
            return
        silent_for = time.monotonic() - self._last_answer
        self._silent(*evidence.silence_verdict(check, silent_for, self.presume_dead_after))

    def _restart_overdue(self) -> None:
        """Still silent `presume_dead_after` s after its manager said "restarting": lost."""
        if time.monotonic() - self._snapshot.since >= self.presume_dead_after:
            wait = f"{self.presume_dead_after:g} s"
            self._silent("lost", f"not back {wait} after a restart: presumed dead")

    async def _came_back(self, previous: LivenessState) -> None:
        """The heartbeat answers again after a silence: the same kernel resumed (a stopped
        process continued, a network came back), or a restart on the same ports."""
        known = self._kernel_session
        answer = await evidence.ask_who_answers(
            self.client, lambda: self._leaving, max(self.control_timeout, 5.0)
        )
        info = answer.info
        if info is not None:
            self._kernel_session = answer.session
            iopub_ready = getattr(self.client, "iopub_ready", None)
            if iopub_ready is not None:
                # Until iopub is through, a cell's output and its end would be lost, and
                # its reply would not: it would stay running for good. A server subscribes
                # to a restarted kernel's iopub only now; after a dropped link or network,
                # each socket reconnects on its own timer, iopub often after shell.
                await iopub_ready(answer.parent_id, tries=10)
        if info is None and self._leaving:
            if answer.old_answered:
                # The same kernel answered throughout: nothing restarted after all.
                self._leaving = ""
                self._hb_silent = False
                self._update(state="alive", detail="")
            # Else the new kernel is still starting: the next beat asks again.
            return
        self._leaving = ""
        self._hb_silent = False
        changes = evidence.comeback_changes(answer, known, previous, self._snapshot.restarts)
        if changes["state"] == "restarted":
            if self.process is not None:
                self.process.forget()
            if info is not None:
                self.client.kernel_info = dict(info)
        self._update(**changes)

    # -- control ---------------------------------------------------------------------------

    async def _control_loop(self) -> None:
        while not self._stopping:
            await sleep_paced(self._control_wake, lambda: self.control_pace)
            if self._hb_silent:
                continue  # the heartbeat's silence is being judged: a timeout adds nothing
            try:
                await self.probe_control()
            except TransportClosed:
                return  # the client was closed under us

    async def probe_control(self) -> float | None:
        """One control `kernel_info_request`; updates latency, state and kernel_info.

        Returns:
            The latency in seconds, or None when it timed out.
        """
        started = time.perf_counter()
        reply = await self.client.request(
            "control", "kernel_info_request", {}, self.control_timeout
        )
        if self._hb_silent:
            return None
        latency = None if reply is None else time.perf_counter() - started
        key_suspect = bool(getattr(self.client, "key_suspect", False))
        changes = evidence.control_changes(
            reply, latency, self._snapshot, key_suspect, self.control_timeout
        )
        if reply is not None:
            self._kernel_session = str(reply.header.get("session", ""))
            if "kernel_info" in changes:
                self.client.kernel_info = dict(reply.content)
        self._update(**changes)
        return latency
