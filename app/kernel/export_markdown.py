"""The shared session as Markdown to paste into an issue or a chat.

Pure, like `nbtui.app.kernel.export` (whose cell order, wall clock and scrollback notes
it shares): it reads the transcript model and returns text.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from typing import Any

from nbtui.app.kernel.entries import Catchup, Cell, Entry, Notice
from nbtui.app.kernel.export import (
    SessionInfo,
    cell_order,
    dropped_counts,
    dropped_text,
    wall_clock,
)
from nbtui.app.kernel.outputs import ErrorOutput, InputOutput, Output, StreamOutput
from nbtui.app.kernel.sanitize import sanitize
from nbtui.app.kernel.units import format_bytes

__all__ = ["export_markdown"]

_SGR = re.compile(r"\x1b\[[0-9;:]*m")


def _plain(text: str) -> str:
    """Text to paste: every escape and control gone, colours too."""
    return _SGR.sub("", sanitize(text))


def _fence(text: str, language: str = "") -> str:
    """`text` in a code fence longer than any run of backticks inside it."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0) if "`" in text else 0
    fence = "`" * max(3, longest + 1)
    return f"{fence}{language}\n{text.rstrip(chr(10))}\n{fence}"


def _markdown_output(output: Output) -> str | None:
    if isinstance(output, StreamOutput):
        text = output.text  # kept sanitized already: only colours to drop
        text = _SGR.sub("", text) if "\x1b" in text else text
        return _fence(text) if text.strip() else None
    if isinstance(output, InputOutput | ErrorOutput):
        return _fence(_plain(output.text))
    images = [mime for mime in output.data if mime.startswith("image/")]
    parts = []
    text = _plain(output.source)
    if text.strip() and not (images and text.startswith("<") and text.endswith(">")):
        parts.append(_fence(text))
    for mime in images:
        value = output.data[mime]
        size = len(value) if isinstance(value, str) else 0
        # GitHub and most chats drop data: images, and a base64 wall buries the text.
        parts.append(f"*[{mime} image, {format_bytes(size)} of base64: in the .ipynb export]*")
    return "\n\n".join(parts) if parts else None


def _markdown_cell(cell: Cell, language: str, now: tuple[float, float]) -> str:
    count = cell.execution_count if cell.execution_count is not None else " "
    who = f"{_plain(cell.username)} (`{re.sub(r'[^0-9A-Za-z-]', '', cell.session)[:8]}`)"
    head = [f"**In [{count}]**", who]
    started = wall_clock(cell.started, now)
    if started is not None:
        head.append(started.replace("T", " ")[:19] + " UTC")
    if cell.started is not None and cell.finished is not None:
        head.append(f"{max(0.0, cell.finished - cell.started):.2f} s")
    if cell.state == "error":
        head.append("error")
    elif cell.state not in ("ok",):
        head.append(cell.state)
    if not cell.is_self and cell.started is None:
        head.append("started before you joined")
    # The code as nbtui shows it: hidden characters (bidi overrides) are marked, so a
    # reader sees what runs; the .ipynb keeps it byte for byte.
    parts = [" · ".join(head), _fence(cell.code or "", language)]
    dropped = dropped_counts(cell)
    if dropped:
        parts.append(f"*nbtui: the scrollback dropped {dropped_text(dropped)} of this cell*")
    for output in cell.outputs:
        shown = _markdown_output(output)
        if shown is not None:
            parts.append(shown)
    return "\n\n".join(parts)


def export_markdown(model: Any, info: SessionInfo) -> str:
    """The transcript as Markdown to paste into an issue or a chat: each cell's author
    and time, its code fenced with the kernel's language, its outputs as text; images
    as a note (GitHub drops data: links)."""
    now = (time.time(), time.monotonic())
    language = info.fence_language
    exported = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    title = f"nbtui session on {_plain(info.kernel)}" if info.kernel else "nbtui session"
    blocks = [f"# {title}, {exported}"]
    entries: list[Entry] = list(model.entries)
    for entry in entries:
        if isinstance(entry, Catchup):
            lines = "\n".join(code for _, code in entry.inputs)
            blocks.append(
                f"*Run before this session ({len(entry.inputs)} inputs, from the "
                f"kernel's history):*\n\n{_fence(lines, language)}"
            )
    if model.dropped_entries:
        blocks.append(
            f"*nbtui: the scrollback dropped the {model.dropped_entries:,} oldest entries*"
        )
    for entry in cell_order(entries):
        if isinstance(entry, Cell):
            blocks.append(_markdown_cell(entry, language, now))
        elif isinstance(entry, Notice) and entry.level != "info":
            blocks.append(f"> nbtui: {_plain(entry.text)}")
    return "\n\n".join(blocks) + "\n"
