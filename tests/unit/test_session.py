"""The kernel session's decisions, on a scripted kernel with a fake clock: no Textual,
no sockets, no kernel process."""

from __future__ import annotations

import asyncio
import dataclasses
import subprocess
import sys
import time

import pytest

from nbtui.app.kernel.liveness import LivenessSnapshot
from nbtui.app.kernel.model import Notice
from nbtui.app.kernel.session import KernelSession
from nbtui.app.kernel.usage import UsageSnapshot
from tests.fakes import FakeClock, ScriptedTransport, scripted_client
from tests.unit.test_model import Request, _msg_id


class FakeOwnKernel:
    """The kernel nbtui started, as far as the session uses it."""

    def __init__(self) -> None:
        self.interrupts = 0
        self.restarts = 0
        self.session_id = "manager-1"
        """Its kernel manager's session, which sends the restart's shutdown_request."""

    async def interrupt(self) -> None:
        self.interrupts += 1

    async def restart(self) -> None:
        self.restarts += 1


class FakeMonitor:
    """Stands for the liveness monitor: records what the session tells it."""

    def __init__(self, settled: bool = False) -> None:
        self.settled = settled
        self.busy = False
        self.acknowledged = 0
        self.process = None

    def acknowledge(self) -> None:
        self.acknowledged += 1


async def attached(
    own: FakeOwnKernel | None = None, transport: ScriptedTransport | None = None
) -> tuple[KernelSession, ScriptedTransport, FakeClock]:
    client, transport = scripted_client(transport)
    clock = FakeClock()
    session = KernelSession(client, own_kernel=own, clock=clock)  # type: ignore[arg-type]
    await session.attach()
    session.attached()
    return session, transport, clock


async def settle(session: KernelSession) -> None:
    """Let the scripted kernel answer, then take in what it sent."""
    for _ in range(5):
        await asyncio.sleep(0)
    session.drain()


def notices(session: KernelSession) -> list[str]:
    return [entry.text for entry in session.model.entries if isinstance(entry, Notice)]


def alive(**changes: object) -> LivenessSnapshot:
    return dataclasses.replace(LivenessSnapshot(state="alive", since=0.0, hb_rtt=0.0001), **changes)


async def test_attach_says_where_and_how_others_join() -> None:
    session, _, _ = await attached()
    changes = session.drain()
    assert changes.kernel_info
    assert session.kernel == "python 3.11.0 (ipython 8.0.0)"
    assert session.language == "python3"
    assert session.state == "idle"
    assert notices(session)[0].startswith("attached to python 3.11.0 (ipython 8.0.0) as you")
    assert "join:" in notices(session)[0]


async def test_a_kernel_we_started_is_announced_as_ours() -> None:
    session, _, _ = await attached(own=FakeOwnKernel())
    assert notices(session)[0].startswith("started kernel python 3.11.0")


async def test_kernel_info_is_untrusted_text() -> None:
    transport = ScriptedTransport(
        {"implementation": "evil\x1b[2J", "language_info": {"name": "py\x1bc"}}
    )
    session, _, _ = await attached(transport=transport)
    assert "\x1b" not in session.kernel
    assert session.language == "text"


async def test_a_cell_runs_and_the_state_follows_it() -> None:
    transport = ScriptedTransport()
    transport.hold = True
    session, transport, _ = await attached(transport=transport)
    session.execute("import time; time.sleep(1)")
    await settle(session)
    assert session.state == "busy"
    assert session.next_count() == 2
    transport.finish()
    await settle(session)
    assert session.state == "idle"
    assert transport.sent_types("shell") == ["execute_request"]


async def test_enter_runs_a_whole_cell_and_asks_for_more_of_a_part() -> None:
    session, transport, _ = await attached()
    assert await session.judge("   ", force=False) == "empty"
    assert await session.judge("exit", force=False) == "exit"
    assert await session.judge("print(1)", force=False) == "run"
    # No round trip for one plain line of Python.
    assert "is_complete_request" not in transport.sent_types()
    transport.complete_reply = {"status": "incomplete", "indent": "    "}
    assert await session.judge("for i in range(3):\n", force=False) == "more"
    assert await session.judge("for i in range(3):\n", force=True) == "run"


async def test_the_kernels_own_start_is_not_a_restart_but_a_later_one_is() -> None:
    session, transport, _ = await attached()
    transport.publish("status", {"execution_state": "starting"})
    await settle(session)
    assert "the kernel (re)started" not in notices(session)
    session.client.attached_at = time.monotonic() - session.STARTUP_GRACE - 1
    transport.publish("status", {"execution_state": "starting"})
    await settle(session)
    assert "the kernel (re)started" in notices(session)


async def test_an_input_request_reaches_the_ui_and_its_answer_the_transcript() -> None:
    session, transport, _ = await attached()
    transport.on_execute = lambda code: []
    transport.hold = True
    msg_id = session.execute("input('name? ')")
    await settle(session)
    parent = {"msg_id": msg_id, "session": session.client.session_id, "msg_type": "x"}
    transport._send("stdin", "input_request", {"prompt": "name? ", "password": False}, parent)
    changes = session.drain()
    [request] = changes.input_requests
    session.answer_input(request, "bob")
    assert transport.sent_types("stdin") == ["input_reply"]
    assert "bob" in session.model.cells[msg_id].outputs[-1].text


async def test_death_stops_the_cells_and_says_so_once() -> None:
    transport = ScriptedTransport()
    transport.hold = True
    session, transport, _ = await attached(transport=transport)
    woken: list[None] = []
    session.on_change = lambda: woken.append(None)
    msg_id = session.execute("while True: pass")
    await settle(session)
    session.liveness_changed(alive())
    dead = LivenessSnapshot(state="dead", since=0.0, detail="no heartbeat for 3 s")
    session.liveness_changed(dead)
    session.liveness_changed(dead)
    assert woken
    assert session.state == "dead"
    assert session.trouble == "no heartbeat for 3 s"
    assert session.model.cells[msg_id].state == "aborted"
    said = [text for text in notices(session) if text.startswith("the kernel is dead")]
    assert said == ["the kernel is dead: no heartbeat for 3 s (the transcript stays readable)"]
    changes = session.drain()
    assert changes.liveness and changes.liveness_news
    session.liveness_changed(alive())
    assert notices(session)[-1] == "the kernel answers again"
    assert session.state == "idle" and session.trouble is None


@pytest.mark.parametrize(
    ("state", "said"),
    [
        ("stopped", "the kernel is stopped, not dead: SIGSTOP"),
        ("lost", "the kernel is lost: SIGSTOP (it may yet answer again)"),
        ("unresponsive", "the kernel is not answering (SIGSTOP)"),
        ("restarting", "the kernel is restarting (its owner restarts it)"),
    ],
)
async def test_each_trouble_has_its_words(state: str, said: str) -> None:
    session, _, _ = await attached()
    session.liveness_changed(alive())
    session.liveness_changed(LivenessSnapshot(state=state, since=0.0, detail="SIGSTOP"))  # type: ignore[arg-type]
    # A restart nobody here asked for is a death: its post-mortem follows.
    told = [text for text in notices(session) if not text.startswith("post-mortem: ")]
    assert told[-1].startswith(said)
    assert session.state == state


async def test_restarted_rereads_kernel_info_and_is_acknowledged_later() -> None:
    session, transport, clock = await attached()
    monitor = FakeMonitor()
    session.monitor = monitor  # type: ignore[assignment]
    session.liveness_changed(alive())
    session.drain()
    transport.kernel_info["implementation_version"] = "9.0.0"
    session.client.kernel_info = transport.kernel_info
    session.liveness_changed(LivenessSnapshot(state="restarted", since=0.0))
    assert "the kernel restarted on the same ports: its variables are gone" in notices(session)
    assert session.drain().kernel_info
    assert session.kernel.endswith("(ipython 9.0.0)")
    assert session.deadlines.next_due() == clock.now + session.RESTARTED_SHOWN
    clock.advance(session.RESTARTED_SHOWN - 1)
    session.deadlines.run_due()
    assert monitor.acknowledged == 0
    clock.advance(1)
    session.deadlines.run_due()
    assert monitor.acknowledged == 1
    assert session.deadlines.next_due() is None


async def test_a_settled_monitor_skips_round_trip_wiggles() -> None:
    session, _, _ = await attached()
    session.monitor = FakeMonitor(settled=True)  # type: ignore[assignment]
    session.liveness_changed(alive(hb_history=(0.0001,)))
    session.drain()
    session.liveness_changed(alive(hb_rtt=0.5, hb_history=(0.0001, 0.5)))
    changes = session.drain()
    assert changes.liveness and not changes.liveness_news
    session.liveness_changed(alive(hb_rtt=0.5, control_latency=0.25))
    assert session.drain().liveness_news


async def test_interrupting_nothing_sends_nothing() -> None:
    session, transport, _ = await attached()
    assert not await session.interrupt()
    assert "interrupt_request" not in transport.sent_types()


async def test_an_ignored_interrupt_is_reported_after_the_grace() -> None:
    transport = ScriptedTransport()
    transport.hold = True
    session, transport, clock = await attached(transport=transport)
    session.execute("while True: pass")
    await settle(session)
    assert await session.interrupt()
    await settle(session)
    assert transport.sent_types("control")[-1] == "interrupt_request"
    clock.advance(session.INTERRUPT_GRACE - 0.5)
    session.deadlines.run_due()
    assert not any("interrupt" in text for text in notices(session))
    clock.advance(0.5)
    session.deadlines.run_due()
    assert "did not respond to the interrupt within 3 s" in notices(session)[-1]
    # Pressed moments after the cell started: ipykernel can miss that one.
    assert "press ctrl+c again" in notices(session)[-1]


async def test_an_interrupt_ignored_well_into_a_cell_blames_the_code() -> None:
    transport = ScriptedTransport()
    transport.hold = True
    session, transport, clock = await attached(transport=transport)
    session.execute("while True: pass")
    await settle(session)
    for cell in session.model.running.values():
        cell.started = time.monotonic() - 60
    assert await session.interrupt()
    await settle(session)
    clock.advance(session.INTERRUPT_GRACE)
    session.deadlines.run_due()
    assert "C code that ignores SIGINT" in notices(session)[-1]
    assert "again" not in notices(session)[-1]


async def test_a_heeded_interrupt_says_nothing_more() -> None:
    transport = ScriptedTransport()
    transport.hold = True
    own = FakeOwnKernel()
    session, transport, clock = await attached(own=own, transport=transport)
    session.execute("while True: pass")
    await settle(session)
    assert await session.interrupt()
    # nbtui's own kernel is interrupted by its manager (a signal), not by a message.
    assert own.interrupts == 1
    assert "interrupt_request" not in transport.sent_types()
    transport.finish()
    await settle(session)
    clock.advance(session.INTERRUPT_GRACE)
    session.deadlines.run_due()
    assert not any("interrupt" in text for text in notices(session))


async def test_restart_is_only_for_our_own_kernel() -> None:
    session, _, _ = await attached()
    await session.restart()
    assert not any("restarting" in text for text in notices(session))
    own = FakeOwnKernel()
    session, _, _ = await attached(own=own)
    await session.restart()
    assert own.restarts == 1
    assert notices(session)[-1] == "restarting the kernel (you asked)"


async def test_memory_short_is_warned_about_once() -> None:
    session, _, _ = await attached()
    usage = UsageSnapshot(source="kernel", at=0.0, memory_warning=True, memory_share=0.91)
    session.usage_changed(usage)
    session.usage_changed(usage)
    warned = [text for text in notices(session) if "out-of-memory" in text]
    assert warned == [
        "the kernel uses 91% of the memory it can get: the out-of-memory killer may strike soon"
    ]
    assert session.drain().usage


async def test_no_cell_goes_to_a_dead_kernel_and_the_way_back_is_said() -> None:
    session, transport, _ = await attached()
    session.liveness_changed(alive())
    session.liveness_changed(LivenessSnapshot(state="dead", since=0.0, detail="gone"))
    assert await session.judge("print(1)", force=False) == "refused"
    assert notices(session)[-1].startswith("not sent: the kernel is dead, and only whoever")
    assert "nbtui --existing" in notices(session)[-1]
    assert "execute_request" not in transport.sent_types()
    # Leaving still works.
    assert await session.judge("exit", force=False) == "exit"


async def test_a_cell_that_would_shut_the_kernel_down_is_held_back() -> None:
    session, _, _ = await attached()
    assert await session.judge("x = 1\nexit()", force=False) == "refused"
    assert "calls exit()" in notices(session)[-1]
    assert await session.judge("exit(keep_kernel=True)", force=False) == "exit"


async def test_a_death_under_our_cell_is_pinned_on_it() -> None:
    transport = ScriptedTransport()
    transport.hold = True
    session, transport, _ = await attached(transport=transport)
    msg_id = session.execute("import os; os._exit(1)")
    # Its busy and execute_input arrived, but no frame has drained them yet.
    for _ in range(5):
        await asyncio.sleep(0)
    assert session.client.inbox
    waiting = asyncio.ensure_future(session.await_reply(msg_id))
    session.liveness_changed(alive())
    session.liveness_changed(LivenessSnapshot(state="dead", since=0.0, detail="gone"))
    assert notices(session)[-1].startswith("the kernel died while your cell In [1] ran")
    assert session.drain().close_input
    assert await waiting is False


async def test_an_exit_the_code_hid_is_reported_from_the_reply() -> None:
    transport = ScriptedTransport()
    transport.hold = True
    transport.payload = [{"source": "ask_exit", "keepkernel": False}]
    session, transport, _ = await attached(transport=transport)
    waiting = asyncio.ensure_future(session.await_reply(session.execute('eval("exit()")')))
    await settle(session)
    transport.finish()
    assert await waiting is False
    assert notices(session)[-1].startswith("your cell In [1] called exit()")
    transport.payload = [{"source": "ask_exit", "keepkernel": True}]
    waiting = asyncio.ensure_future(session.await_reply(session.execute("exit(True)")))
    await settle(session)
    transport.finish()
    assert await waiting is True


async def test_an_input_prompt_closed_by_ctrl_c_comes_back_if_the_interrupt_fails() -> None:
    transport = ScriptedTransport()
    transport.hold = True
    session, transport, clock = await attached(transport=transport)
    msg_id = session.execute("input()")
    await settle(session)
    parent = {"msg_id": msg_id, "session": session.client.session_id, "msg_type": "x"}
    transport._send("stdin", "input_request", {"prompt": "", "password": False}, parent)
    [request] = session.drain().input_requests
    assert await session.interrupt(request)
    clock.advance(session.INTERRUPT_GRACE)
    session.deadlines.run_due()
    assert session.drain().ask_again is request


def test_the_session_does_not_need_textual() -> None:
    code = "import sys, nbtui.app.kernel.session; print('textual' in sys.modules)"
    found = subprocess.run(
        [sys.executable, "-c", code], check=False, capture_output=True, text=True
    )
    assert found.stdout.strip() == "False", found.stderr


async def test_a_restart_the_user_asked_for_is_told_once_and_its_end_once() -> None:
    """Found by hand: one F9 printed five lines, two calling the user "its owner"."""
    own = FakeOwnKernel()
    session, _, _ = await attached(own=own)
    session.liveness_changed(alive())
    before = len(notices(session))
    await session.restart()
    session.liveness_changed(LivenessSnapshot(state="restarting", since=0.0))
    manager = Request(_msg_id(), own.session_id, "root", "shutdown_request")
    session.model.apply_all(
        [
            manager.busy(),
            manager.iopub("shutdown_reply", {"status": "ok", "restart": True}),
            manager.idle(),
        ]
    )
    session.liveness_changed(LivenessSnapshot(state="restarted", since=0.0))
    said = notices(session)[before:]
    assert said[0] == "restarting the kernel (you asked)"
    assert len(said) == 2, said
    assert said[1].startswith("the kernel restarted")
    # A restart nobody here asked for is still told as such, with a post-mortem.
    session.liveness_changed(alive())
    session.liveness_changed(LivenessSnapshot(state="restarting", since=0.0))
    assert notices(session)[-2].startswith("the kernel is restarting")
    assert notices(session)[-1].startswith("post-mortem: ")


async def test_the_prompt_counts_from_1_again_after_a_restart() -> None:
    # It counted on from the cells before the restart: In [3] where the kernel said 2.
    session, transport, _ = await attached()
    session.liveness_changed(alive())
    session.execute("a = 1")
    session.execute("b = 2")
    await settle(session)
    assert session.next_count() == 3
    session.liveness_changed(LivenessSnapshot(state="restarted", since=0.0))
    transport.count = 0  # a new process
    session.base_count = 7  # the editor's inputs, counted again as the kernel is shown
    assert session.next_count() == 1
    session.liveness_changed(alive())
    session.execute("c = 3")
    await settle(session)
    assert session.next_count() == 2
