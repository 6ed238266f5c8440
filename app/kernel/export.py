"""The shared session as a document: a Jupyter notebook (nbformat 4); Markdown is in
`nbtui.app.kernel.export_markdown`.

Pure: it reads the transcript model (`nbtui.app.kernel.model.Transcript`) and returns
notebook nodes or text; it never talks to the kernel. What the model keeps for this:
each cell's code exactly as its author sent it (`Cell.source`), the mime bundles and
their metadata as they came, stream text as it came (`StreamOutput.raw_text`), errors'
name, value and traceback, who ran each cell (username, session id) and when.

A code cell's metadata says who ran it and when, under `nbtui`::

    {"nbtui": {"username": "alice", "session": "<session id>", "self": false,
               "started": "2026-11-26T01:02:03.456+00:00", "finished": "...",
               "duration_s": 0.42, "state": "ok", "before_join": false}}

`before_join` is true for a cell that started before this client joined (its start and
maybe its code were never seen here) and for the inputs from the kernel's history that
ran before (`from_history`: no outputs, no author). Where the scrollback let something go,
the cell's metadata says how much (`dropped`) and a Markdown cell says so in the notebook.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from nbtui.app.kernel.entries import Catchup, Cell, Entry, Notice
from nbtui.app.kernel.outputs import (
    ErrorOutput,
    InputOutput,
    Output,
    PageOutput,
    StreamOutput,
)
from nbtui.app.kernel.sanitize import sanitize

__all__ = [
    "FINISHED",
    "SessionInfo",
    "assemble",
    "cell_order",
    "code_cell",
    "dropped_counts",
    "dropped_text",
    "export_notebook",
    "indented_json",
    "markdown_note",
    "notebook_chunks",
    "notebook_items",
    "notebook_skeleton",
    "on_disk",
    "wall_clock",
]

FINISHED = frozenset({"ok", "error", "aborted"})
"""Cell states after which a cell no longer changes (but for a later display update)."""


@dataclass
class SessionInfo:
    """What the notebook says about the kernel, besides the cells: from kernel_info.

    Args:
        kernel_info: The kernel_info_reply content (its `language_info` goes in).
        kernel_name: The kernelspec's name, when known (`python3`).
        kernel: The kernel in a few words, as the status line names it.
        language: The Markdown fences' language (`python`).
    """

    kernel_info: Mapping[str, Any] = field(default_factory=dict)
    kernel_name: str = ""
    kernel: str = ""
    language: str = ""

    @property
    def fence_language(self) -> str:
        """The code fences' language: kernel_info's name, else the given one."""
        language_info = self.kernel_info.get("language_info")
        name = language_info.get("name") if isinstance(language_info, Mapping) else None
        chosen = name if isinstance(name, str) and name else self.language
        # A fence's info string ends at a backtick or a newline: keep it a word.
        return re.sub(r"[^\w+#.-]", "", chosen)[:30]


def wall_clock(monotonic: float | None, now: tuple[float, float] | None = None) -> str | None:
    """A `time.monotonic()` instant as an ISO 8601 UTC time (milliseconds), or None.

    Args:
        monotonic: The instant, as the model keeps it (`Msg.received`).
        now: (`time.time()`, `time.monotonic()`) taken together; by default now.
    """
    if monotonic is None:
        return None
    wall, mono = now if now is not None else (time.time(), time.monotonic())
    instant = dt.datetime.fromtimestamp(wall - (mono - monotonic), tz=dt.timezone.utc)
    return instant.isoformat(timespec="milliseconds")


# -- notebook ------------------------------------------------------------------------------


_JSON_TYPE = re.compile(r"application/(?:.*\+)?json")
"""nbformat's pattern for the mime types whose value may be any JSON."""
_SPLIT_TYPES = frozenset({"image/svg+xml", "application/javascript"})
"""Besides text/*, the types nbformat writes as a list of lines."""


def _is_json_type(mime: str) -> bool:
    return _JSON_TYPE.fullmatch(mime) is not None


def _lines(value: Any) -> Any:
    return value.splitlines(True) if isinstance(value, str) else value


def on_disk(cell: Mapping[str, Any]) -> dict[str, Any]:
    """A notebook cell as nbformat writes it (JupyterLab too): multi-line text as lists of
    lines, which reading joins again; a line-based diff of two versions stays readable."""
    written = dict(cell)
    written["source"] = _lines(cell.get("source", ""))
    outputs = cell.get("outputs")
    if outputs is not None:
        written["outputs"] = [_output_on_disk(output) for output in outputs]
    return written


def _output_on_disk(output: Mapping[str, Any]) -> dict[str, Any]:
    written = dict(output)
    if output["output_type"] == "stream":
        written["text"] = _lines(output["text"])
    elif "data" in output:
        written["data"] = {
            mime: _lines(value) if mime.startswith("text/") or mime in _SPLIT_TYPES else value
            for mime, value in output["data"].items()
        }
    return written


def notebook_chunks(notebook: Mapping[str, Any]) -> list[str]:
    """The notebook's JSON text in pieces (joined, a file nbformat reads): one piece per
    cell, so that a thread writing it lets others run between pieces."""
    head = {key: value for key, value in notebook.items() if key != "cells"}
    cells = [indented_json(on_disk(cell), 2) for cell in notebook.get("cells", [])]
    return assemble(cells, head)


def indented_json(value: Any, depth: int) -> str:
    """`value` as JSON laid out as nbformat writes it (one-space indent, sorted keys,
    UTF-8 as is) at `depth` levels in."""
    text = json.dumps(value, indent=1, sort_keys=True, ensure_ascii=False)
    return " " * depth + text.replace("\n", "\n" + " " * depth)


def assemble(cells: list[str], head: Mapping[str, Any]) -> list[str]:
    """The notebook's text in pieces: `cells` (from `indented_json(…, 2)`) and the rest
    of the notebook (`head`: metadata, nbformat, nbformat_minor)."""
    rest = indented_json(dict(head), 0)
    pieces = ['{\n "cells": [']
    for index, cell in enumerate(cells):
        # Separators apart: a cell's piece stays the very string made for it (no copy).
        pieces.append("\n" if index == 0 else ",\n")
        pieces.append(cell)
    pieces.append(("\n ],\n" if cells else "],\n") + rest[2:] + "\n")
    return pieces


def _bundle(data: Mapping[Any, Any]) -> dict[str, Any]:
    """A mime bundle as nbformat takes it: the values as they came (a base64 PNG stays
    the same string), any JSON under a JSON type; a value of the wrong kind (a kernel's
    nonsense) is left out rather than making the file invalid."""
    bundle: dict[str, Any] = {}
    for mime, value in data.items():
        if not isinstance(mime, str):
            continue
        lines = isinstance(value, list) and all(isinstance(part, str) for part in value)
        if _is_json_type(mime) or isinstance(value, str) or lines:
            bundle[mime] = value
    return bundle


def _outputs(cell: Cell) -> list[dict[str, Any]]:
    """The cell's outputs as nbformat 4 outputs, streams joined as Jupyter joins them
    (consecutive outputs of one stream are one)."""
    result: list[dict[str, Any]] = []
    for output in cell.outputs:
        converted = _output(output)
        if converted is None:
            continue
        last = result[-1] if result else None
        if (
            converted["output_type"] == "stream"
            and last is not None
            and last["output_type"] == "stream"
            and last["name"] == converted["name"]
        ):
            last["text"] += converted["text"]
        else:
            result.append(converted)
    return result


def _output(output: Output) -> dict[str, Any] | None:
    if isinstance(output, StreamOutput):
        text = output.raw_text
        return {"output_type": "stream", "name": output.name, "text": text} if text else None
    if isinstance(output, InputOutput):
        # The kernel echoes neither prompt nor answer: kept as Jupyter front ends show them.
        return {"output_type": "stream", "name": "stdout", "text": output.text + "\n"}
    if isinstance(output, ErrorOutput):
        return {
            "output_type": "error",
            "ename": output.ename,
            "evalue": output.evalue,
            "traceback": list(output.traceback),
        }
    metadata = dict(output.metadata)
    if isinstance(output, PageOutput):
        metadata["nbtui"] = {"page": True}
    if output.execution_count is not None and not isinstance(output, PageOutput):
        return {
            "output_type": "execute_result",
            "data": _bundle(output.data),
            "metadata": metadata,
            "execution_count": output.execution_count,
        }
    return {"output_type": "display_data", "data": _bundle(output.data), "metadata": metadata}


def dropped_counts(cell: Cell) -> dict[str, int]:
    """What the scrollback let go of in `cell`: whole outputs, stream lines and characters."""
    dropped: dict[str, int] = {}
    if cell.dropped_outputs:
        dropped["outputs"] = cell.dropped_outputs
    lines = sum(o.dropped for o in cell.outputs if isinstance(o, StreamOutput))
    chars = sum(o.raw_dropped_chars for o in cell.outputs if isinstance(o, StreamOutput))
    if lines:
        dropped["stream_lines"] = lines
    if chars:
        dropped["stream_chars"] = chars
    return dropped


def dropped_text(dropped: Mapping[str, int]) -> str:
    """`dropped_counts` as words: "3 whole output(s) and 12 line(s) of stream output"."""
    parts = []
    if "outputs" in dropped:
        parts.append(f"{dropped['outputs']:,} whole output(s)")
    if "stream_lines" in dropped:
        parts.append(f"{dropped['stream_lines']:,} line(s) of stream output")
    elif "stream_chars" in dropped:
        parts.append(f"{dropped['stream_chars']:,} character(s) of stream output")
    return " and ".join(parts)


def code_cell(cell: Cell, now: tuple[float, float] | None = None) -> dict[str, Any]:
    """One transcript cell as an nbformat 4 code cell (a plain dict, valid as it is).

    Args:
        cell: The cell.
        now: (`time.time()`, `time.monotonic()`), to turn the model's instants into times.
    """
    now = now or (time.time(), time.monotonic())
    meta: dict[str, Any] = {
        "username": cell.username,
        "session": cell.session,
        "self": cell.is_self,
        "state": cell.state,
        # Its start was never seen: it was running when this client joined.
        "before_join": not cell.is_self and cell.started is None,
    }
    started = wall_clock(cell.started, now)
    if started is not None:
        meta["started"] = started
    finished = wall_clock(cell.finished, now)
    if finished is not None:
        meta["finished"] = finished
    if cell.started is not None and cell.finished is not None:
        meta["duration_s"] = round(max(0.0, cell.finished - cell.started), 3)
    if cell.source is None:
        meta["source_unseen"] = True
    dropped = dropped_counts(cell)
    if dropped:
        meta["dropped"] = dropped
    return {
        "id": _cell_id(cell),
        "cell_type": "code",
        "execution_count": cell.execution_count,
        "metadata": {"nbtui": meta},
        "source": cell.source or "",
        "outputs": _outputs(cell),
    }


def markdown_note(text: str, cell_id: str, **nbtui: Any) -> dict[str, Any]:
    """A Markdown cell of nbtui's own words (not the kernel's): a note in the notebook."""
    return {
        "id": cell_id,
        "cell_type": "markdown",
        "metadata": {"nbtui": {"note": True, **nbtui}},
        "source": f"*nbtui: {text}*",
    }


def _history_cell(count: int, source: str, cell_id: str) -> dict[str, Any]:
    return {
        "id": cell_id,
        "cell_type": "code",
        "execution_count": count,
        "metadata": {"nbtui": {"before_join": True, "from_history": True}},
        "source": source,
        "outputs": [],
    }


def cell_order(entries: Iterable[Entry]) -> list[Entry]:
    """Entries in the order the kernel ran them.

    The transcript holds them in the order they were first seen, and a cell of ours
    appears when sent, so it can come before another client's cell that the kernel ran
    first. Cells are ordered by when they started; an entry with no start (a notice, a
    cell not started yet) keeps its place after the entry before it."""
    keyed: list[tuple[float, int, Entry]] = []
    last = float("-inf")
    for index, entry in enumerate(entries):
        if isinstance(entry, Cell) and entry.started is not None:
            last = entry.started
        keyed.append((last, index, entry))
    keyed.sort(key=lambda item: (item[0], item[1]))
    return [entry for _, _, entry in keyed]


def _cell_id(cell: Cell) -> str:
    """nbformat 4.5's cell id, stable for the cell however the file around it changes
    (its execute_request's msg_id comes from a client: hashed, never copied)."""
    return "cell-" + hashlib.blake2s(cell.key.encode(), digest_size=8).hexdigest()


def notebook_items(model: Any, *, finished_only: bool = False) -> Iterator[Cell | dict[str, Any]]:
    """What the notebook holds, in run order: transcript cells (for `code_cell`), and
    ready notebook cells for the history inputs and nbtui's notes.

    Args:
        model: The transcript (`Transcript`: entries, dropped_entries).
        finished_only: Leave out cells still queued or running (a recording).
    """
    entries: list[Entry] = list(model.entries)
    for entry in entries:
        if isinstance(entry, Catchup):
            sources = entry.sources or [code for _, code in entry.inputs]
            for index, ((count, _), source) in enumerate(zip(entry.inputs, sources, strict=False)):
                yield _history_cell(count, source, f"history-{index}")
    if model.dropped_entries:
        yield markdown_note(
            f"the scrollback dropped the {model.dropped_entries:,} oldest entries "
            "(cells and notices) to stay within --scrollback; they are not in this file",
            "dropped-entries",
            dropped_entries=model.dropped_entries,
        )
    for index, entry in enumerate(cell_order(entries)):
        if isinstance(entry, Cell):
            if finished_only and entry.state not in FINISHED:
                continue
            dropped = dropped_counts(entry)
            if dropped:
                shown = entry.execution_count if entry.execution_count is not None else " "
                yield markdown_note(
                    f"the scrollback dropped {dropped_text(dropped)} of the next cell "
                    f"(In [{shown}]) to stay within --scrollback",
                    f"note-{index}",
                    dropped=dropped,
                )
            yield entry
        elif isinstance(entry, Notice) and entry.level != "info":
            yield markdown_note(sanitize(entry.text), f"note-{index}", level=entry.level)


def notebook_skeleton(info: SessionInfo, *, recording: bool = False) -> dict[str, Any]:
    """The notebook without its cells: format version and metadata."""
    language_info = _language_info(info.kernel_info.get("language_info"))
    metadata: dict[str, Any] = {
        "nbtui": {
            "exported": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "kernel": info.kernel,
            "recording": recording,
        }
    }
    if language_info:
        metadata["language_info"] = language_info
    if info.kernel_name:
        metadata["kernelspec"] = {
            "name": info.kernel_name,
            "display_name": info.kernel or info.kernel_name,
            "language": language_info.get("name", info.language),
        }
    return {"nbformat": 4, "nbformat_minor": 5, "metadata": metadata, "cells": []}


_LANGUAGE_INFO_TYPES = {
    "name": str,
    "version": str,
    "mimetype": str,
    "file_extension": str,
    "pygments_lexer": str,
    "nbconvert_exporter": str,
}


def _language_info(given: object) -> dict[str, Any]:
    """kernel_info's `language_info`, keeping only what has the type nbformat wants (the
    kernel writes it, and a wrong type would make the whole file invalid)."""
    if not isinstance(given, Mapping) or not isinstance(given.get("name"), str):
        return {}
    kept = {
        key: given[key]
        for key, kind in _LANGUAGE_INFO_TYPES.items()
        if isinstance(given.get(key), kind)
    }
    mode = given.get("codemirror_mode")
    if isinstance(mode, str | dict):
        kept["codemirror_mode"] = mode
    return kept


def export_notebook(model: Any, info: SessionInfo) -> dict[str, Any]:
    """The whole transcript as an nbformat 4.5 notebook (a plain dict; running cells
    included, as far as they got)."""
    now = (time.time(), time.monotonic())
    notebook = notebook_skeleton(info)
    notebook["cells"] = [
        code_cell(item, now) if isinstance(item, Cell) else item for item in notebook_items(model)
    ]
    return notebook
