"""Watching a kernel on a scripted one (tests/fakes.py): the variables pane's probes (F3),
our cells queued behind a peer's, and the notifications (`--notify-after`)."""

from __future__ import annotations

from typing import Any

from textual.widgets import DataTable

from nbtui.app.kernel.liveness import LivenessSnapshot
from nbtui.app.nbtui_app import NbtuiApp, create_app
from nbtui.app.screens.variable_value import VariableValueScreen
from nbtui.widgets.variables_pane import VariablesPane
from tests.fakes import ScriptedTransport, scripted_client
from tests.ui.conftest import until, until_shown

PEER = {"msg_id": "peer-1", "session": "91c0a7e2", "username": "alice"}


class WatchedKernel(ScriptedTransport):
    """Answers inspectVariables like ipykernel (with the busy/idle every client sees),
    and holds our cells back while `blocked`, as a kernel running a peer's cell does."""

    def __init__(self) -> None:
        super().__init__({**ScriptedTransport().kernel_info, "supported_features": ["debugger"]})
        self.epoch = 0
        self.blocked = False
        self._waiting: list[tuple[str, dict[str, Any]]] = []

    def _answer(self, channel: str, msg: dict[str, Any]) -> None:
        header = msg["header"]
        if header["msg_type"] == "execute_request" and self.blocked:
            self._waiting.append((channel, msg))
            return
        if header["msg_type"] != "debug_request":
            super()._answer(channel, msg)
            return
        self.publish("status", {"execution_state": "busy"}, header)
        command = msg["content"]["command"]
        if command == "inspectVariables":
            self.epoch += 1
            variables = [
                {"name": "epoch", "type": "int", "value": str(self.epoch)},
                {"name": "np", "type": "module", "value": "<module 'numpy'>"},
            ]
            body: dict[str, Any] = {"variables": variables}
        else:
            body = {"data": {"text/plain": "full value of epoch"}, "metadata": {}}
        self._send(channel, "debug_reply", {"success": True, "body": body}, header)
        self.publish("status", {"execution_state": "idle"}, header)

    def unblock(self) -> None:
        """The peer's cell ended: run what waited."""
        self.blocked = False
        waiting, self._waiting = self._waiting, []
        for channel, msg in waiting:
            super()._answer(channel, msg)

    def debug_requests(self) -> int:
        return self.sent_types("control").count("debug_request")


def peer_starts(kernel: ScriptedTransport, count: int = 7) -> dict[str, Any]:
    request = {**PEER, "msg_type": "execute_request"}
    kernel.publish("status", {"execution_state": "busy"}, request)
    kernel.publish("execute_input", {"code": "train()", "execution_count": count}, request)
    return request


async def test_f3_reads_only_while_open_and_probes_flip_no_busy() -> None:
    kernel = WatchedKernel()
    client, _ = scripted_client(kernel)
    app = create_app(client, variables_interval=0.05)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.kernel_state == "idle")
        assert kernel.debug_requests() == 0  # closed: it costs nothing
        await pilot.press("f3")
        pane = app.screen.query_one(VariablesPane)
        await until(pilot, lambda: pane.snapshot is not None)
        assert pane.has_class("-overlay") and pane.table.has_focus
        table: DataTable[object] = pane.table
        assert [str(key.value) for key in table.rows] == ["epoch"]  # the module is hidden
        # Its readings' busy/idle make no cell and leave the kernel idle.
        assert app.kernel_state == "idle" and not app.model.cells
        # While a peer's cell runs, readings come on the pace, marked live.
        request = peer_starts(kernel)
        before = kernel.debug_requests()
        await until(pilot, lambda: kernel.debug_requests() >= before + 3)
        await until(pilot, lambda: pane.title == "variables · live, 0.05 s")
        assert app.kernel_state == "busy"
        kernel.publish("status", {"execution_state": "idle"}, request)
        await until(pilot, lambda: app.kernel_state == "idle")
        # Enter on a row: its whole value, from richInspectVariables.
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, VariableValueScreen))
        await until_shown(pilot, app, "full value of epoch")
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, VariableValueScreen))
        await pilot.press("escape")  # closes the overlay, the editor has the keys back
        await until(pilot, lambda: app.console_screen.kernel_watch.poller is None)
        assert app.editor.has_focus and not pane.display
        closed = kernel.debug_requests()
        peer_starts(kernel, 8)
        await until(pilot, lambda: app.kernel_state == "busy")
        app.run_cell("x = 1")
        kernel.unblock()
        await pilot.pause(0.2)
        assert kernel.debug_requests() == closed


async def test_our_cell_waits_behind_the_peers_and_the_status_counts_it() -> None:
    kernel = WatchedKernel()
    client, _ = scripted_client(kernel)
    app = create_app(client)
    async with app.run_test(size=(120, 30)) as pilot:
        await until(pilot, lambda: app.kernel_state == "idle")
        request = peer_starts(kernel, 12)
        await until(pilot, lambda: app.kernel_state == "busy")
        kernel.blocked = True
        app.run_cell("print('mine')")
        app.run_cell("print('after')")
        await until(
            pilot,
            lambda: (
                "queued behind alice's In [12], running " in app.transcript.plain_text()
                and "queued (2nd in line) behind alice's In [12]" in app.transcript.plain_text()
            ),
        )
        await until(pilot, lambda: "· 2 queued" in app.status.detail)
        kernel.publish("status", {"execution_state": "idle"}, request)
        kernel.unblock()
        await until(pilot, lambda: not app.model.busy and app.kernel_state == "idle")
        await until(pilot, lambda: "queued" not in app.transcript.plain_text())
        assert "queued" not in app.status.detail


def _notices(app: NbtuiApp) -> list[str]:
    return [notice.body for notice in app.console_screen.kernel_watch.notifier.sent]


async def test_notifications_once_per_long_cell_death_and_memory() -> None:
    client, kernel = scripted_client()
    app = create_app(client, notify_after=5)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.kernel_state == "idle")
        # A short peer cell: nothing.
        request = peer_starts(kernel, 3)
        await until(pilot, lambda: app.kernel_state == "busy")
        kernel.publish("status", {"execution_state": "idle"}, request)
        await until(pilot, lambda: app.kernel_state == "idle")
        assert _notices(app) == []
        # A long one (its start moved back rather than waited for) that fails: one.
        request = {**PEER, "msg_id": "peer-2", "msg_type": "execute_request"}
        kernel.publish("status", {"execution_state": "busy"}, request)
        await until(pilot, lambda: "peer-2" in app.model.running)
        cell = app.model.cells["peer-2"]
        assert cell.started is not None
        cell.started -= 65
        kernel.publish("error", {"ename": "ValueError", "evalue": "x", "traceback": []}, request)
        kernel.publish("status", {"execution_state": "idle"}, request)
        await until(pilot, lambda: len(_notices(app)) == 1)
        assert _notices(app) == ["a cell (alice) failed after 1 min 5 s"]
        assert any("failed after" in n.message for n in app._notifications)  # the toast
        kernel.publish("status", {"execution_state": "idle"}, request)  # said again: no more
        # Typing in the same second: a long cell's end is not announced.
        request = {**PEER, "msg_id": "peer-3", "msg_type": "execute_request"}
        kernel.publish("status", {"execution_state": "busy"}, request)
        await until(pilot, lambda: "peer-3" in app.model.running)
        app.model.cells["peer-3"].started -= 30  # type: ignore[operator]
        policy = app.console_screen.kernel_watch.notifier.policy
        policy.typing_quiet = 600  # "the same second", however slow this machine is
        await pilot.press("a")
        kernel.publish("status", {"execution_state": "idle"}, request)
        await until(pilot, lambda: "peer-3" not in app.model.running)
        await pilot.pause(0.1)
        assert len(_notices(app)) == 1
        # The kernel's death: one, however often it is said.
        assert app.session.monitor is not None
        await app.session.monitor.stop()
        dead = LivenessSnapshot(state="dead", since=0.0, detail="process 4242 is gone")
        policy.typing_quiet = 0  # that second is over
        app.session.liveness_changed(dead)
        app.session.liveness_changed(dead)
        await until(pilot, lambda: len(_notices(app)) == 2)
        await pilot.pause(0.1)
        assert _notices(app)[-1] == "the kernel died"
        assert len(_notices(app)) == 2
