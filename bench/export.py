"""Export and --record on a full scrollback: what each step costs on the UI's thread.

A transcript at the default budget (50,000 lines, about 16 M characters: 2,000 cells of
25 lines of 300 characters, plus 50 PNG displays of 100 KB) is built from messages, then:

- `record build, cold`: the recorder's first rebuild (every cell made into JSON);
- `record build, +1 cell`: a rebuild after one more cell finished (the UI's thread cost
  of each --record write; the write itself runs on the recorder's thread);
- `record write`: `write_atomic` of that text (temp file, fsync, rename), off the UI;
- `export notebook`: ctrl+s's dict on the UI's thread, then validation and `nbformat.writes`
  (on a worker thread in the app);
- `export markdown`.

Run: `python bench/export.py` (about 30 s). No kernel: the messages are made here.
"""

from __future__ import annotations

import base64
import itertools
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from nbtui.app.kernel.export import (
    SessionInfo,
    export_notebook,
    notebook_chunks,
    notebook_node,
)
from nbtui.app.kernel.export_markdown import export_markdown
from nbtui.app.kernel.messages import Msg
from nbtui.app.kernel.model import Transcript
from nbtui.app.kernel.record import Recorder, write_atomic

OWN = "own-session"
_ids = itertools.count()


def _msg(parent: str, msg_type: str, content: dict[str, Any], session: str = "peer") -> Msg:
    return Msg(
        "iopub",
        msg_type,
        f"m{next(_ids)}",
        content,
        parent_id=parent,
        parent_session=session,
        parent_username="alice",
        parent_msg_type="execute_request",
    )


def _cell(model: Transcript, index: int) -> None:
    key = f"cell-{index}"
    line = f"{index:08d} " + "x" * 290 + "\n"
    messages = [
        _msg(key, "status", {"execution_state": "busy"}),
        _msg(
            key, "execute_input", {"code": f"print(line * 25)  # {index}", "execution_count": index}
        ),
        _msg(key, "stream", {"name": "stdout", "text": line * 25}),
    ]
    if index % 40 == 0:
        png = base64.b64encode(bytes(75_000)).decode()
        messages.append(
            _msg(
                key,
                "display_data",
                {"data": {"image/png": png, "text/plain": "<F>"}, "metadata": {}},
            )
        )
    messages.append(_msg(key, "status", {"execution_state": "idle"}))
    model.apply_all(messages)


def _timed(work: Callable[[], object], runs: int = 3) -> tuple[float, object]:
    times, result = [], None
    for _ in range(runs):
        began = time.perf_counter()
        result = work()
        times.append(time.perf_counter() - began)
    return statistics.median(times), result


def main() -> None:
    """Print the table."""
    model = Transcript(OWN, max_lines=50_000)
    for index in range(2_000):
        _cell(model, index)
    info = SessionInfo({"language_info": {"name": "python"}}, "python3", "python 3", "python")
    print(
        f"transcript: {len(model.cells):,} cells, {model.stored_lines:,} lines, "
        f"{model.stored_chars / 1e6:.1f} M characters"
    )
    rows = []
    with tempfile.TemporaryDirectory() as directory:
        recorder = Recorder(Path(directory) / "rec.ipynb")
        began = time.perf_counter()
        text = recorder.build(model, info)
        rows.append(("record build, cold", time.perf_counter() - began))
        counter = itertools.count(2_000)

        builds = []
        for _ in range(5):
            _cell(model, next(counter))
            seconds, text = _timed(lambda: recorder.build(model, info), 1)
            builds.append(seconds)
        rows.append(("record build, +1 cell", statistics.median(builds)))
        path = Path(directory) / "rec.ipynb"
        size = sum(map(len, text)) / 1e6  # type: ignore[arg-type]
        seconds, _ = _timed(lambda: write_atomic(path, text))  # type: ignore[arg-type]
        rows.append((f"record write ({size:.0f} M characters)", seconds))
        seconds, notebook = _timed(lambda: export_notebook(model, info))
        rows.append(("export notebook: dict (UI thread)", seconds))

        began = time.perf_counter()
        import nbformat  # noqa: F401, PLC0415 - the first export pays for it (jsonschema)

        rows.append(("import nbformat (first export only, worker)", time.perf_counter() - began))
        seconds, _ = _timed(lambda: notebook_node(notebook), 1)  # type: ignore[arg-type]
        rows.append(("export notebook: validate (worker)", seconds))
        seconds, _ = _timed(
            lambda: write_atomic(path, notebook_chunks(notebook)),  # type: ignore[arg-type]
            1,
        )
        rows.append(("export notebook: JSON + write (worker)", seconds))
        seconds, _ = _timed(lambda: export_markdown(model, info))
        rows.append(("export markdown (UI thread)", seconds))
    print(f"load average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    for name, seconds in rows:
        print(f"{name:45} {seconds * 1000:9.1f} ms")


if __name__ == "__main__":
    main()
