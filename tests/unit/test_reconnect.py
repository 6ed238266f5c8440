"""Surviving a dropped link, at the kernel layer: the keeper's backoff and gap, the liveness
monitor that tells a lost link from a dead kernel, and the session's notices and the
inputs run during the gap. Scripted links and kernels, a fake clock: no sockets."""

from __future__ import annotations

import asyncio
from typing import Any

from nbtui.app.kernel.errors import NbtuiError
from nbtui.app.kernel.liveness import LivenessMonitor, LivenessSnapshot
from nbtui.app.kernel.model import Notice
from nbtui.app.kernel.session import KernelSession
from nbtui.app.kernel.transports.reconnect import Backoff, LinkKeeper, Restored, Retry
from tests.fakes import FakeClock, ScriptedTransport, scripted_client
from tests.unit.test_liveness import ScriptedClient, states, until


class ScriptedLink:
    """A link that goes down when the test says, and comes back after `failures` failed
    attempts, finding the kernel as `found` says."""

    def __init__(self, failures: int = 0, found: Restored = "up") -> None:
        self.what = "the scripted tunnel"
        self.up = True
        self.failures = failures
        self.found: Restored = found
        self.attempts = 0
        self.drops: asyncio.Queue[str | None] = asyncio.Queue()
        self.closed = False

    def drop(self, reason: str) -> None:
        self.up = False
        self.drops.put_nowait(reason)

    async def wait_down(self) -> str | None:
        return await self.drops.get()

    async def restore(self) -> Restored:
        self.attempts += 1
        if self.attempts <= self.failures:
            raise NbtuiError(f"ssh to gpu failed: Connection refused ({self.attempts})")
        self.up = True
        return self.found

    def close(self) -> None:
        self.closed = True
        self.drops.put_nowait(None)


class Recorder:
    def __init__(self) -> None:
        self.lost: list[str] = []
        self.retries: list[Retry] = []
        self.restored: list[tuple[float, Restored]] = []


def keeper_for(link: ScriptedLink, clock: FakeClock, said: Recorder) -> LinkKeeper:
    async def sleep(seconds: float) -> None:
        clock.advance(seconds)
        await asyncio.sleep(0)

    return LinkKeeper(
        link,
        on_lost=said.lost.append,
        on_retry=said.retries.append,
        on_restored=lambda gap, found: said.restored.append((gap, found)),
        clock=clock,
        sleep=sleep,
    )


def test_backoff_doubles_up_to_its_cap() -> None:
    backoff = Backoff(first=0.5, most=4.0)
    assert [backoff.delay(n) for n in range(1, 7)] == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]


async def test_the_keeper_says_lost_retries_with_backoff_and_measures_the_gap() -> None:
    link = ScriptedLink(failures=3)
    clock = FakeClock()
    said = Recorder()
    keeper = keeper_for(link, clock, said)
    keeper.start()
    try:
        link.drop("the ssh tunnel to gpu was killed (signal 9)")
        await until(lambda: bool(said.restored))
        assert said.lost == ["the ssh tunnel to gpu was killed (signal 9)"]
        assert [(r.attempt, r.delay) for r in said.retries] == [(1, 0.5), (2, 1.0), (3, 2.0)]
        assert "Connection refused (1)" in said.retries[0].reason
        assert said.restored == [(3.5, "up")]
        assert not keeper.reconnecting
        # A second drop: a new gap, the backoff from the start.
        link.failures = 0
        link.attempts = 0
        link.drop("again")
        await until(lambda: len(said.restored) == 2)
        assert said.restored[1] == (0.0, "up")
        assert keeper.gaps == [3.5, 0.0]
    finally:
        await keeper.stop()
    assert link.closed


async def test_a_closed_link_ends_the_keeper() -> None:
    link = ScriptedLink()
    keeper = keeper_for(link, FakeClock(), Recorder())
    task = asyncio.create_task(keeper.run())
    link.close()
    await asyncio.wait_for(task, 5)


async def test_a_silence_while_the_link_is_down_is_not_a_death() -> None:
    """The heartbeat stops answering the moment the tunnel dies: with the link down the
    monitor judges nothing; restored, the same kernel answering is "alive" again."""
    client = ScriptedClient()
    seen: list[LivenessSnapshot] = []
    monitor = LivenessMonitor(
        client, interval=0.01, control_interval=0.02, on_change=seen.append, dead_after=2
    )
    link_up = [True]
    monitor.link_check = lambda: link_up[0]
    monitor.start()
    try:
        await until(lambda: client.pings >= 2)
        link_up[0] = False
        client.hb_answers = False
        pings = client.pings
        await until(lambda: client.pings >= pings + 5)
        assert monitor.snapshot.state == "alive"  # many misses, no verdict
        monitor.link_lost("connection lost: the ssh tunnel to gpu exited")
        assert monitor.snapshot.state == "reconnecting"
        pings = client.pings
        for _ in range(20):
            await asyncio.sleep(0.01)
        assert client.pings == pings  # nothing is pinged through a link that is down
        link_up[0] = True
        client.hb_answers = True
        monitor.link_restored("up")
        await until(lambda: monitor.snapshot.state == "alive")
        assert "dead" not in states(seen)
        assert states(seen)[-2:] == ["reconnecting", "alive"]
    finally:
        await monitor.stop()


class IopubLateClient(ScriptedClient):
    """A kernel whose iopub comes back after its heartbeat and control, as ZeroMQ's
    sockets reconnect each on its own timer: iopub is through once the test says."""

    def __init__(self) -> None:
        super().__init__()
        self.iopub_back = asyncio.Event()
        self.iopub_asked: list[str] = []

    async def iopub_ready(self, request_id: str, tries: int = 3, wait: float = 0.5) -> bool:
        self.iopub_asked.append(request_id)
        await self.iopub_back.wait()
        return True


async def test_alive_again_only_once_iopub_is_through() -> None:
    """A cell run as soon as the link is back would have its output and its end lost on
    an iopub not yet reconnected, and stay running for good: the kernel is not alive
    again (and the prompt not idle) until iopub delivers."""
    client = IopubLateClient()
    monitor = LivenessMonitor(client, interval=0.01, control_interval=0.02)
    monitor.start()
    try:
        await until(lambda: client.pings >= 1)
        monitor.link_lost("connection lost")
        monitor.link_restored("up")
        await until(lambda: bool(client.iopub_asked))
        for _ in range(10):
            await asyncio.sleep(0.01)
        assert monitor.snapshot.state == "reconnecting"
        client.iopub_back.set()
        await until(lambda: monitor.snapshot.state == "alive")
    finally:
        await monitor.stop()


async def test_a_kernel_that_died_during_the_gap_is_told_apart() -> None:
    """Back through the link, the kernel's ports refuse: dead, with that evidence."""
    client = ScriptedClient()
    monitor = LivenessMonitor(client, interval=0.01, control_interval=0.02)
    monitor.start()
    try:
        monitor.link_lost("connection lost")
        client.hb_answers = False
        monitor.link_restored("refused")
        assert monitor.snapshot.state == "dead"
        assert "refuse connections" in monitor.snapshot.detail
    finally:
        await monitor.stop()


async def test_a_restarted_kernel_behind_the_link_is_restarted_not_alive() -> None:
    client = ScriptedClient()
    monitor = LivenessMonitor(client, interval=0.01, control_interval=0.02)
    monitor.start()
    try:
        await until(lambda: client.pings >= 1 and bool(client.requests))
        await until(lambda: monitor.snapshot.control_latency is not None)
        monitor.link_lost("connection lost")
        client.kernel_session = "kernel-2"  # a new process answers once the link is back
        monitor.link_restored("up")
        await until(lambda: monitor.snapshot.state == "restarted")
    finally:
        await monitor.stop()


class HistoryTransport(ScriptedTransport):
    """A scripted kernel whose history has what the test puts in it."""

    def __init__(self) -> None:
        super().__init__()
        self.history: list[tuple[int, int, str]] = []

    def _answer(self, channel: str, msg: dict[str, Any]) -> None:
        header = msg["header"]
        if header["msg_type"] == "history_request":
            content = {"status": "ok", "history": [list(entry) for entry in self.history]}
            self._send(channel, "history_reply", content, header)
            return
        super()._answer(channel, msg)


def notices(session: KernelSession) -> list[str]:
    return [entry.text for entry in session.model.entries if isinstance(entry, Notice)]


async def test_the_session_says_lost_then_the_gap_then_what_ran_in_it() -> None:
    transport = HistoryTransport()
    transport.hold = True
    client, transport = scripted_client(transport)
    session = KernelSession(client, clock=FakeClock())
    await session.attach()
    session.attached()
    running = session.execute("import time; time.sleep(5)")
    for _ in range(5):
        await asyncio.sleep(0)
    session.drain()
    assert session.state == "busy"

    session.link_lost("the ssh tunnel to gpu was killed (signal 9)")
    assert session.state == "reconnecting"
    assert notices(session)[-1].startswith(
        "connection lost, reconnecting (the ssh tunnel to gpu was killed (signal 9))"
    )
    # Not sent while the link is down: it would wait in a queue, or be lost.
    assert await session.judge("1 + 1", force=True) == "refused"
    assert "connection to the kernel is down" in notices(session)[-1]

    # During the gap our cell ended (its idle was lost) and a colleague ran two cells.
    transport.history = [
        (0, 1, "import time; time.sleep(5)"),
        (0, 2, "x = 41\nx += 1"),
        (0, 3, "print('\x1b]52;c;evil\x07hi')"),
    ]
    session.link_restored(12.3, "up")
    said = notices(session)
    assert said[-1].startswith(
        "connection back after 12.3 s (the link): output sent during the gap is lost "
        "(iopub does not replay it)"
    )
    for _ in range(10):
        await asyncio.sleep(0)
    session.drain()
    said = notices(session)
    assert "In [1] ended while the connection was down" in " ".join(said)
    assert session.model.cells[running].state != "running"
    gap = [text for text in said if text.startswith("run during the gap")]
    assert gap[0] == "run during the gap: In [2]  x = 41  (+1 more lines)"
    assert "\x1b" not in gap[1] and "\x07" not in gap[1]
    assert len(gap) == 2
    assert session.next_count() == 4


async def test_the_link_back_with_a_silent_kernel_fetches_nothing() -> None:
    transport = HistoryTransport()
    client, transport = scripted_client(transport)
    session = KernelSession(client, clock=FakeClock())
    await session.attach()
    session.attached()
    session.link_lost("gone")
    session.link_restored(2.0, "silent")
    for _ in range(5):
        await asyncio.sleep(0)
    assert notices(session)[-1] == (
        "connection back after 2.0 s (the link), but the kernel does not answer through it"
    )
    assert "history_request" not in transport.sent_types()
