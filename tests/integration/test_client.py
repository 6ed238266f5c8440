"""KernelClient against a real ipykernel: requests, routing, floods, peers, interrupt."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from jupyter_client import KernelManager

from nbtui.app.kernel.client import KernelClient
from nbtui.app.kernel.connection import load_connection_file
from nbtui.app.kernel.errors import NbtuiError
from nbtui.app.kernel.messages import Msg

DEADLINE = 30.0


async def collect(
    client: KernelClient, done: Callable[[Msg], bool], deadline: float = DEADLINE
) -> list[Msg]:
    """Drain the inbox until a message satisfies `done`; every drained message is kept,
    those drained with it after it too (an execute_reply often comes in the same batch
    as the cell's idle, and a loop that stopped at the idle lost it)."""
    seen: list[Msg] = []
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        batch = client.drain()
        seen.extend(batch)
        if any(done(msg) for msg in batch):
            return seen
        await asyncio.sleep(0.01)
    raise AssertionError(f"no such message within {deadline} s; saw {len(seen)} messages")


def idle_of(msg_id: str) -> Callable[[Msg], bool]:
    def done(msg: Msg) -> bool:
        return (
            msg.channel == "iopub"
            and msg.msg_type == "status"
            and msg.parent_id == msg_id
            and msg.content.get("execution_state") == "idle"
        )

    return done


async def run(client: KernelClient, code: str, deadline: float = DEADLINE) -> list[Msg]:
    """Execute and return every message drained until the cell's idle."""
    msg_id = client.execute(code)
    return await collect(client, idle_of(msg_id), deadline)


def stdout_of(messages: list[Msg], msg_id: str | None = None) -> str:
    return "".join(
        str(msg.content.get("text", ""))
        for msg in messages
        if msg.msg_type == "stream"
        and msg.content.get("name") == "stdout"
        and (msg_id is None or msg.parent_id == msg_id)
    )


async def wait_iopub_live(client: KernelClient) -> None:
    """Subscriptions propagate asynchronously: wait until iopub delivers something."""
    end = time.monotonic() + DEADLINE
    while time.monotonic() < end:
        if any(msg.channel == "iopub" for msg in client.inbox):
            client.drain()
            return
        await client.request("control", "kernel_info_request", {}, timeout=1.0)
        await asyncio.sleep(0.05)
    raise AssertionError("iopub never delivered a message")


@pytest.fixture
async def client(kernel: KernelManager) -> AsyncIterator[KernelClient]:
    kc = KernelClient(load_connection_file(Path(kernel.connection_file)), username="tester")
    try:
        await kc.attach()
        await wait_iopub_live(kc)
        yield kc
    finally:
        await kc.close()


async def test_attach_returns_kernel_info(kernel: KernelManager) -> None:
    kc = KernelClient(load_connection_file(Path(kernel.connection_file)))
    try:
        info = await kc.attach()
        assert info["status"] == "ok"
        assert info["language_info"]["name"] == "python"
        assert info["implementation"] == "ipython"
        assert kc.kernel_info == info
        assert kc.hb_rtt is not None
        assert kc.bad_signatures == 0
    finally:
        await kc.close()


async def test_execute_shows_stream_output(client: KernelClient) -> None:
    msg_id = client.execute("print('hello from the kernel')")
    messages = await collect(client, idle_of(msg_id))
    assert stdout_of(messages, msg_id) == "hello from the kernel\n"
    mine = [msg for msg in messages if msg.parent_id == msg_id]
    inputs = [msg for msg in mine if msg.msg_type == "execute_input"]
    assert len(inputs) == 1
    assert inputs[0].content["code"] == "print('hello from the kernel')"
    assert inputs[0].parent_session == client.session_id
    assert inputs[0].parent_username == "tester"
    assert inputs[0].parent_msg_type == "execute_request"
    # Nobody awaits the execute_reply, so it reaches the inbox too (maybe after idle).
    replies = [msg for msg in mine if msg.msg_type == "execute_reply"]
    if not replies:
        replies = [
            msg
            for msg in await collect(
                client, lambda m: m.msg_type == "execute_reply" and m.parent_id == msg_id
            )
            if msg.msg_type == "execute_reply"
        ]
    assert replies[0].channel == "shell"
    assert replies[0].content["status"] == "ok"


async def test_execute_result_and_error(client: KernelClient) -> None:
    ok_id = client.execute("6 * 7")
    messages = await collect(client, idle_of(ok_id))
    (result,) = [m for m in messages if m.msg_type == "execute_result" and m.parent_id == ok_id]
    assert result.content["data"]["text/plain"] == "42"

    err_id = client.execute("1 / 0")
    messages = await collect(client, idle_of(err_id))
    (error,) = [m for m in messages if m.msg_type == "error" and m.parent_id == err_id]
    assert error.content["ename"] == "ZeroDivisionError"


async def test_is_complete(client: KernelClient) -> None:
    assert await client.is_complete("for i in range(3):", timeout=10) == "incomplete"
    assert await client.is_complete("1+1", timeout=10) == "complete"


async def test_complete(client: KernelClient) -> None:
    result = await client.complete("imp", 3, timeout=20)
    assert result is not None
    matches, start, end = result
    assert "import" in matches
    assert (start, end) == (0, 3)


async def test_history_contains_an_earlier_cell(client: KernelClient) -> None:
    await run(client, "history_marker = 12345")
    await run(client, "history_marker += 1")
    inputs = await client.history(timeout=10)
    assert "history_marker = 12345" in inputs
    assert inputs.index("history_marker = 12345") < inputs.index("history_marker += 1")


async def test_flood_loses_no_line_when_the_reader_stalls(
    client: KernelClient, tmp_path: Path
) -> None:
    total = 20_000
    finished_marker = tmp_path / "flood-finished"
    msg_id = client.execute(
        f"for i in range({total}):\n    print(i, flush=True)\n"
        f"import pathlib; pathlib.Path({str(finished_marker)!r}).touch()"
    )
    done = idle_of(msg_id)
    chunks: list[str] = []
    lines = 0
    stalled = False
    finished = False
    end = time.monotonic() + 60
    while not finished and time.monotonic() < end:
        for msg in client.drain():
            if msg.msg_type == "stream" and msg.parent_id == msg_id:
                text = str(msg.content.get("text", ""))
                chunks.append(text)
                lines += text.count("\n")
            finished = finished or done(msg)
        if not stalled and lines >= 2000:
            # Block the whole event loop, readers included, as a slow frame would, for
            # at least 2 s and until the kernel has printed everything: only libzmq's
            # I/O thread runs meanwhile, so the rest of the flood (~18,000 messages)
            # must be buffered on our side. With libzmq's default receive high-water
            # mark (1000) the kernel's PUB socket drops thousands of them (a fixed 2 s
            # stall alone is absorbed by loopback TCP buffers on a fast machine).
            stalled = True
            stall_end = time.monotonic() + 2
            stall_deadline = time.monotonic() + 60
            while time.monotonic() < stall_deadline and (
                time.monotonic() < stall_end or not finished_marker.exists()
            ):
                time.sleep(0.05)
            assert finished_marker.exists(), "the kernel never finished the flood"
        await asyncio.sleep(0.005)
    assert stalled
    assert finished, f"no idle after {lines} lines"
    received = "".join(chunks).splitlines()
    assert len(received) == total
    assert received == [str(i) for i in range(total)]


async def test_other_clients_cell_reaches_our_inbox(
    client: KernelClient, kernel: KernelManager
) -> None:
    other = kernel.client()
    other.start_channels()
    try:
        msg_id = other.execute("print('from the other client')")
        messages = await collect(client, idle_of(msg_id))
        theirs = [msg for msg in messages if msg.parent_id == msg_id]
        kinds = [msg.msg_type for msg in theirs]
        assert "execute_input" in kinds
        assert "stream" in kinds
        assert "execute_reply" not in kinds  # shell replies go only to the asker
        other_session = other.session.session
        assert other_session != client.session_id
        assert all(msg.parent_session == other_session for msg in theirs)
        (execute_input,) = [m for m in theirs if m.msg_type == "execute_input"]
        assert execute_input.content["code"] == "print('from the other client')"
        assert stdout_of(theirs) == "from the other client\n"
    finally:
        other.stop_channels()


async def test_interrupt_ends_a_sleeping_cell(client: KernelClient) -> None:
    msg_id = client.execute("print('sleeping', flush=True); import time; time.sleep(30)")
    await collect(client, lambda m: m.msg_type == "stream" and m.parent_id == msg_id)
    reply = await client.interrupt(timeout=5)
    assert reply is not None
    assert reply.content.get("status") == "ok"
    # A deadline well below the 30 s sleep: the cell must end because of the interrupt.
    messages = await collect(client, idle_of(msg_id), deadline=10)
    errors = [m for m in messages if m.msg_type == "error" and m.parent_id == msg_id]
    assert [error.content["ename"] for error in errors] == ["KeyboardInterrupt"]


async def test_execute_reply_is_awaited_and_still_reaches_the_inbox(client: KernelClient) -> None:
    """The reply ends the cell for whoever waits on it (an input prompt, an exit payload),
    and the model still reads it (execution count, status)."""
    msg_id = client.execute("quit(keep_kernel=True)")
    assert not client.replied(msg_id)
    reply = await asyncio.wait_for(client.execute_reply(msg_id), DEADLINE)
    assert reply is not None
    assert client.replied(msg_id)
    assert reply.content["payload"] == [{"source": "ask_exit", "keepkernel": True}]
    messages = await collect(client, idle_of(msg_id))
    messages += client.drain()
    assert any(m.msg_type == "execute_reply" and m.parent_id == msg_id for m in messages)
    # Asked again after it came: nothing to wait for.
    assert await client.execute_reply(msg_id) is None


async def test_an_interrupted_input_ends_with_its_reply(client: KernelClient) -> None:
    msg_id = client.execute("input('name? ')")
    await collect(client, lambda m: m.msg_type == "input_request" and m.parent_id == msg_id)
    waiting = asyncio.ensure_future(client.execute_reply(msg_id))
    await client.interrupt(timeout=5)
    reply = await asyncio.wait_for(waiting, 10)
    assert reply is not None
    assert reply.content["status"] == "error"
    assert reply.content["ename"] == "KeyboardInterrupt"


async def test_abandoned_replies_wake_whoever_waits(client: KernelClient) -> None:
    msg_id = client.execute("import time; time.sleep(30)")
    waiting = asyncio.ensure_future(client.execute_reply(msg_id))
    await asyncio.sleep(0)
    assert client.abandon_replies() == [msg_id]
    assert await asyncio.wait_for(waiting, 5) is None
    assert client.replied(msg_id)
    await client.interrupt(timeout=5)


async def test_wrong_key_is_reported(kernel: KernelManager, tmp_path: Path) -> None:
    data = json.loads(Path(kernel.connection_file).read_text(encoding="utf-8"))
    data["key"] = str(uuid.uuid4())
    wrong = tmp_path / "kernel-wrong-key.json"
    wrong.write_text(json.dumps(data), encoding="utf-8")
    kc = KernelClient(load_connection_file(wrong))
    try:
        with pytest.raises(NbtuiError, match="key"):
            await kc.attach(hb_timeout=5.0, reply_timeout=1.0)
    finally:
        await kc.close()
    assert kernel.is_alive()


async def test_dead_kernel_is_reported(kernel: KernelManager) -> None:
    info = load_connection_file(Path(kernel.connection_file))
    kernel.shutdown_kernel(now=True)
    kc = KernelClient(info)
    try:
        with pytest.raises(NbtuiError, match="does not answer"):
            await kc.attach(hb_timeout=1.0)
    finally:
        await kc.close()


async def test_close_does_not_shut_down_the_kernel(kernel: KernelManager) -> None:
    info = load_connection_file(Path(kernel.connection_file))
    first = KernelClient(info)
    try:
        await first.attach()
        await wait_iopub_live(first)
        await run(first, "survivor = 'still here'")
    finally:
        await first.close()
    await first.close()  # closing twice is harmless
    assert kernel.is_alive()

    second = KernelClient(info)
    try:
        await second.attach()
        await wait_iopub_live(second)
        msg_id = second.execute("print(survivor)")
        messages = await collect(second, idle_of(msg_id))
        assert stdout_of(messages, msg_id) == "still here\n"
    finally:
        await second.close()
    assert kernel.is_alive()


async def test_send_after_close_raises(client: KernelClient) -> None:
    await client.close()
    with pytest.raises(NbtuiError, match="closed"):
        client.execute("1")


async def test_busy_idle_of_probes_reach_the_inbox_without_waking_the_ui(
    client: KernelClient,
) -> None:
    woken: list[int] = []
    client.on_message = lambda: woken.append(len(client.inbox))
    client.drain()
    before = client.last_iopub
    reply = await client.request("control", "kernel_info_request", {}, timeout=DEADLINE)
    assert reply is not None
    probe = reply.parent_id
    await collect_until_inbox(
        client, lambda msg: msg.parent_id == probe and msg.content.get("execution_state") == "idle"
    )
    assert woken == [], "a probe's busy/idle woke the UI"
    assert client.last_iopub is not None and client.last_iopub != before
    msg_id = client.execute("print('wake')")
    messages = await collect(client, idle_of(msg_id))
    assert woken, "a cell's output must wake the UI"
    # The quiet ones were not lost: they came with the next drain.
    assert any(msg.parent_id == probe and msg.msg_type == "status" for msg in messages)


async def collect_until_inbox(client: KernelClient, done: Callable[[Msg], bool]) -> None:
    """Until the inbox holds a message satisfying `done`, without draining it."""
    end = time.monotonic() + DEADLINE
    while not any(done(msg) for msg in client.inbox):
        assert time.monotonic() < end, "no such message in the inbox"
        await asyncio.sleep(0.01)


async def test_a_cells_idle_is_announced_with_its_output_in_the_inbox(client: KernelClient) -> None:
    woken: list[str] = []
    ended: list[list[str]] = []
    client.on_message = lambda: woken.append("message")
    client.on_cell_end = lambda: ended.append([msg.msg_type for msg in client.inbox])
    client.drain()
    msg_id = client.execute("print('done')")
    await collect_until_inbox(
        client, lambda msg: msg.parent_id == msg_id and msg.content.get("execution_state") == "idle"
    )
    # Once, with the stream already there: the UI can show the whole cell at once.
    assert len(ended) == 1
    assert "stream" in ended[0] and ended[0][-1] == "status"
    # A probe's idle is not a cell's end.
    client.drain()
    await client.request("control", "kernel_info_request", {}, timeout=DEADLINE)
    await asyncio.sleep(0.2)
    assert len(ended) == 1
