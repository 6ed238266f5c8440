"""The variables probe's parsing, hiding and scheduling, on a scripted client."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from nbtui.app.kernel.client import _is_quiet
from nbtui.app.kernel.messages import Msg
from nbtui.app.kernel.model import Transcript
from nbtui.app.kernel.variables import (
    UNSUPPORTED,
    VariableRow,
    VariablesPoller,
    VariablesProbe,
    VariablesSnapshot,
    debugger_support,
    filter_rows,
    parse_variables,
)


def reply(variables: list[dict[str, Any]]) -> dict[str, Any]:
    return {"success": True, "command": "inspectVariables", "body": {"variables": variables}}


def var(name: str, type_: str, value: str) -> dict[str, Any]:
    return {"name": name, "type": type_, "value": value, "variablesReference": 0}


class Scripted:
    """A client whose control channel answers from a script, counting what was asked."""

    def __init__(
        self,
        answer: dict[str, Any] | None,
        *,
        info: dict[str, Any] | None = None,
        delay: float = 0.0,
    ) -> None:
        self.kernel_info: dict[str, Any] = (
            info if info is not None else {"supported_features": ["debugger"]}
        )
        self.answer = answer
        self.delay = delay
        self.asked: list[tuple[str, str, dict[str, Any]]] = []
        self.in_flight = 0
        self.most_in_flight = 0

    async def request(
        self, channel: str, msg_type: str, content: dict[str, Any], timeout: float
    ) -> Msg | None:
        self.asked.append((channel, msg_type, content))
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            if self.delay > timeout:
                await asyncio.sleep(timeout)
                return None
            await asyncio.sleep(self.delay)
            if self.answer is None:
                return None
            return Msg(channel, "debug_reply", "reply-id", self.answer)
        finally:
            self.in_flight -= 1


async def until(predicate: object, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not (callable(predicate) and predicate()):
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.005)


def test_parse_rows_groups_sizes_and_sanitizing() -> None:
    rows = parse_variables(
        reply(
            [
                {"name": "special variables", "type": "", "value": "", "variablesReference": 1},
                {"name": "function variables", "type": "", "value": "", "variablesReference": 2},
                var("s", "str", "'héllo'"),
                var("l", "list", "[1, [2, 3], 'x']"),
                var("d", "dict", "{'a': 1, 'b': 2}"),
                var("e", "set", "set()"),
                var("fz", "frozenset", "frozenset({1, 2})"),
                var("cut", "list", "[1, 2, 3, ..."),
                var("evil", "Evil", "ok\x1b]0;title\x07\nnext"),
                {"name": 3, "type": "int", "value": "x"},
                "junk",
            ]
        )
    )
    assert rows is not None
    by = {row.name: row for row in rows}
    assert set(by) == {"s", "l", "d", "e", "fz", "cut", "evil"}
    assert [by[n].size for n in ("s", "l", "d", "e", "fz", "cut")] == [5, 3, 2, 0, 2, None]
    assert by["evil"].value == "ok next"
    assert by["evil"].size is None


def test_parse_refuses_what_is_not_an_answer() -> None:
    assert parse_variables({}) is None
    assert parse_variables({"success": False, "message": "no"}) is None
    assert parse_variables({"success": True, "body": {}}) is None


def test_debugger_support_from_kernel_info() -> None:
    assert debugger_support({"supported_features": ["debugger"]}) is True
    assert debugger_support({"debugger": True}) is True
    assert debugger_support({"supported_features": ["kernel subshells"]}) is False
    assert debugger_support({"debugger": False}) is False
    assert debugger_support({"implementation": "irkernel"}) is None


def test_hidden_and_filter() -> None:
    rows = [
        VariableRow("x", "int", "1"),
        VariableRow("np", "module", "<module>"),
        VariableRow("f", "function", "<function f>"),
        VariableRow("K", "type", "<class K>"),
        VariableRow("_x", "int", "2"),
        VariableRow("Xs", "list", "[]", 0),
    ]
    assert [r.name for r in filter_rows(rows)] == ["x", "Xs"]
    assert [r.name for r in filter_rows(rows, " x ")] == ["x", "Xs"]
    assert [r.name for r in filter_rows(rows, "LIST")] == ["Xs"]
    assert len(filter_rows(rows, show_hidden=True)) == 6


async def test_probe_sends_a_debug_request_on_control() -> None:
    client = Scripted(reply([var("epoch", "int", "19")]))
    snap = await VariablesProbe(client).inspect(live=True)
    assert snap.state == "ok" and snap.live
    assert [(r.name, r.value) for r in snap.rows] == [("epoch", "19")]
    channel, msg_type, content = client.asked[0]
    assert (channel, msg_type) == ("control", "debug_request")
    assert content["command"] == "inspectVariables" and content["type"] == "request"


async def test_probe_declines_without_asking_when_kernel_info_says_no() -> None:
    client = Scripted(reply([]), info={"debugger": False, "implementation": "ipython"})
    snap = await VariablesProbe(client).inspect()
    assert snap.state == "unsupported"
    assert snap.message.startswith(f"{UNSUPPORTED}: its kernel_info lists no debugger")
    assert client.asked == []


async def test_probe_timeout_is_a_line_not_an_error_and_not_final() -> None:
    client = Scripted(reply([]), delay=5.0)
    probe = VariablesProbe(client, timeout=0.05)
    snap = await probe.inspect()
    assert snap.state == "no answer"
    assert snap.message == f"{UNSUPPORTED}: no answer to inspectVariables within 0.05 s"
    assert probe.unsupported == ""  # asked again next time
    client.delay = 0.0
    assert (await probe.inspect()).state == "ok"


async def test_probe_empty_reply_is_final() -> None:
    client = Scripted({})  # ipykernel without debugpy answers with empty content
    client.kernel_info = {}
    probe = VariablesProbe(client)
    assert (await probe.inspect()).state == "unsupported"
    assert (await probe.inspect()).state == "unsupported"
    assert len(client.asked) == 1


async def test_rich_only_for_plain_names() -> None:
    client = Scripted({"success": True, "body": {"data": {"text/plain": "1"}, "metadata": {}}})
    probe = VariablesProbe(client)
    assert (await probe.rich("__import__('os').system('x')")).message
    assert client.asked == []
    value = await probe.rich("x")
    assert value.data == {"text/plain": "1"}
    assert client.asked[0][2]["arguments"] == {"variableName": "x"}


async def test_poller_reads_on_start_on_refresh_and_live_only_while_busy() -> None:
    client = Scripted(reply([var("x", "int", "1")]))
    seen: list[VariablesSnapshot] = []
    poller = VariablesPoller(client, interval=0.02, on_update=seen.append)
    poller.start()
    try:
        await until(lambda: len(seen) == 1)
        assert not seen[0].live
        poller.refresh()  # a cell ended
        await until(lambda: len(seen) == 2)
        poller.busy = True
        await until(lambda: len(seen) >= 5)
        assert all(s.live for s in seen[2:])
        poller.busy = False
        settled = len(client.asked)
        poller.refresh()
        await until(lambda: len(client.asked) == settled + 1)
        assert not seen[-1].live
        # interval 0: no live reading while busy; a refresh still reads.
        poller.set_interval(0)
        poller.busy = True
        count = len(client.asked)
        poller.refresh()
        await until(lambda: len(client.asked) == count + 1)
        assert poller._pace() is None
    finally:
        await poller.stop()
    assert client.most_in_flight == 1  # one request at a time, however slow


async def test_slow_kernel_does_not_pile_requests_up() -> None:
    client = Scripted(reply([]), delay=0.05)
    seen: list[VariablesSnapshot] = []
    poller = VariablesPoller(client, interval=0.001, on_update=seen.append, timeout=1.0)
    poller.busy = True
    poller.start()
    try:
        for _ in range(20):
            poller.refresh()
        await until(lambda: len(seen) >= 4)
    finally:
        await poller.stop()
    assert client.most_in_flight == 1


async def test_unsupported_stops_the_timer() -> None:
    client = Scripted({})
    client.kernel_info = {}
    seen: list[VariablesSnapshot] = []
    poller = VariablesPoller(client, interval=0.01, on_update=seen.append)
    poller.busy = True
    poller.start()
    try:
        await until(lambda: len(seen) == 1)
        assert seen[0].state == "unsupported"
        assert poller._pace() is None
        poller.refresh()
        await until(lambda: len(seen) == 2)
    finally:
        await poller.stop()
    assert len(client.asked) == 1


def test_the_probes_busy_and_idle_wake_no_frame() -> None:
    """A debug_request's busy/idle (every client sees them) is not a cell's: the client
    does not wake the UI for it, and the model ignores it."""
    model = Transcript("me")
    for state in ("busy", "idle"):
        msg = Msg(
            "iopub",
            "status",
            f"s-{state}",
            {"execution_state": state},
            parent_id="dbg-1",
            parent_session="someone",
            parent_msg_type="debug_request",
        )
        assert _is_quiet(msg)
        model.apply(msg)
        assert not model.busy and not model.cells
