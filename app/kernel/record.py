"""`--record`: a notebook on disk kept up to date as cells finish, and writing files whole.

Every write is atomic: the text goes to a temporary file in the same directory, is
flushed to the disk (fsync), and replaces the notebook in one rename (`os.replace`), so a
crash or a `kill -9` at any moment leaves the last complete version, never half of one.

The notebook is rebuilt from the model on the UI's thread, but cheaply: each finished
cell's JSON is made once and kept (a cell changes again only on a rare display update),
so a rebuild costs a list of the kept pieces. The file is written from those pieces on a
thread of its own (writing and fsync release the GIL), at most once per `interval`: a
newer version waiting replaces an older one not yet written.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import tempfile
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from nbtui.app.kernel.entries import Cell
from nbtui.app.kernel.export import (
    SessionInfo,
    assemble,
    code_cell,
    indented_json,
    notebook_items,
    notebook_skeleton,
    on_disk,
)
from nbtui.app.kernel.outputs import DataOutput, StreamOutput

__all__ = ["Recorder", "default_record_path", "write_atomic"]


def write_atomic(path: Path, text: str | Iterable[str]) -> None:
    """Write `text` (UTF-8; or its pieces, in order) to `path` whole or not at all: a
    temporary file beside it, fsync, then one rename over it (and an fsync of the
    directory, so the rename itself survives a power cut)."""
    directory = path.parent
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            if isinstance(text, str):
                file.write(text)
            else:
                file.writelines(text)
            file.flush()
            os.fsync(file.fileno())
        with contextlib.suppress(OSError):
            # mkstemp makes it private (0600); a notebook is the user's usual file.
            mask = os.umask(0)
            os.umask(mask)
            os.chmod(temporary, 0o666 & ~mask)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    with contextlib.suppress(OSError):
        descriptor = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)


def default_record_path(kernel_id: str = "", now: dt.datetime | None = None) -> Path:
    """Where a bare `--record` writes: `nbtui-records/` in Jupyter's data directory
    (`jupyter --data-dir`, which holds the runtime dir unless that is moved to
    `$XDG_RUNTIME_DIR`, a tmpfs emptied at logout: a record must outlive that), named
    by the time and the kernel (`nbtui-20261126-010203-4342f625.ipynb`)."""
    from jupyter_core.paths import jupyter_data_dir  # noqa: PLC0415

    stamp = (now or dt.datetime.now()).strftime("%Y%m%d-%H%M%S")
    kernel = "".join(ch for ch in kernel_id if ch.isalnum() or ch == "-")[:8]
    name = f"nbtui-{stamp}-{kernel}.ipynb" if kernel else f"nbtui-{stamp}.ipynb"
    return Path(jupyter_data_dir()) / "nbtui-records" / name


def _fingerprint(cell: Cell) -> tuple[Any, ...]:
    """What changes when a finished cell's notebook form would (a display update, the
    scrollback trimming it)."""
    outputs: list[tuple[int, int, int]] = []
    for output in cell.outputs:
        if isinstance(output, StreamOutput):
            outputs.append((id(output), output.received, len(output.raw)))
        elif isinstance(output, DataOutput):
            outputs.append((id(output), output.version, 0))
        else:
            outputs.append((id(output), 0, 0))
    return (cell.state, cell.execution_count, cell.finished, cell.dropped_outputs, *outputs)


class Recorder:
    """Keeps `path` a notebook of the session's finished cells.

    Args:
        path: The notebook to write (its directory is made if missing).
        interval: Seconds between writes at most.
    """

    def __init__(self, path: Path, interval: float = 1.0) -> None:
        self.path = path
        self.interval = interval
        self.writes = 0
        """Versions written so far."""
        self.error: str | None = None
        """Why the last write failed, until one succeeds."""
        self.last_build = 0.0
        """Seconds the last rebuild took on the caller's thread (measured in bench/)."""
        self._cache: dict[str, tuple[tuple[Any, ...], str]] = {}
        self._last_text: list[str] | None = None
        self._pending: list[str] | None = None
        self._closing = False
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Make the directory and start the writer thread."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._thread = threading.Thread(target=self._run, name="nbtui-record", daemon=True)
        self._thread.start()

    def build(self, model: Any, info: SessionInfo) -> list[str]:
        """The notebook's text for the model now, in pieces: finished cells only. A
        finished cell's piece is the same string object from one build to the next."""
        began = time.perf_counter()
        now = (time.time(), time.monotonic())
        skeleton = notebook_skeleton(info, recording=True)
        del skeleton["cells"]
        # "exported" would make every build differ: the file says when it was begun.
        skeleton["metadata"]["nbtui"].pop("exported", None)
        chunks: list[str] = []
        seen: set[str] = set()
        for item in notebook_items(model, finished_only=True):
            if isinstance(item, Cell):
                seen.add(item.key)
                mark = _fingerprint(item)
                cached = self._cache.get(item.key)
                if cached is None or cached[0] != mark:
                    cached = (mark, indented_json(on_disk(code_cell(item, now)), 2))
                    self._cache[item.key] = cached
                chunks.append(cached[1])
            else:
                chunks.append(indented_json(on_disk(item), 2))
        for gone in self._cache.keys() - seen:
            del self._cache[gone]
        pieces = assemble(chunks, skeleton)
        self.last_build = time.perf_counter() - began
        return pieces

    def update(self, model: Any, info: SessionInfo) -> bool:
        """Rebuild the notebook and hand it to the writer if it changed; True if so."""
        text = self.build(model, info)
        # Pieces of unchanged cells are the same objects: comparing is cheap.
        if text == self._last_text:
            return False
        self._last_text = text
        with self._wake:
            self._pending = text
            self._wake.notify()
        return True

    def close(self, timeout: float = 10.0) -> None:
        """Write what is pending, then stop the writer thread."""
        with self._wake:
            self._closing = True
            self._wake.notify()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        while True:
            with self._wake:
                while self._pending is None and not self._closing:
                    self._wake.wait()
                text, self._pending = self._pending, None
                closing = self._closing
            if text is not None:
                began = time.monotonic()
                try:
                    write_atomic(self.path, text)
                except OSError as error:
                    self.error = f"{self.path}: {error.strerror or error}"
                else:
                    self.error = None
                    self.writes += 1
                if not closing:
                    # At most one write per interval: what comes meanwhile waits, and only
                    # its newest version is written.
                    rest = self.interval - (time.monotonic() - began)
                    if rest > 0:
                        with self._wake:
                            self._wake.wait_for(lambda: self._closing, rest)
                    continue
            if closing:
                with self._wake:
                    if self._pending is None:
                        return
