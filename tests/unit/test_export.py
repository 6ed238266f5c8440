"""Export and record: the transcript model fed recorded message sequences, written as a
notebook and as Markdown, checked with nbformat itself."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from jupyter_core.paths import jupyter_data_dir

from nbtui.app.kernel.export import (
    SessionInfo,
    cell_order,
    export_notebook,
    notebook_chunks,
)
from nbtui.app.kernel.export_markdown import export_markdown
from nbtui.app.kernel.model import Transcript
from nbtui.app.kernel.notebook_check import notebook_node
from nbtui.app.kernel.record import Recorder, default_record_path, write_atomic
from nbtui.app.main import parse_args
from tests.unit.test_model import OWN, feed, other, own

PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n" + bytes(range(256))).decode() + "\n"
INFO = SessionInfo(
    {"language_info": {"name": "python", "version": "3.12.1", "mimetype": "text/x-python"}},
    "python3",
    "python 3.12.1 (ipython 9.0)",
    "python3",
)


def _session() -> Transcript:
    model = Transcript(OWN)
    mine, hers = own(), other(username="alice")
    model.add_own_cell(mine.msg_id, "print('a')\nprint('b')", "me")
    feed(
        model,
        mine.busy(),
        mine.input("ignored: our own code is what we sent", 1),
        mine.stream("a\n"),
        mine.stream("b\n"),
        mine.stream("warn\n", "stderr"),
        mine.stream("c\n"),
        mine.idle(),
        hers.busy(),
        hers.input("x = '\u202e'\n1/0", 2),
        hers.iopub(
            "display_data",
            {"data": {"image/png": PNG, "text/plain": "<Figure>"}, "metadata": {"w": 1}},
        ),
        hers.error(),
        hers.idle(),
    )
    return model


def test_notebook_is_valid_and_keeps_everything() -> None:
    model = _session()
    notebook = notebook_node(export_notebook(model, INFO))
    again = nbformat.reads(nbformat.writes(notebook), as_version=4)
    nbformat.validate(again)
    mine, hers = again.cells
    assert mine.source == "print('a')\nprint('b')"
    assert [(o.output_type, o.get("name"), o.get("text")) for o in mine.outputs] == [
        ("stream", "stdout", "a\nb\n"),
        ("stream", "stderr", "warn\n"),
        ("stream", "stdout", "c\n"),
    ]
    assert mine.metadata.nbtui.self and mine.metadata.nbtui.username == "me"
    assert hers.source == "x = '\u202e'\n1/0"
    assert hers.execution_count == 2
    meta = hers.metadata.nbtui
    assert (meta.username, meta.session, meta.state, meta.before_join) == (
        "alice",
        other().session,
        "error",
        False,
    )
    assert meta.started.endswith("+00:00") and meta.duration_s >= 0
    display, error = hers.outputs
    assert display.data["image/png"] == PNG
    assert display.metadata == {"w": 1}
    assert (error.ename, error.evalue) == ("ZeroDivisionError", "division by zero")
    assert error.traceback[0] == "\x1b[31mZeroDivisionError\x1b[0m"
    assert again.metadata.kernelspec.name == "python3"
    assert again.metadata.language_info.name == "python"


def test_cells_in_run_order_not_send_order() -> None:
    model = Transcript(OWN)
    mine, hers = own(), other()
    # Ours was sent while alice's ran: it shows first, but ran second.
    feed(model, hers.iopub("status", {"execution_state": "busy"}))
    model.entries.clear()
    model.cells.clear()
    model.add_own_cell(mine.msg_id, "2", "me")
    feed(model, hers.busy(), hers.input("1"), hers.idle(), mine.busy(), mine.idle())
    order = [entry.key for entry in cell_order(model.entries)]  # type: ignore[union-attr]
    assert order == [hers.msg_id, mine.msg_id]


def test_history_joined_midway_and_dropped_scrollback_are_said() -> None:
    model = Transcript(OWN, max_lines=100)
    late = other()
    feed(model, late.stream("".join(f"{i}\n" for i in range(300))), late.idle())
    model.add_catchup([(1, "a = '\u202e'"), (2, "b = 2")])
    notebook = export_notebook(model, INFO)
    nbformat.validate(nbformat.from_dict(notebook))
    history = [c for c in notebook["cells"] if c["metadata"]["nbtui"].get("from_history")]
    assert [c["source"] for c in history] == ["a = '\u202e'", "b = 2"]
    note, cell = notebook["cells"][2:]
    assert note["cell_type"] == "markdown" and "dropped 200 line(s)" in note["source"]
    assert cell["metadata"]["nbtui"]["before_join"] is True
    assert cell["metadata"]["nbtui"]["dropped"] == {
        "stream_lines": 200,
        "stream_chars": len("".join(f"{i}\n" for i in range(200))),
    }
    assert cell["outputs"][0]["text"].startswith("200\n")


def test_hostile_bundles_do_not_make_the_file_invalid() -> None:
    model = Transcript(OWN)
    bad = other()
    feed(
        model,
        bad.busy(),
        bad.iopub("display_data", {"data": {"text/plain": 5, "application/json": {"a": [1]}}}),
        bad.idle(),
    )
    model.add_notice("the kernel (re)started", "warning")
    info = SessionInfo({"language_info": {"name": "python", "version": 3}}, "k", "k", "python")
    notebook = notebook_node(export_notebook(model, info))
    assert notebook.cells[0].outputs[0].data == {"application/json": {"a": [1]}}
    assert notebook.cells[1].cell_type == "markdown"


def test_markdown_pastes_well() -> None:
    text = export_markdown(_session(), INFO)
    assert "```python\nprint('a')\nprint('b')\n```" in text
    assert "alice (`b0b5e55e`)" in text
    assert "<U+202E>" in text and "\u202e" not in text
    assert "image/png image" in text and PNG.strip() not in text
    assert "ZeroDivisionError" in text and "\x1b" not in text


def test_record_writes_only_finished_cells_and_whole_files(tmp_path: Path) -> None:
    model = _session()
    running = other()
    feed(model, running.busy(), running.input("import time"))
    path = tmp_path / "sub" / "rec.ipynb"
    recorder = Recorder(path, interval=0.0)
    recorder.start()
    try:
        assert recorder.update(model, INFO)
        assert not recorder.update(model, INFO)  # nothing changed: nothing written
    finally:
        recorder.close()
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    assert [c.source for c in notebook.cells] == ["print('a')\nprint('b')", "x = '\u202e'\n1/0"]
    assert json.loads(path.read_text())["metadata"]["nbtui"]["recording"] is True
    assert not [p for p in path.parent.iterdir() if p.name != "rec.ipynb"]


def test_atomic_write_leaves_the_old_file_when_it_fails(tmp_path: Path) -> None:
    path = tmp_path / "x.ipynb"
    write_atomic(path, "old")

    with pytest.raises(TypeError):
        write_atomic(path, 5)  # type: ignore[arg-type]
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["x.ipynb"]


def test_default_record_path_is_beside_the_runtime_dir() -> None:
    path = default_record_path("4342f625-aaaa")
    assert path.parent == Path(jupyter_data_dir()) / "nbtui-records"
    assert path.name.startswith("nbtui-") and path.name.endswith("-4342f625.ipynb")


def test_written_byte_for_byte_as_nbformat_writes_it() -> None:
    notebook = export_notebook(_session(), INFO)
    # nbformat.write adds the final newline to what writes() returns.
    assert "".join(notebook_chunks(notebook)) == nbformat.writes(notebook_node(notebook)) + "\n"


def test_record_option() -> None:
    assert parse_args(["--existing", "--record"]).record == ""
    assert parse_args(["--record", "s.ipynb", "--existing"]).record == "s.ipynb"
    assert parse_args([]).record is None
    with pytest.raises(SystemExit):
        parse_args(["--list", "--record"])


FIRST_EXPORT = """
import sys
from nbtui.app.kernel.notebook_check import notebook_node
cell = {"cell_type": "code", "id": "a1", "metadata": {}, "source": "x = 1", "outputs": [],
        "execution_count": None}
notebook = {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [cell]}
notebook_node(notebook)
print("rfc3987_syntax" in sys.modules)
import nbformat
try:
    notebook_node({**notebook, "cells": [{"cell_type": "code"}]})
except nbformat.ValidationError:
    print("rejected")
import rfc3987_syntax
print("importable")
"""


def test_the_first_export_does_not_import_a_grammar_it_never_uses() -> None:
    # jsonschema imports rfc3987_syntax when it is installed, for a format nbformat never
    # checks: 2.6 s of CPU on the first export, in a process of its own here.
    pytest.importorskip("rfc3987_syntax")
    ran = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", FIRST_EXPORT],
        capture_output=True,
        text=True,
        check=True,
    )
    assert ran.stdout.split() == ["False", "rejected", "importable"]
