"""The transcript as data: cells, their outputs, who ran them, and what is running.

Pure: it is fed `Msg` values (from a live kernel or a recording) and keeps no sockets,
clocks or UI. The view asks it what changed since the last frame.

What it holds is defined apart and re-exported here: the outputs (`outputs`), the
entries (`entries`), the peers (`peers`); its bounded scrollback and its own notices
are its base classes (`scrollback`, `annotations`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from nbtui.app.kernel.annotations import Annotations
from nbtui.app.kernel.entries import (
    Catchup,
    Cell,
    CellState,
    Entry,
    Notice,
    rate_limit_warning,
)
from nbtui.app.kernel.lost_ends import UnheardEnds
from nbtui.app.kernel.messages import Msg
from nbtui.app.kernel.outputs import (
    MAX_EXECUTION_COUNT,
    PASSWORD_MASK,
    RAW_TAIL_LIMIT,
    DataOutput,
    ErrorOutput,
    InputOutput,
    Output,
    PageOutput,
    StreamOutput,
    execution_count,
    is_default_repr,
    page_output,
)
from nbtui.app.kernel.peers import PEER_COLOURS, Peer, peer_colour
from nbtui.app.kernel.sanitize import sanitize, sanitize_code, sanitize_line
from nbtui.app.kernel.scrollback import CHARS_PER_LINE, Scrollback

__all__ = [
    "CHARS_PER_LINE",
    "MAX_EXECUTION_COUNT",
    "PASSWORD_MASK",
    "PEER_COLOURS",
    "RAW_TAIL_LIMIT",
    "Catchup",
    "Cell",
    "CellState",
    "DataOutput",
    "Entry",
    "ErrorOutput",
    "InputOutput",
    "Notice",
    "Output",
    "PageOutput",
    "Peer",
    "StreamOutput",
    "Transcript",
    "execution_count",
    "is_default_repr",
    "peer_colour",
]


class Transcript(Annotations, Scrollback, UnheardEnds):
    """Cells and notices in arrival order, with bounded scrollback.

    Args:
        own_session: This client's session id, so its cells read as its own.
        max_lines: How many output lines to keep across the whole transcript.
        max_chars: How many characters of output to keep; by default CHARS_PER_LINE
            for each line of `max_lines`.
    """

    def __init__(
        self, own_session: str, max_lines: int = 50_000, max_chars: int | None = None
    ) -> None:
        super().__init__(max_lines, max_chars)
        UnheardEnds.__init__(self)
        self.own_session = own_session
        self.entries: list[Entry] = []
        self.cells: dict[str, Cell] = {}
        self.peers: dict[str, Peer] = {}
        self.own_sessions: set[str] = set()
        """Sessions of nbtui's own kernel manager: their restarts are the user's, told."""
        self.running: dict[str, Cell] = {}
        """Execute requests between their busy and idle, by msg_id: busy is tracked per
        request, so a probe's idle on the control channel never ends a running cell."""
        self.changed: dict[int, Entry] = {}
        self.removed: list[Entry] = []
        self.dropped_messages = 0
        """iopub messages the transport dropped because nbtui could not keep up: exact."""
        self._dropped_notice: Notice | None = None
        self._dropped_run = 0
        self._displays: dict[str, list[DataOutput]] = {}
        self.last_iopub: float | None = None
        self.execution_state = "unknown"
        """The kernel's last published state, kept for display only, never for busy."""

    # -- reading ---------------------------------------------------------------------------

    @property
    def busy(self) -> bool:
        """Whether any cell, anyone's, is running now."""
        return bool(self.running)

    def oldest_running(self) -> Cell | None:
        """The running cell that started first (the one the status line names), or None."""
        if not self.running:
            return None
        return min(self.running.values(), key=lambda cell: cell.started or 0.0)

    def take_changes(self) -> tuple[list[Entry], list[Entry]]:
        """What changed since the last call: (removed entries, changed entries)."""
        removed, self.removed = self.removed, []
        changed = list(self.changed.values())
        self.changed = {}
        return removed, changed

    # -- writing ---------------------------------------------------------------------------

    def _touch(self, entry: Entry) -> None:
        self.changed[id(entry)] = entry

    def add_own_cell(self, msg_id: str, code: str, username: str) -> Cell:
        """Show a cell the moment it is sent, before the kernel echoes its input."""
        cell = self._cell(msg_id, self.own_session, username)
        # Pasted code can carry a Trojan Source too: show it as it will run.
        cell.code = sanitize_code(code)
        cell.source = code
        return cell

    def peer(self, session: str, username: str) -> Peer:
        """The client with this session id, made on first sight with a sanitised name and
        its own colour."""
        # Usernames come from other clients' headers: untrusted text like any output.
        username = sanitize_line(username)
        peer = self.peers.get(session)
        if peer is None:
            username = username or "?"
            taken = {known.colour for known in self.peers.values() if not known.is_self}
            colour = peer_colour(username, session, taken)
            peer = Peer(session, username, session == self.own_session, colour=colour)
            self.peers[session] = peer
        elif username and peer.username != username:
            peer.username = username
        return peer

    def _cell(self, key: str, session: str, username: str) -> Cell:
        cell = self.cells.get(key)
        if cell is None:
            peer = self.peer(session, username)
            peer.cells += 1
            cell = Cell(key, session, peer.username, session == self.own_session)
            self.cells[key] = cell
            self.entries.append(cell)
        self._touch(cell)
        return cell

    def apply_all(self, messages: Iterable[Msg]) -> None:
        """Fold a batch of messages in, in order, then trim the scrollback to its budget once."""
        for message in messages:
            self.apply(message)
        self.enforce_budget()

    def apply(self, msg: Msg) -> None:
        """Fold one message into the transcript."""
        if msg.channel == "iopub":
            self.last_iopub = msg.received
            self._apply_iopub(msg)
        elif msg.channel == "shell" and msg.msg_type == "execute_reply":
            self._apply_execute_reply(msg)
        elif msg.channel == "nbtui" and msg.msg_type == "dropped":
            count = msg.content.get("count")
            if isinstance(count, int) and count > 0:
                self._note_dropped(count)

    def _is_cell_message(self, msg: Msg) -> bool:
        return msg.parent_msg_type == "execute_request" and bool(msg.parent_id)

    def _apply_iopub(self, msg: Msg) -> None:
        kind = msg.msg_type
        content = msg.content
        if kind == "status":
            self._apply_status(msg)
            return
        if kind == "shutdown_reply":
            verb = "restart" if content.get("restart") else "shut down"
            # Only a client seen here has a name worth showing. A session that ran nothing
            # is the kernel's owner (its KernelManager, a server), not a peer to list.
            who = self.peers.get(msg.parent_session)
            if msg.parent_session in self.own_sessions:
                return  # nbtui's own kernel manager: the user asked, and was told
            if who is not None and (who.is_self or who.cells):
                self.add_notice(f"{who.label} asked the kernel to {verb}", "warning")
            else:
                self.add_notice(f"the kernel's owner asked it to {verb}", "warning")
            return
        if not self._is_cell_message(msg):
            return
        cell = self._cell(msg.parent_id, msg.parent_session, msg.parent_username)
        self.peer(msg.parent_session, msg.parent_username).last_activity = msg.received
        if kind == "execute_input":
            code = content.get("code")
            if isinstance(code, str) and cell.code is None:
                cell.code = sanitize_code(code)
                cell.source = code
            count = execution_count(content.get("execution_count"))
            if count is not None:
                cell.execution_count = count
            if cell.state == "queued":
                cell.state = "running"
                cell.started = cell.started or msg.received
            return
        if kind == "clear_output":
            if content.get("wait"):
                cell.clear_on_next_output = True
            else:
                self._clear(cell)
            return
        if kind == "update_display_data":
            self._update_display(content)
            return
        if kind not in ("stream", "display_data", "execute_result", "error"):
            return
        cell.last_output = msg.received
        if cell.clear_on_next_output:
            self._clear(cell)
        if kind == "stream":
            name = content.get("name")
            name = name if name in ("stdout", "stderr") else "stdout"
            text = content.get("text")
            if not isinstance(text, str):
                return
            warning = rate_limit_warning(cell.username, text) if name == "stderr" else None
            if warning is not None:
                self.add_notice(warning, "warning")
                return
            stream = cell.last_stream(name)
            if stream is None:
                stream = StreamOutput(name)
                cell.outputs.append(stream)
            before = stream.chars
            self.stored_lines += stream.append(text)
            self.stored_chars += stream.chars - before
        elif kind in ("display_data", "execute_result"):
            output = self._data_output(content)
            if kind == "execute_result":
                output.execution_count = execution_count(content.get("execution_count"))
                if output.execution_count is not None:
                    cell.execution_count = output.execution_count
            cell.outputs.append(output)
            self._account(output)
        else:
            traceback = content.get("traceback")
            error = ErrorOutput(
                str(content.get("ename", "")),
                str(content.get("evalue", "")),
                [str(line) for line in traceback] if isinstance(traceback, list) else [],
            )
            cell.outputs.append(error)
            cell.state = "error"
            self._account(error)

    def _data_output(self, content: dict[str, Any]) -> DataOutput:
        data = content.get("data")
        metadata = content.get("metadata")
        transient = content.get("transient")
        display_id = transient.get("display_id") if isinstance(transient, dict) else None
        output = DataOutput(
            data if isinstance(data, dict) else {},
            metadata if isinstance(metadata, dict) else {},
            display_id=display_id if isinstance(display_id, str) else None,
        )
        if output.display_id:
            self._displays.setdefault(output.display_id, []).append(output)
        return output

    def _update_display(self, content: dict[str, Any]) -> None:
        transient = content.get("transient")
        display_id = transient.get("display_id") if isinstance(transient, dict) else None
        if not isinstance(display_id, str):
            return
        data = content.get("data")
        metadata = content.get("metadata")
        for output in self._displays.get(display_id, []):
            self._account(output, -1)
            output.data = data if isinstance(data, dict) else {}
            # Kept as it came, for export: drawing ignores it.
            output.metadata = metadata if isinstance(metadata, dict) else {}
            output.version += 1
            self._account(output)
            for cell in self._cells_holding(output):
                self._touch(cell)

    def _cells_holding(self, output: DataOutput) -> list[Cell]:
        return [cell for cell in self.cells.values() if any(o is output for o in cell.outputs)]

    def _clear(self, cell: Cell) -> None:
        cell.clear_on_next_output = False
        cell.dropped_outputs = 0
        for output in cell.outputs:
            self._account(output, -1)
            if isinstance(output, DataOutput) and output.display_id:
                holders = self._displays.get(output.display_id, [])
                if output in holders:
                    holders.remove(output)
        cell.outputs.clear()

    def _apply_status(self, msg: Msg) -> None:
        state = msg.content.get("execution_state")
        if not isinstance(state, str):
            return
        self.execution_state = state
        if not self._is_cell_message(msg):
            return
        if state == "busy":
            cell = self._cell(msg.parent_id, msg.parent_session, msg.parent_username)
            if cell.state in ("queued",):
                cell.state = "running"
            cell.started = cell.started or msg.received
            if not self.side_by_side:
                # One cell at a time: those still running before this one have ended.
                for key in [key for key in self.running if key != cell.key]:
                    self.end_lost(key)
            self.running[cell.key] = cell
            peer = self.peer(msg.parent_session, msg.parent_username)
            peer.running += 1
            peer.last_activity = msg.received
        elif state == "idle":
            self.replied.pop(msg.parent_id, None)
            running = self.running.pop(msg.parent_id, None)
            ended = running or self.cells.get(msg.parent_id)
            # A cell whose busy came before we joined is not in `running`: its idle
            # still ends it.
            if ended is None or (running is None and ended.state not in ("queued", "running")):
                return
            if running is not None:
                idle_peer = self.peers.get(running.session)
                if idle_peer is not None:
                    idle_peer.running = max(0, idle_peer.running - 1)
                    idle_peer.last_activity = msg.received
            cell = ended
            cell.finished = msg.received
            if cell.state in ("queued", "running"):
                cell.state = "ok"
            self._touch(cell)

    def _apply_execute_reply(self, msg: Msg) -> None:
        cell = self.cells.get(msg.parent_id)
        if cell is None:
            return
        status = msg.content.get("status")
        count = execution_count(msg.content.get("execution_count"))
        if count is not None and cell.execution_count is None:
            cell.execution_count = count
        if cell.finished is None and cell.is_self:
            self.replied[cell.key] = msg.received
        # bash_kernel answers an interrupted cell with the non-standard "abort".
        if status in ("abort", "aborted"):
            cell.state = "aborted"
        elif status == "error":
            cell.state = "error"
        payload = msg.content.get("payload")
        for item in payload if isinstance(payload, list) else []:
            page = page_output(item)
            if page is not None:
                cell.outputs.append(page)
                self._account(page)
        self._touch(cell)

    def add_input(self, request: Msg, answer: str) -> InputOutput | None:
        """Keep an answered `input_request` as a line of its cell's output: the prompt
        and the answer, masked when the kernel asked for a password.

        Args:
            request: The kernel's input_request (its parent is the cell's execute_request).
            answer: What the user typed and we sent.

        Returns:
            The new output; None when the cell is no longer in the transcript.
        """
        cell = self.cells.get(request.parent_id)
        if cell is None:
            return None
        prompt = request.content.get("prompt")
        password = bool(request.content.get("password"))
        output = InputOutput(
            sanitize(prompt) if isinstance(prompt, str) else "",
            PASSWORD_MASK if password else sanitize_line(answer),
            password,
        )
        cell.outputs.append(output)
        self._account(output)
        self._touch(cell)
        return output
