"""A real kernel's death explained: the out-of-memory killer in a small memory cgroup,
and an own kernel killed by SIGKILL and by SIGSEGV; through `postmortem.Watch` alone, and
through a `KernelSession` (what the transcript and the liveness pane say)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import psutil
import pytest

from nbtui.app.kernel.client import KernelClient
from nbtui.app.kernel.connection import load_connection_file
from nbtui.app.kernel.entries import Notice
from nbtui.app.kernel.errors import NbtuiError
from nbtui.app.kernel.launcher import OwnKernel
from nbtui.app.kernel.limits import memory_cgroup
from nbtui.app.kernel.postmortem import Watch, process_exit_status
from nbtui.app.kernel.session import KernelSession
from nbtui.app.nbtui_app import create_app
from tests.ui.conftest import until as until_app
from tests.ui.conftest import until_shown

LIMIT = 300 << 20


@pytest.fixture
async def own(isolated_jupyter: Path) -> AsyncIterator[OwnKernel]:
    kernel = await OwnKernel.start()
    try:
        yield kernel
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(kernel_pid(kernel), signal.SIGKILL)
        await kernel.shutdown()


def kernel_pid(own: OwnKernel) -> int:
    pid = own.manager.provisioner.pid  # type: ignore[union-attr]
    assert isinstance(pid, int)
    return pid


async def exit_status(own: OwnKernel, deadline: float = 60.0) -> int:
    """The kernel process's exit status, once it has one."""
    end = time.monotonic() + deadline
    while (status := process_exit_status(own.manager)) is None:
        assert time.monotonic() < end, "the kernel did not die"
        await asyncio.sleep(0.05)
    return status


@pytest.fixture
def small_cgroup() -> Iterator[Path]:
    """A child of this process's v1 memory cgroup, limited to 300 MiB (swap included)."""
    own = memory_cgroup(os.getpid())
    if own is None or own.version != 1:
        pytest.skip("no cgroup v1 memory controller for this process")
    child = own.directory / f"nbtui-test-{os.getpid()}"
    try:
        child.mkdir()
    except OSError as error:
        pytest.skip(f"cannot create a memory cgroup under {own.directory}: {error}")
    try:
        try:
            (child / "memory.limit_in_bytes").write_text(str(LIMIT))
            memsw = child / "memory.memsw.limit_in_bytes"
            if memsw.exists():
                memsw.write_text(str(LIMIT))  # no escape into swap
        except OSError as error:
            pytest.skip(f"cannot set a memory cgroup's limit: {error}")
        yield child
    finally:
        with contextlib.suppress(OSError, ValueError):
            for pid in (child / "cgroup.procs").read_text().split():
                os.kill(int(pid), signal.SIGKILL)
        end = time.monotonic() + 30
        while True:
            try:
                child.rmdir()
                break
            except FileNotFoundError:
                break
            except OSError:
                # Killed processes leave the cgroup as they are reaped.
                if time.monotonic() > end:
                    raise
                time.sleep(0.05)


async def test_the_out_of_memory_killer_is_named_with_the_limit(
    own: OwnKernel, small_cgroup: Path
) -> None:
    pid = kernel_pid(own)
    (small_cgroup / "cgroup.procs").write_text(str(pid))
    watch = Watch(pid, log_path=own.log_path)
    assert watch.cgroup is not None and watch.cgroup.directory == small_cgroup
    assert watch.baseline_kills == 0
    watch.observe(memory=psutil.Process(pid).memory_info().rss, running="")
    client = own.manager.client()
    client.start_channels()
    try:
        await client.wait_for_ready(timeout=60)
        code = "x = bytearray(600 << 20)\nfor i in range(0, len(x), 4096):\n    x[i] = 1\n"
        client.execute(code)
        watch.observe(running=code, owner="tester")
        status = await exit_status(own)
    finally:
        client.stop_channels()
    assert status == -signal.SIGKILL
    line = watch.cause(status)
    assert line.startswith("killed by the out-of-memory killer ("), line
    assert f"cgroup {watch.cgroup.path} limit 300 MiB" in line, line
    assert "last seen holding" in line
    assert watch.cgroup.oom_kills() == 1  # the cgroup's count alone would have told too


async def test_an_own_kernel_killed_by_sigkill(own: OwnKernel) -> None:
    pid = kernel_pid(own)
    watch = Watch(pid, log_path=own.log_path)
    watch.observe(memory=psutil.Process(pid).memory_info().rss, cpu=0.0, running="")
    os.kill(pid, signal.SIGKILL)
    line = watch.cause(await exit_status(own))
    assert line.startswith("killed by SIGKILL; last seen holding "), line


async def test_an_own_kernel_killed_by_sigsegv(own: OwnKernel) -> None:
    pid = kernel_pid(own)
    watch = Watch(pid, log_path=own.log_path)
    os.kill(pid, signal.SIGSEGV)
    line = watch.cause(await exit_status(own))
    assert line == "killed by SIGSEGV (segmentation fault)", line


async def until(condition: Callable[[], object], deadline: float = 30.0) -> None:
    end = time.monotonic() + deadline
    while not condition():
        assert time.monotonic() < end, "the condition never came"
        await asyncio.sleep(0.01)


async def attached(own: OwnKernel) -> KernelClient:
    """A client attached to `own`'s kernel through its connection file, as "tester"."""
    client = KernelClient(load_connection_file(own.connection_file), username="tester")
    end = time.monotonic() + 60
    while True:  # a kernel just started binds its ports a while later (as nbtui retries)
        try:
            await client.attach()
            return client
        except NbtuiError:
            if time.monotonic() > end or not await own.may_be_starting():
                raise


@contextlib.asynccontextmanager
async def session_on(own: OwnKernel, *, owner: bool) -> AsyncIterator[KernelSession]:
    """A kernel-layer session on `own`'s kernel, watching it as nbtui does: as the
    kernel's starter (`owner`), or attached through its connection file like any nbtui
    that did not start it."""
    client = await attached(own)
    session = KernelSession(client, own_kernel=own if owner else None)
    session.attached()
    session.watch()
    try:
        pid = kernel_pid(own)
        # The process is watched once the usage poller has named it.
        await until(lambda: session.death_watch is not None and session.death_watch.pid == pid)
        yield session
    finally:
        await session.close()
        await client.close()


def postmortems(session: KernelSession) -> list[str]:
    return [
        entry.text
        for entry in session.model.entries
        if isinstance(entry, Notice) and entry.text.startswith("post-mortem: ")
    ]


async def test_an_attached_session_names_the_out_of_memory_killer_and_the_limit(
    own: OwnKernel, small_cgroup: Path
) -> None:
    pid = kernel_pid(own)
    (small_cgroup / "cgroup.procs").write_text(str(pid))
    async with session_on(own, owner=False) as session:
        await until(lambda: session.usage is not None and session.usage.memory_limit is not None)
        assert session.usage is not None and session.usage.memory_limit is not None
        assert session.usage.memory_limit.limit == LIMIT  # what the pane counts against
        peer = own.manager.client()  # someone else's cell, not the session's
        peer.start_channels()
        try:
            peer.execute(
                "x = bytearray(600 << 20)\nfor i in range(0, len(x), 4096):\n    x[i] = 1\n"
            )
            assert await exit_status(own) == -signal.SIGKILL
            died = time.monotonic()
            await until(lambda: session.postmortem is not None)
            told = time.monotonic() - died
        finally:
            peer.stop_channels()
        assert session.state == "dead"
        cause = session.postmortem or ""
        assert cause.startswith("killed by the out-of-memory killer ("), cause
        assert "limit 300 MiB" in cause, cause
        assert postmortems(session) == [f"post-mortem: {cause}"]
        # The acceptance bound, measured from the moment the test saw the exit status.
        assert told < 1.0, f"told {told:.2f} s after the death"


@pytest.mark.parametrize(
    ("sig", "said"),
    [
        (signal.SIGKILL, "killed by SIGKILL"),
        (signal.SIGSEGV, "killed by SIGSEGV (segmentation fault)"),
    ],
)
async def test_a_session_on_its_own_kernel_names_the_signal(
    own: OwnKernel, sig: signal.Signals, said: str
) -> None:
    async with session_on(own, owner=True) as session:
        os.kill(kernel_pid(own), sig)
        await until(lambda: session.postmortem is not None)
        assert session.state == "dead"
        assert (session.postmortem or "").startswith(said), session.postmortem
        assert postmortems(session) == [f"post-mortem: {session.postmortem}"]


async def test_the_app_shows_why_its_own_kernel_died(own: OwnKernel) -> None:
    """What the user sees: the transcript's line and the liveness pane's (panes shown at
    200x50), after the kernel nbtui started segfaults."""
    client = await attached(own)
    try:
        app = create_app(client, own_kernel=own)
        async with app.run_test(size=(200, 50)) as pilot:
            await until_app(pilot, lambda: app.kernel_state == "idle")
            pid = kernel_pid(own)
            session = app.session
            await until_app(
                pilot, lambda: session.death_watch is not None and session.death_watch.pid == pid
            )
            os.kill(pid, signal.SIGSEGV)
            text = await until_shown(
                pilot, app, "post-mortem: killed by SIGSEGV (segmentation fault)", "● dead"
            )
            # The transcript's line and the liveness pane's.
            assert text.count("killed by SIGSEGV (segmentation fault)") == 2, text
    finally:
        await client.close()
