"""The transcript as data: cells, their outputs, who ran them, and what is running.

Pure: it is fed `Msg` values (from a live kernel or a recording) and keeps no sockets,
clocks or UI. The view asks it what changed since the last frame.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from nbtui.app.kernel.messages import Msg, short_session
from nbtui.app.kernel.sanitize import (
    apply_line_edits,
    continues_emoji,
    ends_in_emoji_joiner,
    sanitize,
    sanitize_code,
    sanitize_line,
    sanitize_stream,
)

__all__ = [
    "MAX_EXECUTION_COUNT",
    "PEER_COLOURS",
    "Catchup",
    "Cell",
    "DataOutput",
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

_DEFAULT_REPR = re.compile(r"<[\w.<>]+ (?:object(?: at 0x[0-9a-fA-F]+)?|at 0x[0-9a-fA-F]+)>")


def is_default_repr(plain: str) -> bool:
    """Whether a bundle's text/plain only names the object (`<IPython.core.display.HTML
    object>`, `<pandas.io.formats.style.Styler at 0x7f...>`) or is empty: then another
    of its types is the output itself."""
    text = plain.strip()
    return not text or _DEFAULT_REPR.fullmatch(text) is not None


CellState = Literal["queued", "running", "ok", "error", "aborted"]

PEER_COLOURS = 6
"""Colours in the peer palette (nbtui.widgets.palette makes them): more would be
closer to each other than a glance tells apart, on a light background."""


def peer_colour(username: str, session: str, taken: Collection[int] = ()) -> int:
    """The palette index of a client: from a hash of its name and session, so every nbtui
    on the kernel shows it in the same colour, whoever it saw first. Only when another
    client seen here already holds that colour does it take the next free one."""
    digest = hashlib.blake2s(f"{username}\0{session}".encode(), digest_size=4).digest()
    first = int.from_bytes(digest, "big") % PEER_COLOURS
    for step in range(PEER_COLOURS):
        index = (first + step) % PEER_COLOURS
        if index not in taken:
            return index
    return first


@dataclass(eq=False)
class StreamOutput:
    """stdout or stderr of one cell, as lines; consecutive chunks of one stream merge."""

    name: str
    lines: list[str] = field(default_factory=list)
    dropped: int = 0
    """Lines removed from the front to bound scrollback: an exact count."""
    received: int = 0
    """Every line ever received, kept or not."""
    chars: int = 0
    """Characters in the kept lines, for the scrollback's character budget."""
    _tail: list[str] = field(default_factory=list, repr=False)
    """The last line in pieces, joined only when read: a line that grows a few characters
    per message (dots, a counter) would be copied whole on each one."""
    _visible: tuple[str, str] | None = field(default=None, repr=False)
    _joiner: bool = field(default=False, repr=False)
    """The last chunk ended in an emoji and a joiner: the next may finish the picture."""
    raw: list[str] = field(default_factory=list, repr=False)
    """The chunks of text as they arrived, unsanitized and not line-edited, oldest kept
    first: `raw_text` joins them as Jupyter joins a stream's outputs. The scrollback lets
    go of their front with the lines it drops."""
    raw_dropped_chars: int = 0
    """Characters of raw text let go: with the lines the scrollback dropped, and from an
    unended last line past `RAW_TAIL_LIMIT`."""
    _raw_newlines: list[int] = field(default_factory=list, repr=False)
    """How many kept lines each raw chunk ended (its sanitized text's newlines)."""
    _raw_tail: int = field(default=0, repr=False)
    """Raw characters since the last newline."""

    @property
    def partial(self) -> str:
        """The last line, not yet ended by a newline (a progress bar lives here)."""
        tail = self._tail
        if len(tail) > 1:
            tail[:] = ["".join(tail)]
        return tail[0] if tail else ""

    def append(self, text: str) -> int:
        """Add a chunk of stream text.

        Returns:
            How many complete lines it added.
        """
        joiner, self._joiner = self._joiner, ends_in_emoji_joiner(text)
        raw = text
        text = sanitize_stream(text)
        self._keep_raw(raw, text.count("\n"))
        if joiner and continues_emoji(text):
            # A chunk boundary between 👩 + joiner and 💻: one picture, as if sent whole.
            text = "\u200d" + text
        if not ("\n" in text or "\r" in text or "\x08" in text):
            # Nothing to split or resolve: the last line just grows, unless it holds a
            # "\r" or "\b" that this text may complete.
            last = self._tail[-1] if self._tail else ""
            if not ("\r" in last or "\x08" in last):
                if text:
                    self._tail.append(text)
                return 0
        partial = self.partial
        if partial:
            text = partial + text
        parts = text.split("\n")
        partial = parts.pop()
        if "\r" in text or "\x08" in text:
            parts = [apply_line_edits(part) for part in parts]
        # The tail stays raw: a later "\r" must still be able to replace it. Only its
        # last non-empty segment can ever show, so the redraws before it are dropped.
        if "\r" in partial and "\x08" not in partial:
            segments = [segment for segment in partial.split("\r") if segment]
            tail = "\r" if partial.endswith("\r") else ""
            partial = (segments[-1] if segments else "") + tail
        self._tail = [partial] if partial else []
        self.lines.extend(parts)
        self.chars += sum(map(len, parts))
        self.received += len(parts)
        return len(parts)

    def _keep_raw(self, raw: str, newlines: int) -> None:
        self.raw.append(raw)
        self._raw_newlines.append(newlines)
        if newlines:
            self._raw_tail = len(raw) - raw.rfind("\n") - 1
            return
        self._raw_tail += len(raw)
        if self._raw_tail > RAW_TAIL_LIMIT:
            # A progress bar redrawn for hours never ends its line: keep its newest half.
            start = len(self.raw)
            while start > 0 and self._raw_newlines[start - 1] == 0:
                start -= 1
            keep = RAW_TAIL_LIMIT // 2
            tail = "".join(self.raw[start:])
            self.raw_dropped_chars += len(tail) - keep
            del self.raw[start:], self._raw_newlines[start:]
            self.raw.append(tail[-keep:])
            self._raw_newlines.append(0)
            self._raw_tail = keep

    def _trim_raw(self, lines: int) -> None:
        """Let go of the raw text of the oldest `lines` kept lines."""
        raw, counts = self.raw, self._raw_newlines
        drop = 0
        while drop < len(raw) and (
            counts[drop] < lines or (counts[drop] == lines and raw[drop].endswith("\n"))
        ):
            lines -= counts[drop]
            self.raw_dropped_chars += len(raw[drop])
            drop += 1
            if lines == 0:
                break
        del raw[:drop], counts[:drop]
        if lines > 0 and raw and raw[0].count("\n") == counts[0]:
            # Its raw newlines are the kept lines' ends: cut after the `lines`-th.
            rest = raw[0].split("\n", lines)[-1]
            self.raw_dropped_chars += len(raw[0]) - len(rest)
            raw[0] = rest
        if lines > 0 and raw:
            # (An escape that swallowed a newline keeps its chunk whole, a few lines long.)
            counts[0] = max(0, counts[0] - lines)

    @property
    def raw_text(self) -> str:
        """The kept stream text exactly as it arrived (for export)."""
        return "".join(self.raw)

    @property
    def visible_partial(self) -> str:
        """The unended last line as a terminal would show it (`\\r` and `\\b` applied)."""
        # The view asks for it on every row it draws: resolve each version only once.
        partial = self.partial
        cached = self._visible
        if cached is not None and cached[0] is partial:
            return cached[1]
        visible = apply_line_edits(partial)
        self._visible = (partial, visible)
        return visible

    def trim_front(self, count: int, chars: int = 0) -> tuple[int, int]:
        """Drop the oldest `count` lines, and more until `chars` characters are gone
        (never the unfinished last line). Returns (lines, characters) dropped."""
        lines = self.lines
        count = min(count, len(lines))
        removed = sum(map(len, lines[:count]))
        while removed < chars and count < len(lines):
            removed += len(lines[count])
            count += 1
        if count:
            del lines[:count]
            self.dropped += count
            self.chars -= removed
            self._trim_raw(count)
        return count, removed

    @property
    def line_count(self) -> int:
        return len(self.lines) + (1 if self._tail else 0)

    @property
    def text(self) -> str:
        """Every kept line, as shown (for the pager and for saving)."""
        if not self._tail:
            return "\n".join(self.lines)
        return "\n".join([*self.lines, self.visible_partial])


@dataclass(eq=False)
class DataOutput:
    """An execute_result or display_data: a mime bundle."""

    data: dict[str, Any]
    metadata: dict[str, Any]
    execution_count: int | None = None
    display_id: str | None = None
    version: int = 0

    def _plain(self) -> str:
        plain = self.data.get("text/plain", "")
        if isinstance(plain, list):  # nbformat allows a list of lines
            plain = "".join(str(part) for part in plain)
        return plain if isinstance(plain, str) else str(plain)

    @property
    def text(self) -> str:
        plain = self._plain()
        if not plain and self.data:
            kinds = ", ".join(sorted(self.data))
            return f"<{kinds}>"
        return sanitize(plain)

    @property
    def source(self) -> str:
        """The output whole, as the pager shows and saves it: markdown as its source
        (its text/plain is only a repr), HTML too when its text/plain is only a default
        repr, anything else as `text`."""
        markdown = self.data.get("text/markdown")
        if isinstance(markdown, str):
            return sanitize(markdown)
        html = self.data.get("text/html")
        if (
            isinstance(html, str)
            and is_default_repr(self._plain())
            and not any(kind in self.data for kind in ("application/json", "text/latex"))
        ):
            return sanitize(html)
        return self.text

    @property
    def line_count(self) -> int:
        return self.text.count("\n") + 1

    @property
    def chars(self) -> int:
        # Every representation is held, not only the one shown.
        return sum(len(value) for value in self.data.values() if isinstance(value, str))


@dataclass(eq=False)
class ErrorOutput:
    ename: str
    evalue: str
    traceback: list[str]

    @property
    def text(self) -> str:
        if self.traceback:
            return sanitize("\n".join(str(line) for line in self.traceback))
        return sanitize(f"{self.ename}: {self.evalue}")

    @property
    def line_count(self) -> int:
        return self.text.count("\n") + 1

    @property
    def chars(self) -> int:
        return len(self.ename) + len(self.evalue) + sum(map(len, self.traceback))


@dataclass(eq=False)
class PageOutput(DataOutput):
    """Help (`len?`, `Counter??`) that came as a `page` payload of the cell's execute_reply.

    jupyter console prints it, and it is how most users read help; only the client that
    ran the cell receives it (shell replies go to the asker alone)."""


PASSWORD_MASK = "••••••••"
"""Stands for a password's answer in the transcript: always as long, so it tells nothing."""


@dataclass(eq=False)
class InputOutput:
    """A prompt of `input()` or `getpass()` and the answer sent to it, kept as a line of
    the cell's output: the kernel echoes neither, and the prompt row closes once answered.
    """

    prompt: str
    answer: str
    """What was sent, or `PASSWORD_MASK` for a password: the password itself is never kept."""
    password: bool = False

    @property
    def text(self) -> str:
        return self.prompt + self.answer

    @property
    def line_count(self) -> int:
        return self.text.count("\n") + 1

    @property
    def chars(self) -> int:
        return len(self.text)


Output = StreamOutput | DataOutput | ErrorOutput | InputOutput


MAX_EXECUTION_COUNT = 999_999_999
"""The largest execution count shown (nine digits, a billion cells): a larger one, a
negative one or a bool is a kernel's nonsense, and shown as unknown, not as a prompt
as wide as the screen."""


def execution_count(value: object) -> int | None:
    """`value` as an execution count, or None when it is not a plausible one."""
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value if 0 <= value <= MAX_EXECUTION_COUNT else None


RAW_TAIL_LIMIT = 1_000_000
"""Raw characters kept of a stream's unended last line: its display keeps only the last
redraw, and a progress bar's raw text would otherwise grow for as long as it runs."""

CHARS_PER_LINE = 320
"""The scrollback's character budget per line of its line budget: far above an average
line, so that only unusually long lines make the character budget the one that binds."""

_RATE_LIMITS = ("IOPub data rate exceeded", "IOPub message rate exceeded")
"""How a Jupyter Server's stand-in for the output it drops begins (on stderr)."""


@dataclass(eq=False)
class Notice:
    """A line in the transcript from nbtui itself (kernel restarted, joined, ...)."""

    text: str
    level: Literal["info", "warning", "error"] = "info"
    key: str = ""


@dataclass(eq=False)
class Cell:
    """One execute request and everything it produced."""

    key: str
    """msg_id of the execute_request: what its outputs' parent_header points at."""
    session: str
    username: str
    is_self: bool
    code: str | None = None
    """The code as shown (`sanitize_code`: hidden characters marked); None when the cell
    started before we joined and its input was never seen."""
    source: str | None = None
    """The code exactly as its author sent it (for export); None when never seen."""
    execution_count: int | None = None
    outputs: list[Output] = field(default_factory=list)
    state: CellState = "queued"
    started: float | None = None
    finished: float | None = None
    clear_on_next_output: bool = False
    last_output: float | None = None
    """When output last arrived: a long silence may mean the cell waits for input."""
    dropped_outputs: int = 0
    """Whole outputs (displays, results, errors) removed from the front to bound
    scrollback while the cell could not go whole (running, or the newest): exact."""

    @property
    def line_count(self) -> int:
        code_lines = (self.code or "").count("\n") + 1
        return code_lines + sum(output.line_count for output in self.outputs)

    def last_stream(self, name: str) -> StreamOutput | None:
        if self.outputs:
            last = self.outputs[-1]
            if isinstance(last, StreamOutput) and last.name == name:
                return last
        return None


@dataclass(eq=False)
class Peer:
    """A client seen on iopub, keyed by its session id (usernames are neither unique nor
    authenticated)."""

    session: str
    username: str
    is_self: bool
    cells: int = 0
    last_activity: float = 0.0
    running: int = 0
    colour: int = 0
    """Its index in the peer palette: `peer_colour` at first sight, then kept."""

    @property
    def label(self) -> str:
        return f"{self.username}@{short_session(self.session)}"


@dataclass(eq=False)
class Catchup:
    """This kernel's inputs from before we joined (history_request), shown folded."""

    inputs: list[tuple[int, str]]
    """(execution count, code), oldest first."""
    expanded: bool = False


Entry = Cell | Notice | Catchup


class Transcript:
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
        self.own_session = own_session
        self.max_lines = max_lines
        self.max_chars = max_lines * CHARS_PER_LINE if max_chars is None else max_chars
        self.entries: list[Entry] = []
        self.cells: dict[str, Cell] = {}
        self.peers: dict[str, Peer] = {}
        self.running: dict[str, Cell] = {}
        """Execute requests between their busy and idle, by msg_id: busy is tracked per
        request, so a probe's idle on the control channel never ends a running cell."""
        self.changed: dict[int, Entry] = {}
        self.removed: list[Entry] = []
        self.dropped_entries = 0
        self.dropped_messages = 0
        """iopub messages the transport dropped because nbtui could not keep up: exact."""
        self._dropped_notice: Notice | None = None
        self._dropped_run = 0
        self.stored_lines = 0
        self.stored_chars = 0
        self._displays: dict[str, list[DataOutput]] = {}
        self.last_iopub: float | None = None
        self.execution_state = "unknown"
        """The kernel's last published state, kept for display only, never for busy."""

    # -- reading ---------------------------------------------------------------------------

    @property
    def busy(self) -> bool:
        return bool(self.running)

    def oldest_running(self) -> Cell | None:
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

    def add_notice(self, text: str, level: Literal["info", "warning", "error"] = "info") -> Notice:
        notice = Notice(text, level)
        self.entries.append(notice)
        self._touch(notice)
        return notice

    def add_catchup(self, inputs: list[tuple[int, str]]) -> Catchup | None:
        """Put the inputs run before we joined at the top, folded; None if there were none."""
        # The counts come from the kernel like any output: implausible ones go.
        inputs = [(count, code) for count, code in inputs if execution_count(count) is not None]
        if not inputs:
            return None
        catchup = Catchup([(count, sanitize_code(code)) for count, code in inputs])
        self.entries.insert(0, catchup)
        self._touch(catchup)
        return catchup

    def toggle_catchup(self) -> bool:
        """Unfold or fold the catch-up section; False when there is none."""
        for entry in self.entries:
            if isinstance(entry, Catchup):
                entry.expanded = not entry.expanded
                self._touch(entry)
                return True
        return False

    def add_own_cell(self, msg_id: str, code: str, username: str) -> Cell:
        """Show a cell the moment it is sent, before the kernel echoes its input."""
        cell = self._cell(msg_id, self.own_session, username)
        # Pasted code can carry a Trojan Source too: show it as it will run.
        cell.code = sanitize_code(code)
        cell.source = code
        return cell

    def peer(self, session: str, username: str) -> Peer:
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

    def _note_dropped(self, count: int) -> None:
        """The transport dropped `count` iopub messages: say so, in one notice per run of
        drops (the latest notice grows while nothing else came after it)."""
        self.dropped_messages += count
        notice = self._dropped_notice
        if notice is None or not self.entries or self.entries[-1] is not notice:
            notice = self.add_notice("", "warning")
            notice.key = "dropped"
            self._dropped_notice = notice
            self._dropped_run = 0
        self._dropped_run += count
        noun = "message" if self._dropped_run == 1 else "messages"
        notice.text = (
            f"{self._dropped_run:,} {noun} dropped: the kernel sent faster than nbtui "
            "could read (outputs may be missing from here)"
        )
        self._touch(notice)

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
            if name == "stderr" and text.startswith(_RATE_LIMITS):
                self._rate_limited(cell, text)
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

    def _rate_limited(self, cell: Cell, text: str) -> None:
        """A Jupyter Server stopped forwarding this cell's output for a while: say so as
        nbtui, not as if the kernel had printed it."""
        what = "data" if text.startswith(_RATE_LIMITS[0]) else "message"
        limit = re.search(r"iopub_(?:data|msg)_rate_limit=([\d.e+]+)", text)
        window = re.search(r"rate_limit_window=([\d.e+]+)", text)
        unit = "bytes/s" if what == "data" else "messages/s"
        detail = f" (limit {limit.group(1)} {unit}" if limit else ""
        if detail and window:
            detail += f" over {window.group(1)} s"
        detail += ")" if detail else ""
        self.add_notice(
            f"the Jupyter Server dropped output of {cell.username}'s cell: IOPub {what} "
            f"rate exceeded{detail}; what it dropped is lost to its WebSocket clients "
            f"(the server's iopub_{'data' if what == 'data' else 'msg'}_rate_limit)",
            "warning",
        )

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
            self.running[cell.key] = cell
            peer = self.peer(msg.parent_session, msg.parent_username)
            peer.running += 1
            peer.last_activity = msg.received
        elif state == "idle":
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
        # bash_kernel answers an interrupted cell with the non-standard "abort".
        if status in ("abort", "aborted"):
            cell.state = "aborted"
        elif status == "error":
            cell.state = "error"
        payload = msg.content.get("payload")
        for item in payload if isinstance(payload, list) else []:
            page = _page(item)
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

    def mark_all_stopped(self, state: CellState = "aborted") -> None:
        """The kernel died or restarted: nothing is running any more, and nothing sent
        and still waiting its turn will run either."""
        now = time.monotonic()
        waiting = [cell for cell in self.cells.values() if cell.state == "queued"]
        for cell in [*self.running.values(), *waiting]:
            cell.state = state
            cell.finished = now
            self._touch(cell)
        self.running.clear()
        for peer in self.peers.values():
            peer.running = 0

    def _account(self, output: Output, sign: int = 1) -> None:
        """Count an output into the budget (sign -1: out of it)."""
        self.stored_lines += sign * _stored(output)
        self.stored_chars += sign * output.chars

    def _over_budget(self) -> bool:
        return self.stored_lines > self.max_lines or self.stored_chars > self.max_chars

    def enforce_budget(self) -> None:
        """Oldest entry first: trim its outputs from the front, and remove it whole
        (unless it is running or the newest) while still over budget or once trimmed to
        nothing.

        A cell that cannot go whole gives up its oldest outputs one by one, displays and
        errors included: room is always made for what is new, or a running cell holding
        more than the budget would have every later output trimmed away on arrival. Only
        the newest output of all is kept whole, even when it alone is over budget.

        Lines bound what is drawn and scrolled; characters bound memory, which a few
        huge lines (a big array's repr, minified JSON) would take at any line count."""
        index = 0
        while self._over_budget() and index < len(self.entries):
            entry = self.entries[index]
            running = isinstance(entry, Cell) and entry.key in self.running
            newest = index == len(self.entries) - 1
            trimmed_any = False
            if isinstance(entry, Cell):
                trimmed_any = self._trim_cell(entry, whole_outputs=running or newest, newest=newest)
            empty = isinstance(entry, Cell) and not any(_stored(o) for o in entry.outputs)
            if not running and not newest and (self._over_budget() or (trimmed_any and empty)):
                self._remove_entry(index)
            else:
                index += 1

    def _trim_cell(self, cell: Cell, *, whole_outputs: bool, newest: bool) -> bool:
        """Trim `cell`'s outputs oldest first until the budget holds: stream lines, and,
        when `whole_outputs`, whole displays and errors. True if anything went."""
        trimmed_any = False
        position = 0
        outputs = cell.outputs
        while position < len(outputs):
            excess = self.stored_lines - self.max_lines
            excess_chars = self.stored_chars - self.max_chars
            if excess <= 0 and excess_chars <= 0:
                break
            output = outputs[position]
            if isinstance(output, StreamOutput):
                lines, chars = output.trim_front(max(excess, 0), max(excess_chars, 0))
                self.stored_lines -= lines
                self.stored_chars -= chars
                trimmed_any = trimmed_any or lines > 0
                position += 1
            elif whole_outputs and not (newest and position == len(outputs) - 1):
                del outputs[position]
                self._account(output, -1)
                self._forget_display(output)
                cell.dropped_outputs += 1
                trimmed_any = True
            else:
                position += 1
        if trimmed_any:
            self._touch(cell)
        return trimmed_any

    def _remove_entry(self, index: int) -> None:
        entry = self.entries.pop(index)
        self.removed.append(entry)
        self.changed.pop(id(entry), None)
        self.dropped_entries += 1
        if isinstance(entry, Cell):
            self.cells.pop(entry.key, None)
            for output in entry.outputs:
                self._account(output, -1)
                self._forget_display(output)

    def _forget_display(self, output: Output) -> None:
        if isinstance(output, DataOutput) and output.display_id:
            holders = self._displays.get(output.display_id, [])
            if output in holders:
                holders.remove(output)
            if not holders:
                self._displays.pop(output.display_id, None)


def _page(item: object) -> PageOutput | None:
    """A payload item that pages help, as an output; None for any other payload."""
    if not isinstance(item, dict) or item.get("source") != "page":
        return None
    data = item.get("data")
    if not isinstance(data, dict):
        # IPython before 3.0 sent the text alone.
        text = item.get("text")
        data = {"text/plain": text} if isinstance(text, str) else {}
    return PageOutput(data, {}) if data else None


def _stored(output: Output) -> int:
    if isinstance(output, StreamOutput):
        return len(output.lines)
    return output.line_count
