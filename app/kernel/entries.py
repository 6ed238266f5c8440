"""What the transcript holds, in order: cells, nbtui's own notices, and the folded
catch-up of what ran before we joined.

Pure data; `nbtui.app.kernel.model.Transcript` builds and changes them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from nbtui.app.kernel.outputs import Output, StreamOutput

__all__ = ["Catchup", "Cell", "CellState", "Entry", "Notice", "rate_limit_warning"]

CellState = Literal["queued", "running", "ok", "error", "aborted"]
"""Where a cell is in its life: sent, running, or ended one of three ways."""


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
        """Rows the cell takes: its code's lines and every output's."""
        code_lines = (self.code or "").count("\n") + 1
        return code_lines + sum(output.line_count for output in self.outputs)

    def last_stream(self, name: str) -> StreamOutput | None:
        """The cell's last output if it is the stream `name` (stdout, stderr), which new
        text of that stream extends; else None."""
        if self.outputs:
            last = self.outputs[-1]
            if isinstance(last, StreamOutput) and last.name == name:
                return last
        return None


@dataclass(eq=False)
class Catchup:
    """This kernel's inputs from before we joined (history_request), shown folded."""

    inputs: list[tuple[int, str]]
    """(execution count, code as shown: `sanitize_code`), oldest first."""
    expanded: bool = False
    sources: list[str] = field(default_factory=list)
    """The same inputs' code exactly as the history gave it (for export)."""


Entry = Cell | Notice | Catchup


_RATE_LIMITS = ("IOPub data rate exceeded", "IOPub message rate exceeded")
"""How a Jupyter Server's stand-in for the output it drops begins (on stderr)."""


def rate_limit_warning(username: str, text: str) -> str | None:
    """The notice for a Jupyter Server's stand-in for output it stopped forwarding (on
    `username`'s cell's stderr): said as nbtui, not as if the kernel had printed it.
    None when `text` is ordinary stderr."""
    if not text.startswith(_RATE_LIMITS):
        return None
    what = "data" if text.startswith(_RATE_LIMITS[0]) else "message"
    limit = re.search(r"iopub_(?:data|msg)_rate_limit=([\d.e+]+)", text)
    window = re.search(r"rate_limit_window=([\d.e+]+)", text)
    unit = "bytes/s" if what == "data" else "messages/s"
    detail = f" (limit {limit.group(1)} {unit}" if limit else ""
    if detail and window:
        detail += f" over {window.group(1)} s"
    detail += ")" if detail else ""
    return (
        f"the Jupyter Server dropped output of {username}'s cell: IOPub {what} "
        f"rate exceeded{detail}; what it dropped is lost to its WebSocket clients "
        f"(the server's iopub_{'data' if what == 'data' else 'msg'}_rate_limit)"
    )
