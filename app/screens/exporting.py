"""Export (ctrl+s) and `--record` for the console: what to write, where, and when.

Nothing here sends anything to the kernel: the notebook is made from what the session
already holds. The text is built on the UI's thread (the model changes on it); checking
and writing the file run on a worker thread.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING

from nbtui.app.kernel.export import (
    SessionInfo,
    export_notebook,
    notebook_chunks,
)
from nbtui.app.kernel.export_markdown import export_markdown
from nbtui.app.kernel.notebook_check import notebook_node
from nbtui.app.kernel.record import Recorder, write_atomic

if TYPE_CHECKING:
    from nbtui.app.kernel.session import KernelSession

__all__ = [
    "MARKDOWN_SUFFIXES",
    "SessionRecorder",
    "default_export_path",
    "export_session",
    "session_info",
]

MARKDOWN_SUFFIXES = frozenset({".md", ".markdown"})
"""A path ending so is exported as Markdown; any other as a notebook."""


def default_export_path(suffix: str = ".ipynb", now: dt.datetime | None = None) -> str:
    """The path offered: a timestamped name in the current directory."""
    stamp = (now or dt.datetime.now()).strftime("%Y%m%d-%H%M%S")
    return str(Path.cwd() / f"nbtui-{stamp}{suffix}")


def session_info(session: KernelSession) -> SessionInfo:
    """What the notebook says about the kernel: kernel_info, the kernelspec's name."""
    client = session.client
    return SessionInfo(
        dict(client.kernel_info or {}), client.info.kernel_name, session.kernel, session.language
    )


def _target(typed: str, suffix: str) -> Path:
    """The typed path made whole: `~` expanded, relative to the current directory, a
    directory given a timestamped name, no suffix given the default one."""
    path = Path(typed).expanduser()
    if not path.is_absolute():
        path = Path.cwd() / path
    if path.is_dir():
        return path / Path(default_export_path(suffix)).name
    if not path.suffix:
        path = path.with_suffix(suffix)
    return path


async def export_session(session: KernelSession, typed: str, suffix: str = ".ipynb") -> Path:
    """Write the session to the typed path: Markdown for `.md`, else a notebook checked
    with `nbformat.validate`. Returns the path written; raises OSError or
    nbformat's ValidationError."""
    path = _target(typed, suffix)
    info = session_info(session)
    if path.suffix.lower() in MARKDOWN_SUFFIXES:
        text = export_markdown(session.model, info)
        await asyncio.to_thread(write_atomic, path, text)
        return path
    notebook = export_notebook(session.model, info)

    def check_and_write() -> None:
        # Checked once (nbformat.writes would check again), then written cell by cell:
        # one 16 MB json.dumps would hold the GIL, and the UI, for half a second.
        notebook_node(notebook)
        write_atomic(path, notebook_chunks(notebook))

    await asyncio.to_thread(check_and_write)
    return path


class SessionRecorder:
    """`--record`: the session's finished cells kept in a notebook on disk.

    Args:
        session: The session recorded.
        path: The notebook.
    """

    def __init__(self, session: KernelSession, path: Path) -> None:
        self.session = session
        self.recorder = Recorder(path)
        self._seen: tuple[object, ...] | None = None

    @property
    def path(self) -> Path:
        """The notebook written."""
        return self.recorder.path

    def start(self) -> None:
        """Start the writer (and make the notebook's directory): raises OSError."""
        self.recorder.start()
        self.tick()

    def tick(self) -> None:
        """Hand the writer a new version if anything came from the kernel since the last
        one (a quiet session costs a comparison a second)."""
        model = self.session.model
        seen = (
            model.last_iopub,
            len(model.entries),
            model.dropped_entries,
            sum(1 for cell in model.cells.values() if cell.finished is not None),
            self.session.kernel,
        )
        if seen == self._seen:
            return
        self._seen = seen
        self.recorder.update(model, session_info(self.session))

    def close(self) -> None:
        """Write the last version and stop the writer."""
        self._seen = None
        self.tick()
        self.recorder.close()
