"""Cells whose end iopub lost: ended by the next cell's busy (a kernel that runs one cell at
a time) or once iopub delivers a request of ours sent after the cell's reply; never by a
timeout. Scripted messages: a kernel's PUB socket drops the idle only under a flood."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from nbtui.app.kernel import lost_ends
from nbtui.app.kernel.lost_ends import IopubOrder, end_passed, runs_one_at_a_time
from nbtui.app.kernel.model import Notice, Transcript
from nbtui.app.kernel.session import KernelSession
from tests.fakes import ScriptedTransport, scripted_client
from tests.unit.test_model import OTHER, OWN, feed, other, own


def one_at_a_time() -> Transcript:
    transcript = Transcript(OWN)
    transcript.side_by_side = False
    return transcript


def test_the_next_cells_busy_ends_one_whose_idle_was_lost() -> None:
    transcript = one_at_a_time()
    first, second = other(), own()
    feed(transcript, first.busy(), first.input("flood()"), first.stream("x\n"))
    feed(transcript, second.busy(), second.input("print(1)"))  # first's idle never came
    ended = transcript.cells[first.msg_id]
    assert ended.state == "ok" and ended.finished is not None
    assert list(transcript.running) == [second.msg_id]
    assert transcript.peers[OTHER].running == 0
    assert transcript.take_lost_ends() == [ended]
    assert transcript.take_lost_ends() == []
    feed(transcript, first.stream("late\n"), first.idle())  # a late straggler changes nothing
    assert ended.state == "ok" and list(transcript.running) == [second.msg_id]


def test_a_kernel_that_may_run_cells_side_by_side_keeps_both_running() -> None:
    transcript = Transcript(OWN)  # nothing known of the kernel yet
    first, second = other(), own()
    feed(transcript, first.busy(), second.busy())
    assert set(transcript.running) == {first.msg_id, second.msg_id}
    assert transcript.take_lost_ends() == []


def test_a_cell_replied_to_ends_once_iopub_delivers_a_later_request() -> None:
    transcript = one_at_a_time()
    cell = own()
    feed(transcript, cell.busy(), cell.input("1/0"), cell.reply("error"))
    replied = transcript.replied[cell.msg_id]
    end_passed(transcript, replied + lost_ends.LATER / 2)  # too soon: the idle may follow
    assert cell.msg_id in transcript.running
    end_passed(transcript, replied + lost_ends.LATER)
    ended = transcript.cells[cell.msg_id]
    assert ended.state == "error"  # as its reply said
    assert not transcript.running and not transcript.replied
    assert transcript.take_lost_ends() == [ended]


def test_a_reply_before_its_idle_is_no_loss() -> None:
    transcript = one_at_a_time()
    cell = own()
    feed(transcript, cell.busy(), cell.reply("ok"), cell.idle())
    assert not transcript.replied
    end_passed(transcript, float("inf"))
    assert transcript.take_lost_ends() == []
    feed(transcript, cell.reply("ok"))  # an idle before the reply: ended already
    assert not transcript.replied


def test_iopub_order_advances_on_our_requests_only_and_forgets_old_ones() -> None:
    order = IopubOrder()
    order.sent("probe-1")
    order.heard("someone-elses")
    assert order.through == 0.0
    order.heard("probe-1")
    first = order.through
    assert first > 0
    order.heard("probe-1")  # its idle after its busy: nothing more
    assert order.through == first
    for index in range(IopubOrder.KEPT + 10):
        order.sent(f"unheard-{index}")
    assert len(order._sent) == IopubOrder.KEPT


@pytest.mark.parametrize(
    ("info", "one"),
    [
        ({"implementation": "ipython"}, True),
        ({"implementation": "ipython", "supported_features": ["kernel subshells"]}, False),
        ({"implementation": "akernel"}, False),
        ({}, False),
    ],
)
def test_which_kernels_run_one_cell_at_a_time(info: dict[str, Any], one: bool) -> None:
    assert runs_one_at_a_time(info) is one


class LosingTransport(ScriptedTransport):
    """A kernel whose PUB socket dropped the idle of every cell (a flood, a slow link)."""

    def _send(
        self, channel: str, msg_type: str, content: dict[str, Any], parent: dict[str, Any] | None
    ) -> None:
        lost = (
            msg_type == "status"
            and content.get("execution_state") == "idle"
            and (parent or {}).get("msg_type") == "execute_request"
        )
        if not lost:
            super()._send(channel, msg_type, content, parent)


async def test_the_session_ends_our_cell_after_a_probe_and_says_why(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(lost_ends, "LATER", 0.0)
    client, _ = scripted_client(LosingTransport())
    session = KernelSession(client)
    await session.attach()
    session.attached()
    msg_id = session.execute("print(1)")
    cell = session.model.cells[msg_id]
    await asyncio.sleep(0.01)
    session.drain()
    assert cell.state == "running" and session.state == "busy"
    await client.request("control", "kernel_info_request", {}, 1.0)  # a liveness probe
    session.drain()
    assert cell.state == "ok" and session.state == "idle"
    said = [entry.text for entry in session.model.entries if isinstance(entry, Notice)]
    assert said[-1].startswith("your cell In [1] has ended, but iopub lost its end")
