"""The queue as one client sees it, and cells' ends told once, from recorded messages."""

from __future__ import annotations

from typing import Any

from nbtui.app.kernel.messages import Msg
from nbtui.app.kernel.model import Transcript
from nbtui.app.kernel.queue import CellEnds, running_now, waiting_cells
from nbtui.app.present import waiting_text

ME = "me-session"


def iopub(msg_type: str, content: dict[str, Any], parent: str, session: str, at: float) -> Msg:
    return Msg(
        "iopub",
        msg_type,
        "id-" + parent,
        content,
        parent_id=parent,
        parent_session=session,
        parent_username="alice" if session != ME else "me",
        parent_msg_type="execute_request",
        received=at,
    )


def busy(parent: str, session: str, at: float, count: int | None = None) -> list[Msg]:
    out = [iopub("status", {"execution_state": "busy"}, parent, session, at)]
    if count is not None:
        content = {"code": "x", "execution_count": count}
        out.append(iopub("execute_input", content, parent, session, at))
    return out


def idle(parent: str, session: str, at: float) -> Msg:
    return iopub("status", {"execution_state": "idle"}, parent, session, at)


def test_our_cells_wait_behind_whoever_runs_in_the_order_sent() -> None:
    model = Transcript(ME)
    model.apply_all(busy("peer", "alice-s", 100.0, 12))
    model.add_own_cell("a", "print(1)", "me")
    model.add_own_cell("b", "print(2)", "me")
    queue = waiting_cells(model)
    assert [(w.cell.key, w.place) for w in queue] == [("a", 1), ("b", 2)]
    assert all(w.behind is model.cells["peer"] for w in queue)
    assert running_now(model) is model.cells["peer"]
    assert waiting_text(queue[0], 340.0) == "queued behind alice's In [12], running 4 min"
    assert waiting_text(queue[1], 112.5) == (
        "queued (2nd in line) behind alice's In [12], running 12 s"
    )
    model.apply_all([idle("peer", "alice-s", 350.0), *busy("a", ME, 350.0, 13)])
    queue = waiting_cells(model)
    assert [(w.cell.key, w.place) for w in queue] == [("b", 1)]
    assert waiting_text(queue[0], 351.0) == "queued behind your In [13], running 1 s"
    model.apply(idle("a", ME, 352.0))
    assert waiting_text(waiting_cells(model)[0], 353.0) == (
        "queued: the kernel has not started it yet"
    )


def test_a_peer_cell_seen_mid_run_is_not_waiting() -> None:
    model = Transcript(ME)
    # Output of a cell whose busy came before we joined: "queued" in the model, but running.
    model.apply(iopub("stream", {"name": "stdout", "text": "x\n"}, "old", "alice-s", 1.0))
    assert waiting_cells(model) == []


def test_cell_ends_are_told_once_even_between_frames() -> None:
    model = Transcript(ME)
    ends = CellEnds()
    model.apply_all([*busy("p", "alice-s", 1.0, 1), idle("p", "alice-s", 2.0)])
    _, changed = model.take_changes()
    assert [cell.key for cell in ends.ended(changed)] == ["p"]  # started and ended unseen
    assert ends.ended(changed) == []
    model.apply_all(busy("q", "alice-s", 3.0, 2))
    _, changed = model.take_changes()
    assert ends.ended(changed) == []  # running
