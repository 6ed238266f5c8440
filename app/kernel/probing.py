"""Probing connection files: which still have a live kernel behind them.

A kernel killed with `kill -9` (or by the out-of-memory killer) leaves its connection
file behind, so the runtime dir fills with stale files. Every file is probed here,
all of them at once and each with short timeouts, so a dir of dead files costs about
one heartbeat timeout in all rather than one per file.

A probe never starts, stops or restarts a kernel. It sends, per live kernel:

- a heartbeat ping (unsigned; proves the process is alive, answers while a cell runs);
- `kernel_info_request` and `usage_request` on control (answered in milliseconds even
  while a cell runs; usage gives pid, memory and CPU on ipykernel >= 6.14);
- when asked for the activity, `kernel_info_request` on shell: an idle kernel answers
  at once, a busy one queues it behind the running cell, so silence within the timeout
  while control answered means "busy". It is read-only and the only request here that
  other clients can see (as a busy/idle pair from a foreign session).

When usage gives no pid (xeus-python never answers it; ipykernel without psutil gives
no memory), the process listening on the kernel's shell port is asked through psutil,
for local kernels only.

A local kernel whose heartbeat is silent is not stale while a process still listens on
its shell port: it is "stopped" (SIGSTOP, ctrl+z) or gives "no answer" (hung), and
comes back when that process does.

Nothing here imports Textual: the CLI and the picker screen both build on it.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Iterable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, cast

import psutil
import zmq
import zmq.asyncio
from jupyter_client.asynchronous.client import AsyncKernelClient

from nbtui.app.kernel.connection import ConnectionInfo
from nbtui.app.kernel.kernel_entry import KernelEntry, unprobed_entry
from nbtui.app.kernel.usage import is_local, parse_usage

__all__ = [
    "HB_TIMEOUT",
    "MAX_CONCURRENT",
    "REMOTE_HB_TIMEOUT",
    "REPLY_TIMEOUT",
    "SHELL_TIMEOUT",
    "listening_pids",
    "probe_all",
    "probe_file",
]

HB_TIMEOUT = 0.3
"""Seconds a heartbeat may take. A local echo takes ~0.1 ms, also while a cell runs."""
REMOTE_HB_TIMEOUT = 1.5
"""Seconds for a kernel on another host, where a slow network must not make it "stale"."""
REPLY_TIMEOUT = 1.0
"""Seconds for control's replies (~1 ms from a live ipykernel; silence means a wrong key)."""
SHELL_TIMEOUT = 0.3
"""Seconds for shell's kernel_info: an idle kernel answers in about a millisecond."""
MAX_CONCURRENT = 200
"""Probes in flight at once: each holds up to three sockets, libzmq allows 1023."""


class _Probe:
    """The sockets of one probe, on a context shared by all probes of one run."""

    def __init__(self, info: ConnectionInfo, context: zmq.asyncio.Context) -> None:
        self.info = info
        self.jc = AsyncKernelClient(context=context)
        # The client's connect_* honour transport and CURVE keys; its channels stay unused.
        self.jc.load_connection_info(cast(Any, info.as_jupyter_dict()))
        self.session = self.jc.session
        self.sockets: list[zmq.asyncio.Socket] = []

    def close(self) -> None:
        for sock in self.sockets:
            sock.close(linger=0)

    async def ping(self, timeout: float) -> float | None:
        sock = cast(zmq.asyncio.Socket, self.jc.connect_hb())
        self.sockets.append(sock)
        started = time.perf_counter()
        try:
            await sock.send(b"ping")
            if await sock.poll(int(timeout * 1000)):
                await sock.recv()
                return time.perf_counter() - started
        except zmq.ZMQError:
            pass
        return None

    def channel(self, name: str) -> zmq.asyncio.Socket:
        identity = self.session.bsession
        connect = self.jc.connect_control if name == "control" else self.jc.connect_shell
        sock = cast(zmq.asyncio.Socket, connect(identity=identity))
        self.sockets.append(sock)
        return sock

    async def requests(
        self, sock: zmq.asyncio.Socket, msg_types: Sequence[str], timeout: float
    ) -> dict[str, dict[str, Any]]:
        """Send each request, then collect replies by parent msg_id until all or timeout."""
        wanted: dict[str, str] = {}
        for msg_type in msg_types:
            msg = self.session.msg(msg_type, {})
            wanted[str(msg["header"]["msg_id"])] = msg_type
            self.session.send(sock, msg)
        replies: dict[str, dict[str, Any]] = {}
        deadline = time.monotonic() + timeout
        while wanted:
            left = deadline - time.monotonic()
            if left <= 0 or not await sock.poll(int(left * 1000)):
                break
            frames = await sock.recv_multipart()
            try:
                _, parts = self.session.feed_identities(frames)
                msg = self.session.deserialize(parts)
            except Exception:  # noqa: BLE001 - a bad signature or a malformed reply: ignore
                continue
            answered = wanted.pop(str(msg.get("parent_header", {}).get("msg_id")), None)
            content = msg.get("content")
            if answered is not None and isinstance(content, dict):
                replies[answered] = content
        return replies


async def _probe(
    entry: KernelEntry,
    context: zmq.asyncio.Context,
    *,
    details: bool,
    activity: bool,
    hb_timeout: float,
    reply_timeout: float,
) -> KernelEntry:
    assert entry.info is not None
    probe = _Probe(entry.info, context)
    if not is_local(entry.info):
        hb_timeout = max(hb_timeout, REMOTE_HB_TIMEOUT)
    try:
        rtt = await probe.ping(hb_timeout)
        if rtt is None:
            return entry
        entry = replace(entry, alive=True, hb_rtt=rtt)
        if not details:
            return entry
        control = probe.channel("control")
        replies = await probe.requests(
            control, ("kernel_info_request", "usage_request"), reply_timeout
        )
        info = replies.get("kernel_info_request")
        reply = replies.get("usage_request")
        if info is None and not reply:
            return entry
        language_info = info.get("language_info", {}) if info else {}
        language = language_info.get("name", "") if isinstance(language_info, dict) else ""
        implementation = info.get("implementation", "") if info else ""
        usage = parse_usage(reply or {})
        entry = replace(
            entry,
            responsive=True,
            language=language if isinstance(language, str) else "",
            implementation=implementation if isinstance(implementation, str) else "",
            pid=usage.pid,
            hostname=usage.hostname,
            memory=usage.kernel_memory,
            cpu=usage.kernel_cpu,
        )
        if activity:
            shell = probe.channel("shell")
            answered = await probe.requests(shell, ("kernel_info_request",), SHELL_TIMEOUT)
            entry = replace(entry, execution_state="idle" if answered else "busy")
        return entry
    finally:
        probe.close()


async def probe_file(
    path: Path,
    *,
    activity: bool = True,
    hb_timeout: float = HB_TIMEOUT,
    reply_timeout: float = REPLY_TIMEOUT,
) -> KernelEntry:
    """Probe one connection file; see `probe_all`."""
    return (
        await probe_all(
            [path], activity=activity, hb_timeout=hb_timeout, reply_timeout=reply_timeout
        )
    )[0]


async def probe_all(
    paths: Sequence[Path],
    *,
    details: bool = True,
    activity: bool = True,
    usage: bool = True,
    hb_timeout: float = HB_TIMEOUT,
    reply_timeout: float = REPLY_TIMEOUT,
) -> list[KernelEntry]:
    """Probe every connection file concurrently, with short timeouts.

    Args:
        paths: The connection files.
        details: Ask live kernels on control for their language, pid, memory and CPU;
            without it only the heartbeat is tried.
        activity: Also ask shell whether the kernel is busy (see the module docstring).
        usage: Fill in pid, memory and CPU from psutil where the kernel did not say,
            for local kernels.
        hb_timeout: Seconds a heartbeat may take before the kernel counts as dead.
        reply_timeout: Seconds control's replies may take.

    Returns:
        One entry per path, in the order given.
    """
    entries = [unprobed_entry(path) for path in paths]
    context = zmq.asyncio.Context()
    context.setsockopt(zmq.LINGER, 0)
    limit = asyncio.Semaphore(MAX_CONCURRENT)

    async def one(entry: KernelEntry) -> KernelEntry:
        if entry.info is None:
            return entry
        async with limit:
            return await _probe(
                entry,
                context,
                details=details,
                activity=activity,
                hb_timeout=hb_timeout,
                reply_timeout=reply_timeout,
            )

    try:
        entries = list(await asyncio.gather(*(one(entry) for entry in entries)))
    finally:
        context.destroy(linger=0)
    if usage:
        entries = await asyncio.to_thread(_fill_from_psutil, entries)
    if any(not entry.alive and entry.info is not None for entry in entries):
        entries = await asyncio.to_thread(_fill_silent, entries)
    return entries


# -- local processes -------------------------------------------------------------------------


def listening_pids(ports: Iterable[int]) -> dict[int, int]:
    """The pid of the local process listening on each of `ports` (TCP), where visible.

    Processes of other users are invisible without privileges; such ports are absent.
    """
    wanted = set(ports)
    found: dict[int, int] = {}
    if not wanted:
        return found
    try:
        connections = psutil.net_connections(kind="tcp")
    except (psutil.Error, OSError):
        return found
    for conn in connections:
        if (
            conn.status == psutil.CONN_LISTEN
            and conn.pid is not None
            and conn.laddr
            and conn.laddr.port in wanted
        ):
            found.setdefault(conn.laddr.port, conn.pid)
    return found


def _fill_from_psutil(entries: list[KernelEntry]) -> list[KernelEntry]:
    """pid, memory and CPU from the local process, where the kernel did not say."""
    hostname = socket.gethostname()
    local = [
        entry
        for entry in entries
        if entry.alive
        and entry.info is not None
        and entry.info.transport == "tcp"
        and (entry.pid is None or entry.memory is None)
        and (entry.hostname == hostname if entry.hostname else is_local(entry.info))
    ]
    if not local:
        return entries
    needs_pid = [entry for entry in local if entry.pid is None]
    listeners = listening_pids(
        entry.info.ports["shell"] for entry in needs_pid if entry.info is not None
    )
    filled: dict[Path, KernelEntry] = {}
    processes: dict[Path, psutil.Process] = {}
    for entry in local:
        assert entry.info is not None
        pid = entry.pid if entry.pid is not None else listeners.get(entry.info.ports["shell"])
        if pid is None:
            continue
        try:
            process = psutil.Process(pid)
            if process.name().startswith("ssh"):
                continue  # a tunnel to a remote kernel, not the kernel
            process.cpu_percent(None)
        except psutil.Error:
            continue
        processes[entry.path] = process
        filled[entry.path] = replace(entry, pid=pid)
    if processes:
        time.sleep(0.1)  # one short window for every process's CPU at once
    for path, process in processes.items():
        entry = filled[path]
        try:
            with process.oneshot():
                memory = process.memory_info().rss + sum(
                    child.memory_info().rss for child in process.children(recursive=True)
                )
                cpu = process.cpu_percent(None)
        except psutil.Error:
            continue
        filled[path] = replace(
            entry,
            memory=entry.memory if entry.memory is not None else memory,
            cpu=entry.cpu if entry.cpu is not None else cpu,
        )
    return [filled.get(entry.path, entry) for entry in entries]


def _fill_silent(entries: list[KernelEntry]) -> list[KernelEntry]:
    """The process of each silent local kernel, where one still listens on its shell port:
    a stopped or hung kernel is not a stale file."""
    silent = [
        entry
        for entry in entries
        if not entry.alive
        and entry.info is not None
        and entry.info.transport == "tcp"
        and is_local(entry.info)
    ]
    listeners = listening_pids(
        entry.info.ports["shell"] for entry in silent if entry.info is not None
    )
    found: dict[Path, KernelEntry] = {}
    for entry in silent:
        assert entry.info is not None
        pid = listeners.get(entry.info.ports["shell"])
        if pid is None:
            continue
        try:
            process = psutil.Process(pid)
            if process.name().startswith("ssh"):
                continue  # a tunnel to a remote kernel, not the kernel
            status = process.status()
        except psutil.Error:
            continue
        if status in (psutil.STATUS_ZOMBIE, psutil.STATUS_DEAD):
            continue
        stopped = status in (psutil.STATUS_STOPPED, psutil.STATUS_TRACING_STOP)
        found[entry.path] = replace(entry, pid=pid, process="stopped" if stopped else "running")
    return [found.get(entry.path, entry) for entry in entries]
