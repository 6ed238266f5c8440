"""Export (ctrl+s) and --record with two real clients on one real kernel: nbtui and a
jupyter_client peer with its own username."""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path
from typing import Any

import nbformat
from jupyter_client import KernelManager
from PIL import Image
from textual.widgets import Input

from nbtui.app.kernel.client import KernelClient
from nbtui.app.nbtui_app import create_app
from nbtui.app.screens.export_prompt import ExportPrompt
from nbtui.widgets.connection_pane import ConnectionPane
from tests.ui.conftest import peer, until


def _png() -> bytes:
    picture = io.BytesIO()
    Image.new("RGB", (3, 2), (200, 30, 90)).save(picture, format="PNG")
    return picture.getvalue()


PEER_CODE = (
    "import base64  # \u202e peer's own bidi\n"
    "from IPython.display import Image, display\n"
    "print('hello from alice')\n"
    f"display(Image(data=base64.b64decode({base64.b64encode(_png()).decode()!r})))"
)
OWN_CODE = "s = 'abc\u202edef'  # Trojan Source\nprint(s)\n1/0"


def _peer_run(other: Any, code: str) -> list[dict[str, Any]]:
    """Run a cell as the peer; the iopub messages of its own cell, as they came."""
    seen: list[dict[str, Any]] = []
    other.execute_interactive(code, timeout=60, output_hook=seen.append)
    return seen


async def test_export_of_two_clients_cells_round_trips(
    kernel: KernelManager, client: KernelClient, tmp_path: Path
) -> None:
    app = create_app(client)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.kernel_state == "idle")
        with peer(kernel, "alice") as other:
            sent = _peer_run(other, PEER_CODE)
        png = next(m for m in sent if m["msg_type"] == "display_data")["content"]["data"]
        await until(pilot, lambda: len(app.model.cells) == 1 and not app.model.busy)
        app.run_cell(OWN_CODE)
        await until(
            pilot,
            lambda: (
                len(app.model.cells) == 2
                and all(c.state == "error" for c in app.model.cells.values() if c.is_self)
            ),
        )
        await pilot.press("ctrl+s")
        await until(pilot, lambda: isinstance(app.screen, ExportPrompt))
        offered = app.screen.query_one(Input).value
        assert offered.endswith(".ipynb") and Path(offered).parent == Path.cwd()
        target = tmp_path / "session.ipynb"
        app.screen.query_one(Input).value = str(target)
        await pilot.press("enter")
        await until(pilot, target.exists)
        await until(pilot, lambda: any("exported to" in n.message for n in app._notifications))

    notebook = nbformat.read(target, as_version=4)
    nbformat.validate(notebook)
    assert nbformat.reads(nbformat.writes(notebook), as_version=4) == notebook
    theirs, mine = (c for c in notebook.cells if c.cell_type == "code")
    assert theirs.source == PEER_CODE and mine.source == OWN_CODE
    assert theirs.metadata.nbtui.username == "alice"
    assert theirs.metadata.nbtui.session == sent[0]["parent_header"]["session"]
    assert mine.metadata.nbtui.username == client.username and mine.metadata.nbtui.self
    stream, display = theirs.outputs
    assert (stream.name, stream.text) == ("stdout", "hello from alice\n")
    assert display.data["image/png"] == png["image/png"]
    assert base64.b64decode(display.data["image/png"]) == _png()
    assert mine.outputs[0].text == "abc\u202edef\n"
    assert mine.outputs[-1].ename == "ZeroDivisionError"
    assert theirs.execution_count is not None and mine.execution_count == (
        theirs.execution_count + 1
    )


async def test_markdown_export_and_record(client: KernelClient, tmp_path: Path) -> None:
    record = tmp_path / "rec" / "live.ipynb"
    app = create_app(client, record=record)
    async with app.run_test(size=(160, 40)) as pilot:
        await until(pilot, lambda: app.kernel_state == "idle")
        await until(pilot, lambda: app.screen.query_one(ConnectionPane).record_path != "")
        app.run_cell("print(6 * 7)")
        await until(pilot, lambda: record.exists() and "42" in record.read_text())
        recorded = nbformat.read(record, as_version=4)
        assert [c.source for c in recorded.cells] == ["print(6 * 7)"]
        # Written as JupyterLab writes: lists of lines, for line-based diffs.
        assert json.loads(record.read_text())["cells"][0]["outputs"][0]["text"] == ["42\n"]
        await pilot.press("alt+s")
        await until(pilot, lambda: isinstance(app.screen, ExportPrompt))
        target = tmp_path / "notes"  # no suffix: the prompt's kind adds it
        app.screen.query_one(Input).value = str(target)
        await pilot.press("enter")
        await until(pilot, lambda: target.with_suffix(".md").exists())
        # A directory is given the offered name; a path nbtui cannot write is said.
        await pilot.press("ctrl+s")
        await until(pilot, lambda: isinstance(app.screen, ExportPrompt))
        app.screen.query_one(Input).value = str(tmp_path)
        await pilot.press("enter")
        await until(pilot, lambda: any(tmp_path.glob("nbtui-*.ipynb")))
        await pilot.press("ctrl+s")
        await until(pilot, lambda: isinstance(app.screen, ExportPrompt))
        app.screen.query_one(Input).value = str(tmp_path / "missing" / "x.ipynb")
        await pilot.press("enter")
        await until(pilot, lambda: any("could not export" in n.message for n in app._notifications))
        app.run_cell("print('last')")
        # Our cell is in the model as soon as it is sent: wait for its end, not for idle.
        await until(
            pilot,
            lambda: len(app.model.cells) == 2 and all(c.finished for c in app.model.cells.values()),
        )
    text = target.with_suffix(".md").read_text()
    assert "```python\nprint(6 * 7)\n```" in text and "```\n42\n```" in text
    # Leaving writes the last version, whatever the interval.
    assert "last" in record.read_text()
    nbformat.validate(nbformat.read(record, as_version=4))
