"""The real console on a scripted kernel (tests/fakes.py): what the screen does with
messages no real kernel sends on cue."""

from __future__ import annotations

from nbtui.app.kernel.liveness import LivenessSnapshot
from nbtui.app.nbtui_app import create_app
from nbtui.widgets.liveness_pane import LivenessPane
from tests.fakes import ScriptedTransport, scripted_client
from tests.ui.conftest import until, until_shown


async def test_a_peers_cell_is_shown_as_theirs_and_the_status_names_them() -> None:
    client, kernel = scripted_client()
    app = create_app(client)
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: app.kernel_state == "idle")
        request = {"msg_id": "peer-1", "session": "91c0a7e2", "username": "analyst"}
        request["msg_type"] = "execute_request"
        kernel.publish("status", {"execution_state": "busy"}, request)
        kernel.publish("execute_input", {"code": "train()", "execution_count": 7}, request)
        kernel.publish("stream", {"name": "stdout", "text": "epoch 1/3\n"}, request)
        await until_shown(pilot, app, "analyst@91c0", "train()", "epoch 1/3")
        await until(pilot, lambda: app.kernel_state == "busy")
        assert "analyst In [7]" in app.status.detail
        kernel.publish("status", {"execution_state": "idle"}, request)
        await until(pilot, lambda: app.kernel_state == "idle")


async def test_input_is_asked_for_and_the_answer_kept_in_the_cell() -> None:
    transport = ScriptedTransport()
    transport.hold = True
    client, kernel = scripted_client(transport)
    app = create_app(client)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.kernel_state == "idle")
        # The prompt's row is mounted just after the first frame.
        await until(pilot, lambda: app.console_screen.hidden_mounted)
        msg_id = app.run_cell("name = input('name? ')")
        await until(pilot, lambda: app.kernel_state == "busy")
        parent = {"msg_id": msg_id, "session": client.session_id, "msg_type": "execute_request"}
        kernel._send("stdin", "input_request", {"prompt": "name? ", "password": False}, parent)
        prompt = app.query_one("#stdin-row")
        await until(pilot, lambda: prompt.has_class("-active"))
        await pilot.press(*"bob", "enter")
        await until(pilot, lambda: kernel.sent_types("stdin") == ["input_reply"])
        assert not prompt.has_class("-active")
        assert app.editor.has_focus
        kernel.finish()
        await until(pilot, lambda: "name? bob" in app.transcript.plain_text())


async def test_ctrl_c_interrupts_only_what_runs() -> None:
    transport = ScriptedTransport()
    transport.hold = True
    client, kernel = scripted_client(transport)
    app = create_app(client)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.kernel_state == "idle")
        await pilot.press("ctrl+c")
        assert "interrupt_request" not in kernel.sent_types()
        app.run_cell("while True: pass")
        await until(pilot, lambda: app.kernel_state == "busy")
        await pilot.press("ctrl+c")
        await until(pilot, lambda: "interrupt_request" in kernel.sent_types("control"))


async def test_a_dead_kernel_is_shown_dead_and_the_transcript_stays() -> None:
    client, _ = scripted_client()
    app = create_app(client)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.kernel_state == "idle")
        app.run_cell("print(1)")
        await until(pilot, lambda: not app.model.busy and bool(app.model.cells))
        # What the liveness monitor reports when the heartbeat and the process are gone
        # (the real one, on a scripted kernel that answers, would soon say otherwise).
        assert app.session.monitor is not None
        await app.session.monitor.stop()
        dead = LivenessSnapshot(state="dead", since=0.0, detail="process 4242 is gone")
        app.session.liveness_changed(dead)
        await until(pilot, lambda: app.status.state == "dead")
        assert app.status.detail == "process 4242 is gone"
        await until_shown(pilot, app, "the kernel is dead: process 4242 is gone")
        assert "print(1)" in app.transcript.plain_text()


async def test_the_liveness_pane_follows_busy_and_idle_without_liveness_news() -> None:
    client, kernel = scripted_client()
    app = create_app(client)
    async with app.run_test(size=(200, 50)) as pilot:
        await until(pilot, lambda: app.kernel_state == "idle")
        # No heartbeat news from here on: busy and idle come from iopub alone.
        assert app.session.monitor is not None
        await app.session.monitor.stop()
        app.session.liveness_changed(LivenessSnapshot(state="alive", since=0.0))
        pane = app.query_one(LivenessPane)
        await until(pilot, lambda: pane.state == "alive")
        request = {"msg_id": "peer-1", "session": "91c0a7e2", "username": "analyst"}
        request["msg_type"] = "execute_request"
        kernel.publish("status", {"execution_state": "busy"}, request)
        kernel.publish("execute_input", {"code": "train()", "execution_count": 7}, request)
        await until(pilot, lambda: pane.state == "busy")
        kernel.publish("status", {"execution_state": "idle"}, request)
        await until(pilot, lambda: pane.state == "alive")
