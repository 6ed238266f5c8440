"""LivenessMonitor against a real ipykernel: kill -9, SIGSTOP, restart on the same ports."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

from jupyter_client import KernelManager

from nbtui.app.kernel.client import KernelClient
from nbtui.app.kernel.connection import load_connection_file
from nbtui.app.kernel.liveness import LivenessMonitor, LivenessSnapshot, local_process

DEADLINE = 5.0


async def until(predicate: Callable[[], bool], deadline: float = DEADLINE) -> float:
    """Wait for a condition; returns how long it took."""
    started = time.monotonic()
    while not predicate():
        if time.monotonic() - started > deadline:
            raise AssertionError(f"condition not met within {deadline} s")
        await asyncio.sleep(0.002)
    return time.monotonic() - started


def kill_9(km: KernelManager) -> None:
    """SIGKILL the kernel process, as the out-of-memory killer would."""
    process = km.provisioner.process  # type: ignore[union-attr]
    os.kill(process.pid, signal.SIGKILL)
    process.wait()


async def test_alive_with_round_trips_and_control_latency(client: KernelClient) -> None:
    seen: list[LivenessSnapshot] = []
    monitor = LivenessMonitor(client, interval=0.05, control_interval=0.1, on_change=seen.append)
    monitor.start()
    try:
        await until(
            lambda: (
                len(monitor.snapshot.hb_history) >= 3
                and monitor.snapshot.control_latency is not None
            )
        )
        snap = monitor.snapshot
        assert snap.state == "alive"
        assert snap.misses == 0
        assert snap.hb_rtt is not None
        assert snap.kernel_info["implementation"] == "ipython"
        assert seen and seen[-1] is snap
    finally:
        await monitor.stop()
    assert not monitor.running


async def test_kill_9_is_seen_by_the_socket_monitor(
    kernel: KernelManager, client: KernelClient
) -> None:
    # A long interval: only the socket monitor can see the death quickly.
    monitor = LivenessMonitor(client, interval=30.0, control_interval=60.0)
    monitor.start()
    try:
        await until(lambda: monitor.hb_connected)
        killed = time.monotonic()
        kill_9(kernel)
        await until(lambda: monitor.snapshot.state == "dead")
        detected = monitor.snapshot.since - killed
        seen = (monitor.disconnected_at or killed) - killed
        print(
            f"\nkill -9: disconnect seen after {seen * 1000:.1f} ms, "
            f"dead reported after {detected * 1000:.1f} ms"
        )
        assert monitor.snapshot.detail == "it closed its connections"
        assert monitor.snapshot.hb_rtt is None
    finally:
        await monitor.stop()


async def test_kill_9_is_seen_by_pings_alone(kernel: KernelManager) -> None:
    kc = KernelClient(load_connection_file(Path(kernel.connection_file)))
    kc.watch_link = lambda: None  # type: ignore[method-assign]
    try:
        await kc.attach()
        # Silence alone is no proof: the evidence is the process, gone.
        monitor = LivenessMonitor(
            kc, interval=0.2, ping_timeout=0.1, process=local_process(kc.info)
        )
        monitor.start()
        try:
            await until(lambda: monitor.snapshot.hb_rtt is not None)
            killed = time.monotonic()
            kill_9(kernel)
            await until(lambda: monitor.snapshot.state == "dead")
            print(
                f"\nkill -9 without a monitor: dead after "
                f"{(monitor.snapshot.since - killed) * 1000:.0f} ms"
            )
            assert monitor.snapshot.detail.startswith("no heartbeat: ")
            assert "gone" in monitor.snapshot.detail or "exited" in monitor.snapshot.detail
            assert monitor.snapshot.misses >= 2
        finally:
            await monitor.stop()
    finally:
        await kc.close()


async def test_restart_on_the_same_ports(kernel: KernelManager, client: KernelClient) -> None:
    states: list[str] = []

    def record(snap: LivenessSnapshot) -> None:
        if not states or states[-1] != snap.state:
            states.append(snap.state)

    monitor = LivenessMonitor(client, interval=0.2, on_change=record, restarted_hold=0.5)
    monitor.start()
    try:
        await until(lambda: monitor.hb_connected)
        old_info = monitor.snapshot.kernel_info
        restarted = time.monotonic()
        await asyncio.to_thread(kernel.restart_kernel, now=True)
        # Same ports, same key: the client reconnects without being told.
        assert load_connection_file(Path(kernel.connection_file)).ports == client.info.ports
        await until(lambda: monitor.snapshot.state == "restarted", deadline=30.0)
        snap = monitor.snapshot
        print(
            f"\nrestart: 'restarted' reported {snap.since - restarted:.2f} s after "
            "restart_kernel began"
        )
        assert snap.restarts == 1
        assert snap.kernel_info["implementation"] == "ipython"
        assert snap.kernel_info is not old_info
        assert client.kernel_info == dict(snap.kernel_info)
        assert "dead" in states
        # "restarted" holds for restarted_hold, then becomes alive by itself.
        await until(lambda: monitor.snapshot.state == "alive", deadline=10.0)
        assert states[-3:] == ["dead", "restarted", "alive"]
        # And the kernel runs cells again through the same client.
        reply = await client.request(
            "shell",
            "execute_request",
            {
                "code": "1 + 1",
                "silent": False,
                "store_history": True,
                "user_expressions": {},
                "allow_stdin": False,
                "stop_on_error": True,
            },
            timeout=20.0,
        )
        assert reply is not None
        assert reply.content["status"] == "ok"
    finally:
        await monitor.stop()


async def test_acknowledge_ends_restarted(kernel: KernelManager, client: KernelClient) -> None:
    monitor = LivenessMonitor(client, interval=0.2)
    monitor.start()
    try:
        await until(lambda: monitor.hb_connected)
        await asyncio.to_thread(kernel.restart_kernel, now=True)
        await until(lambda: monitor.snapshot.state == "restarted", deadline=30.0)
        monitor.acknowledge()
        assert monitor.snapshot.state == "alive"
    finally:
        await monitor.stop()


async def test_closing_the_client_ends_the_probes_quietly(kernel: KernelManager) -> None:
    kc = KernelClient(load_connection_file(Path(kernel.connection_file)))
    await kc.attach()
    monitor = LivenessMonitor(kc, interval=0.02, control_interval=0.02)
    monitor.start()
    await until(lambda: monitor.snapshot.control_latency is not None)
    await kc.close()
    await until(lambda: not monitor.running)
    await monitor.stop()


async def test_sigstop_is_stopped_not_dead_and_sigcont_brings_it_back(
    kernel: KernelManager, client: KernelClient
) -> None:
    states: list[str] = []

    def record(snap: LivenessSnapshot) -> None:
        if not states or states[-1] != snap.state:
            states.append(snap.state)

    pid = kernel.provisioner.process.pid  # type: ignore[union-attr]
    monitor = LivenessMonitor(
        client,
        interval=0.1,
        ping_timeout=0.1,
        control_interval=0.2,
        control_timeout=0.3,
        on_change=record,
        process=local_process(client.info),
        presume_dead_after=0.5,
    )
    monitor.start()
    try:
        await until(lambda: monitor.hb_connected and monitor.snapshot.control_latency is not None)
        os.kill(pid, signal.SIGSTOP)
        try:
            await until(lambda: monitor.snapshot.state == "stopped", deadline=20.0)
            assert monitor.snapshot.detail == (
                f"process {pid} is stopped (SIGSTOP): kill -CONT {pid} resumes it"
            )
            # Well past presume_dead_after: a process that is there is not presumed dead.
            misses = monitor.snapshot.misses
            await until(lambda: monitor.snapshot.misses >= misses + 10, deadline=20.0)
            assert monitor.snapshot.state == "stopped"
        finally:
            os.kill(pid, signal.SIGCONT)
        await until(lambda: monitor.snapshot.state == "alive", deadline=20.0)
        assert monitor.snapshot.restarts == 0
        assert "dead" not in states and "lost" not in states, states
        # And the same kernel answers requests again.
        await until(lambda: monitor.snapshot.control_latency is not None, deadline=20.0)
    finally:
        await monitor.stop()


async def test_kill_9_of_a_stopped_kernel_is_dead(
    kernel: KernelManager, client: KernelClient
) -> None:
    pid = kernel.provisioner.process.pid  # type: ignore[union-attr]
    monitor = LivenessMonitor(
        client, interval=0.1, ping_timeout=0.1, process=local_process(client.info)
    )
    monitor.start()
    try:
        await until(lambda: monitor.hb_connected)
        os.kill(pid, signal.SIGSTOP)
        try:
            await until(lambda: monitor.snapshot.state == "stopped", deadline=20.0)
        finally:
            kill_9(kernel)
        await until(lambda: monitor.snapshot.state == "dead", deadline=20.0)
    finally:
        await monitor.stop()
