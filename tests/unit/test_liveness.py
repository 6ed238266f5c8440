"""LivenessMonitor's state machine with a scripted client: no sockets, no kernel."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import pytest

from nbtui.app.kernel import pacing
from nbtui.app.kernel.connection import CHANNELS, parse_connection_info
from nbtui.app.kernel.liveness import (
    LivenessMonitor,
    LivenessSnapshot,
    ProcessCheck,
    local_process,
)
from nbtui.app.kernel.messages import Msg
from nbtui.app.kernel.pacing import stop_tasks
from nbtui.app.kernel.transports import LinkWatch

INFO = {"status": "ok", "implementation": "ipython", "protocol_version": "5.3"}


def reply(content: dict[str, Any], session: str = "kernel-1") -> Msg:
    return Msg.from_dict(
        "control",
        {
            "header": {"msg_id": "r", "msg_type": "kernel_info_reply", "session": session},
            "parent_header": {},
            "metadata": {},
            "content": content,
        },
    )


class ScriptedClient:
    """Answers pings and control requests as the test says, instantly."""

    def __init__(self) -> None:
        self.kernel_info: dict[str, Any] = dict(INFO)
        self.hb_answers = True
        self.control_answers: dict[str, Any] | None = dict(INFO)
        self.pings = 0
        self.requests: deque[str] = deque()
        self.kernel_session = "kernel-1"
        """The session the kernel's replies carry: a restarted kernel has a new one."""

    async def ping(self, timeout: float) -> float | None:
        self.pings += 1
        await asyncio.sleep(0)
        return 0.0001 if self.hb_answers else None

    async def request(
        self, channel: str, msg_type: str, content: dict[str, Any], timeout: float
    ) -> Msg | None:
        self.requests.append(f"{channel}:{msg_type}")
        await asyncio.sleep(0)
        if self.control_answers is None:
            return None
        return reply(self.control_answers, self.kernel_session)

    def watch_link(self) -> LinkWatch | None:
        return None


class ScriptedProcess:
    """What the operating system says about the kernel's process, as the test says."""

    def __init__(self, state: str = "running", pid: int = 4242) -> None:
        self.state = state
        self.pid = pid
        self.checks = 0
        self.forgotten = 0

    def check(self) -> ProcessCheck:
        self.checks += 1
        details = {
            "gone": f"process {self.pid} is gone",
            "stopped": f"process {self.pid} is stopped (SIGSTOP): kill -CONT {self.pid} resumes it",
        }
        return ProcessCheck(self.state, self.pid, details.get(self.state, ""))  # type: ignore[arg-type]

    def forget(self) -> None:
        self.forgotten += 1


async def until(predicate: Callable[[], bool], deadline: float = 5.0) -> None:
    end = time.monotonic() + deadline
    while not predicate():
        assert time.monotonic() < end, "condition not met in time"
        await asyncio.sleep(0.005)


def states(seen: list[LivenessSnapshot]) -> list[str]:
    out: list[str] = []
    for snap in seen:
        if not out or out[-1] != snap.state:
            out.append(snap.state)
    return out


async def test_alive_then_dead_after_misses_then_restarted_then_alive() -> None:
    client = ScriptedClient()
    process = ScriptedProcess("running")
    seen: list[LivenessSnapshot] = []
    monitor = LivenessMonitor(
        client,
        interval=0.01,
        control_interval=0.02,
        on_change=seen.append,
        restarted_hold=0.1,
        dead_after=2,
        process=process,
    )
    monitor.start()
    try:
        await until(lambda: len(monitor.snapshot.hb_history) >= 2)
        assert monitor.snapshot.state == "alive"
        process.state = "gone"
        client.hb_answers = False
        await until(lambda: monitor.snapshot.state == "dead")
        dead = monitor.snapshot
        assert dead.detail == "no heartbeat: process 4242 is gone"
        assert dead.misses == 2
        assert dead.hb_rtt is None
        pings = client.pings
        await until(lambda: client.pings >= pings + 5)
        assert monitor.snapshot.misses == 2, "misses do not pile up while dead"
        client.control_answers = {**INFO, "implementation_version": "new"}
        client.kernel_session = "kernel-2"
        process.state = "running"
        client.hb_answers = True
        await until(lambda: monitor.snapshot.state == "restarted")
        assert process.forgotten == 1, "the new kernel is a new process"
        assert monitor.snapshot.restarts == 1
        assert monitor.snapshot.kernel_info["implementation_version"] == "new"
        assert client.kernel_info["implementation_version"] == "new"
        await until(lambda: monitor.snapshot.state == "alive")
    finally:
        await monitor.stop()
    assert states(seen) == ["alive", "dead", "restarted", "alive"]


async def test_unresponsive_when_control_is_silent_but_heartbeat_answers() -> None:
    client = ScriptedClient()
    monitor = LivenessMonitor(client, interval=0.01, control_interval=0.01, control_timeout=0.01)
    monitor.start()
    try:
        await until(lambda: monitor.snapshot.control_latency is not None)
        client.control_answers = None
        await until(lambda: monitor.snapshot.state == "unresponsive")
        assert monitor.snapshot.control_latency is None
        assert "control" in monitor.snapshot.detail
        client.control_answers = dict(INFO)
        await until(lambda: monitor.snapshot.state == "alive")
        assert monitor.snapshot.control_latency is not None
    finally:
        await monitor.stop()


async def test_no_control_probes_while_dead() -> None:
    client = ScriptedClient()
    client.hb_answers = False
    monitor = LivenessMonitor(
        client, interval=0.01, control_interval=0.01, process=ScriptedProcess("gone")
    )
    monitor.start()
    try:
        await until(lambda: monitor.snapshot.state == "dead")
        client.requests.clear()
        pings = client.pings
        await until(lambda: client.pings >= pings + 5)
        assert list(client.requests) == []
    finally:
        await monitor.stop()


async def test_acknowledge_and_quiet_callbacks() -> None:
    client = ScriptedClient()
    seen: list[LivenessSnapshot] = []
    monitor = LivenessMonitor(client, interval=0.01, control_interval=10.0, on_change=seen.append)
    monitor.acknowledge()  # nothing to acknowledge
    assert seen == []
    assert monitor.snapshot.state == "alive"
    assert monitor.snapshot.kernel_info["implementation"] == "ipython"
    monitor.start()
    monitor.start()  # a second start does nothing
    try:
        await until(lambda: len(monitor.snapshot.hb_history) >= 3)
    finally:
        await monitor.stop()
    assert not monitor.running
    # Same round trip every time: only the history changes, one callback per ping.
    assert all(snap.state == "alive" for snap in seen)
    assert len(seen) == len(seen[-1].hb_history)


async def test_history_is_bounded() -> None:
    client = ScriptedClient()
    monitor = LivenessMonitor(client, interval=0.001, history=5)
    monitor.start()
    try:
        await until(lambda: client.pings >= 20)
    finally:
        await monitor.stop()
    assert len(monitor.snapshot.hb_history) == 5


async def test_unresponsive_with_bad_signatures_suggests_a_wrong_key() -> None:
    client = ScriptedClient()
    client.control_answers = None
    client.bad_signatures = 3  # type: ignore[attr-defined]
    client.key_suspect = True  # type: ignore[attr-defined]
    monitor = LivenessMonitor(client, control_timeout=0.01)
    assert await monitor.probe_control() is None
    assert monitor.snapshot.state == "unresponsive"
    assert "wrong key?" in monitor.snapshot.detail


async def test_a_slow_reply_after_an_old_bad_signature_does_not_blame_the_key() -> None:
    """A bad message seen once, long before good ones, is no evidence about a slow reply
    now (issue 13, item 26a)."""
    client = ScriptedClient()
    client.control_answers = None
    client.bad_signatures = 1  # type: ignore[attr-defined]
    client.key_suspect = False  # type: ignore[attr-defined]
    monitor = LivenessMonitor(client, control_timeout=0.01)
    assert await monitor.probe_control() is None
    assert monitor.snapshot.state == "unresponsive"
    assert "key" not in monitor.snapshot.detail


async def test_settles_to_the_quiet_pace_and_busy_or_a_miss_restores_the_full_one() -> None:
    client = ScriptedClient()
    monitor = LivenessMonitor(
        client,
        interval=0.01,
        control_interval=0.01,
        quiet_interval=3600.0,
        quiet_control_interval=3600.0,
        settle_after=3,
    )
    assert monitor.pace == 0.01 and not monitor.settled
    monitor.start()
    try:
        await until(lambda: monitor.settled)
        assert monitor.pace == 3600.0
        assert monitor.control_pace == 3600.0
        pings = client.pings
        await asyncio.sleep(0.05)
        assert client.pings == pings, "settled: no ping for an hour"
        # A cell starts: the sleeping probes wake and keep the full pace while it runs.
        monitor.busy = True
        await until(lambda: client.pings > pings)
        assert monitor.pace == 0.01 and monitor.control_pace == 0.01
        monitor.busy = False
        await until(lambda: monitor.settled)
        # A missed ping: unsettled at once, full pace until it has answered again.
        client.hb_answers = False
        monitor.busy = True
        monitor.busy = False
        await until(lambda: monitor.snapshot.misses >= 1)
        assert not monitor.settled and monitor.pace == 0.01
    finally:
        await monitor.stop()


async def test_without_quiet_intervals_the_pace_never_changes() -> None:
    client = ScriptedClient()
    monitor = LivenessMonitor(client, interval=0.01, control_interval=0.02, settle_after=1)
    monitor.start()
    try:
        await until(lambda: client.pings >= 5)
        assert monitor.settled
        assert monitor.pace == 0.01 and monitor.control_pace == 0.02
    finally:
        await monitor.stop()


async def test_a_restart_said_by_the_manager_is_a_death_expected_back() -> None:
    client = ScriptedClient()
    monitor = LivenessMonitor(client, interval=0.01, control_interval=0.02)
    monitor.start()
    try:
        await until(lambda: len(monitor.snapshot.hb_history) >= 2)
        monitor.kernel_event("restarting")
        # Its own state, not "dead": the manager expects it back.
        assert monitor.snapshot.state == "restarting"
        assert monitor.snapshot.detail == ""
        monitor.kernel_event("dead")  # the manager gave up
        assert monitor.snapshot.state == "dead"
        assert "gave up" in monitor.snapshot.detail
    finally:
        await monitor.stop()


async def test_stopping_outlasts_a_swallowed_cancel() -> None:
    # Python < 3.12's wait_for can swallow a cancel; stopping must not hang on it.
    swallowed: list[bool] = []

    async def probe_loop() -> None:
        while True:
            try:
                await asyncio.sleep(10)
            except asyncio.CancelledError:
                if not swallowed:
                    swallowed.append(True)
                    continue
                raise

    task = asyncio.create_task(probe_loop())
    await asyncio.sleep(0)
    await asyncio.wait_for(stop_tasks([task]), 2)
    assert swallowed and task.cancelled()


def silent_monitor(
    client: ScriptedClient, process: ScriptedProcess | None, **options: Any
) -> tuple[LivenessMonitor, list[LivenessSnapshot]]:
    seen: list[LivenessSnapshot] = []
    monitor = LivenessMonitor(
        client,
        interval=0.01,
        control_interval=0.01,
        control_timeout=0.01,
        on_change=seen.append,
        process=process,
        **options,
    )
    return monitor, seen


async def test_a_silent_heartbeat_without_evidence_is_unresponsive_then_lost() -> None:
    # A remote kernel: nothing to look at but the heartbeat.
    client = ScriptedClient()
    monitor, seen = silent_monitor(client, None, presume_dead_after=0.2)
    monitor.start()
    try:
        await until(lambda: len(monitor.snapshot.hb_history) >= 2)
        client.hb_answers = False
        await until(lambda: monitor.snapshot.state == "unresponsive")
        assert monitor.snapshot.detail == "no heartbeat"
        await until(lambda: monitor.snapshot.state == "lost")
        assert monitor.snapshot.detail == "no heartbeat for 0.2 s: presumed dead"
    finally:
        await monitor.stop()
    assert "dead" not in states(seen)


async def test_a_stopped_process_is_stopped_and_back_alive_when_it_answers() -> None:
    client = ScriptedClient()
    process = ScriptedProcess("running")
    monitor, seen = silent_monitor(client, process, presume_dead_after=0.05)
    monitor.start()
    try:
        await until(lambda: monitor.snapshot.control_latency is not None)
        process.state = "stopped"
        client.hb_answers = False
        await until(lambda: monitor.snapshot.state == "stopped")
        client.control_answers = None  # a stopped kernel answers nothing
        assert monitor.snapshot.detail == (
            "process 4242 is stopped (SIGSTOP): kill -CONT 4242 resumes it"
        )
        # Long past presume_dead_after: a process that is there is not presumed dead, and
        # the control probe's timeouts do not turn "stopped" into "unresponsive".
        checks = process.checks
        await until(lambda: process.checks >= checks + 10)
        assert monitor.snapshot.state == "stopped"
        # SIGCONT: the same kernel (same session) answers again.
        process.state = "running"
        client.control_answers = dict(INFO)
        client.hb_answers = True
        await until(lambda: monitor.snapshot.state == "alive")
        assert monitor.snapshot.restarts == 0
        assert process.forgotten == 0
    finally:
        await monitor.stop()
    assert states(seen) == ["alive", "stopped", "alive"]


async def test_a_running_process_that_does_not_answer_is_unresponsive_not_lost() -> None:
    client = ScriptedClient()
    process = ScriptedProcess("running")
    monitor, seen = silent_monitor(client, process, presume_dead_after=0.01)
    monitor.start()
    try:
        await until(lambda: len(monitor.snapshot.hb_history) >= 2)
        client.hb_answers = False
        await until(lambda: monitor.snapshot.state == "unresponsive")
        assert monitor.snapshot.detail == "no heartbeat, though process 4242 runs"
        checks = process.checks
        await until(lambda: process.checks >= checks + 5)
        assert monitor.snapshot.state == "unresponsive"
        # Then it dies: evidence, so "dead".
        process.state = "gone"
        await until(lambda: monitor.snapshot.state == "dead")
        assert monitor.snapshot.detail == "no heartbeat: process 4242 is gone"
    finally:
        await monitor.stop()
    assert states(seen) == ["alive", "unresponsive", "dead"]


async def test_a_restart_that_never_comes_back_is_presumed_dead() -> None:
    client = ScriptedClient()
    monitor, _ = silent_monitor(client, None, presume_dead_after=0.1)
    monitor.start()
    try:
        await until(lambda: len(monitor.snapshot.hb_history) >= 2)
        client.hb_answers = False
        monitor.kernel_event("restarting")
        assert monitor.snapshot.state == "restarting"
        await until(lambda: monitor.snapshot.state == "lost")
        assert "presumed dead" in monitor.snapshot.detail
    finally:
        await monitor.stop()


def test_local_process_only_for_a_local_tcp_kernel() -> None:
    def info(ip: str, **extra: Any) -> Any:
        data = {
            "ip": ip,
            "transport": "tcp",
            "key": "k",
            "signature_scheme": "hmac-sha256",
            **{f"{name}_port": 5000 + index for index, name in enumerate(CHANNELS)},
            **extra,
        }
        return parse_connection_info(data, "test")

    local = local_process(info("127.0.0.1"))
    assert local is not None and local.port == 5000
    assert local_process(info("203.0.113.9")) is None  # another host: nothing to look at


async def test_a_listener_that_raises_does_not_end_the_probes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A bug in whoever listens costs one report, not the liveness of the session: found
    by hand, a session stuck on "unresponsive" though the kernel answered."""
    monkeypatch.setattr(pacing, "RESTART_PAUSE", 0.01)
    client = ScriptedClient()
    seen: list[LivenessSnapshot] = []
    failures: list[BaseException] = []

    def listener(snapshot: LivenessSnapshot) -> None:
        seen.append(snapshot)
        if snapshot.state == "unresponsive" and len(failures) == 0:
            failures.append(RuntimeError("a listener's bug"))
            raise failures[-1]

    monitor = LivenessMonitor(client, interval=0.01, control_interval=0.02, on_change=listener)
    reported: list[BaseException] = []
    monitor.on_error = reported.append
    monitor.start()
    try:
        await until(lambda: monitor.snapshot.state == "alive")
        client.control_answers = None
        await until(lambda: monitor.snapshot.state == "unresponsive")
        client.control_answers = dict(INFO)
        await until(lambda: monitor.snapshot.state == "alive")
        assert reported == failures
        assert seen[-1].state == "alive"
    finally:
        await monitor.stop()
