"""Why the kernel died, as the session tells it (app/kernel/deaths.py): on a scripted
kernel, with the process's evidence in a fake /proc and cgroup tree. No Textual."""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Callable
from pathlib import Path

from nbtui.app.kernel.entries import Cell
from nbtui.app.kernel.liveness import LivenessSnapshot
from nbtui.app.kernel.model import Notice
from nbtui.app.kernel.postmortem import Watch
from nbtui.app.kernel.usage import UsageSnapshot
from tests.unit.test_model import Request, _msg_id
from tests.unit.test_postmortem import PID, MiB, cgroup_tree, set_kills
from tests.unit.test_session import FakeOwnKernel, alive, attached, notices

GiB = 1 << 30


class DyingOwnKernel(FakeOwnKernel):
    """A kernel of ours whose process ended with `status` (as `OwnKernel.exit_status`)."""

    def __init__(self, status: int | None) -> None:
        super().__init__()
        self.status = status

    def exit_status(self) -> int | None:
        return self.status


def dead() -> LivenessSnapshot:
    return LivenessSnapshot(state="dead", since=0.0, detail="connection lost")


async def until(condition: Callable[[], object], deadline: float = 10.0) -> None:
    end = time.monotonic() + deadline
    while not condition():
        assert time.monotonic() < end, "the condition never came"
        await asyncio.sleep(0.01)


async def test_an_oom_kill_is_told_under_the_death_and_in_the_pane(tmp_path: Path) -> None:
    session, _, _ = await attached()
    proc, cgroup = cgroup_tree(tmp_path)
    session.liveness_changed(alive())
    session.death_watch = Watch(PID, proc=proc, read_kernel_log=False, host_total=64 * GiB)
    session.death_watch.observe(memory=290 * MiB)
    session.drain()
    set_kills(cgroup, 1)
    session.liveness_changed(dead())
    said = notices(session)
    assert said[-2].startswith("the kernel is dead: connection lost")
    assert said[-1] == "post-mortem: looking for why the kernel died…"
    await until(lambda: session.postmortem is not None)
    assert session.postmortem == (
        "killed by the out-of-memory killer (its cgroup /nbtui-test counted a kill): "
        "cgroup /nbtui-test limit 300 MiB; last seen holding 290 MiB"
    )
    assert notices(session)[-1] == f"post-mortem: {session.postmortem}"
    changes = session.drain()
    assert changes.liveness_news  # the liveness pane shows it too
    assert any(
        isinstance(entry, Notice) and "post-mortem" in entry.text for entry in changes.changed
    )
    # Told once: the same death seen again adds nothing.
    session.liveness_changed(dead())
    assert sum(text.startswith("post-mortem") for text in notices(session)) == 1


async def test_the_post_mortem_stays_above_the_restarted_kernels_cells(tmp_path: Path) -> None:
    own = DyingOwnKernel(None)  # not reaped yet: the cause waits for its exit status
    session, _, _ = await attached(own=own)
    session.liveness_changed(alive())
    session.liveness_changed(dead())
    # Its manager restarts it, and someone runs a cell, before the cause is known.
    session.liveness_changed(LivenessSnapshot(state="restarted", since=0.0))
    peer = Request(_msg_id(), "peer-session", "alice")
    session.model.apply_all([peer.busy(), peer.input("print(1)", 1), peer.idle()])
    own.status = -signal.SIGKILL
    await until(lambda: session.postmortem is not None)
    assert session.postmortem == "killed by SIGKILL; last seen idle"
    entries = session.model.entries
    line = next(
        i for i, e in enumerate(entries) if isinstance(e, Notice) and "post-mortem" in e.text
    )
    cell = next(i for i, e in enumerate(entries) if isinstance(e, Cell) and e.code == "print(1)")
    assert line < cell
    assert notices(session).count("post-mortem: killed by SIGKILL; last seen idle") == 1


async def test_an_own_kernel_killed_by_sigsegv() -> None:
    session, _, _ = await attached(own=DyingOwnKernel(-signal.SIGSEGV))
    session.liveness_changed(alive())
    session.liveness_changed(dead())
    await until(lambda: session.postmortem is not None)
    assert session.postmortem == "killed by SIGSEGV (segmentation fault); last seen idle"


async def test_a_remote_death_says_the_last_figures_and_whose_cell_ran() -> None:
    session, _, _ = await attached()  # the scripted kernel is on another host
    session.liveness_changed(alive())
    session.usage_changed(
        UsageSnapshot(source="kernel", at=0.0, pid=77, kernel_memory=GiB, kernel_cpu=98.0)
    )
    peer = Request(_msg_id(), "peer-session", "alice")
    session.model.apply_all([peer.busy(), peer.input("train(model)\nsave()", 3)])
    session.liveness_changed(dead())
    # Nothing to read on this machine: told at once, and "cause unknown", never a guess.
    assert notices(session)[-1] == (
        "post-mortem: the kernel is remote: cause unknown "
        "(last seen holding 1.0 GiB, 98 % CPU, running `train(model)` (alice))"
    )
    assert session.postmortem is not None
    session.liveness_changed(LivenessSnapshot(state="restarted", since=0.0))
    assert session.postmortem is not None  # the pane still says why, next to "restarted"
    session.liveness_changed(alive())
    assert session.postmortem is None


async def test_idle_for_counts_from_the_last_cell() -> None:
    session, _, _ = await attached()
    peer = Request(_msg_id(), "peer-session", "alice")
    session.model.apply_all([peer.busy(), peer.input("x = 1", 1)])
    assert session.idle_for is None  # a cell runs
    session.model.apply_all([peer.idle()])
    assert session.idle_for is not None
