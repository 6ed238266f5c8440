"""`--record` under `kill -9`: the installed nbtui on a pty records a shared session, is
killed mid-session, and leaves a valid notebook with every cell that had finished."""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest
from jupyter_client import BlockingKernelClient, KernelManager

from tests.e2e.terminal import Pty, run, start_on_pty
from tests.ui.conftest import peer

pytestmark = pytest.mark.e2e
DEADLINE = 60.0


@pytest.fixture
def alice(kernel: KernelManager) -> Iterator[BlockingKernelClient]:
    with peer(kernel, "alice") as client:
        yield client


def _cells(path: Path) -> list[dict[str, Any]]:
    """The recorded cells, or none while the file is not there yet. Every read must parse:
    a half-written file would fail here."""
    if not path.exists():
        return []
    cells: list[dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return cells


def _wait_for_cells(pty: Pty, path: Path, count: int) -> None:
    deadline = time.monotonic() + DEADLINE
    while len([c for c in _cells(path) if c["cell_type"] == "code"]) < count:
        if time.monotonic() > deadline:
            raise AssertionError(f"{count} cells not recorded; tail {bytes(pty.received[-800:])!r}")
        pty._read(0.1)  # keep draining the pty so nbtui never blocks on a write


@pytest.mark.timeout(180)
def test_kill_9_leaves_the_last_complete_notebook(
    kernel: KernelManager, alice: BlockingKernelClient, tmp_path: Path
) -> None:
    path = tmp_path / "record.ipynb"
    pty = start_on_pty("--existing", kernel.connection_file, "--record", str(path))
    try:
        pty.read_until(b"idle", timeout=DEADLINE)
        codes = [f"print('cell {n}', '\u202e')" for n in range(3)]
        for n, code in enumerate(codes):
            run(alice, code)
            _wait_for_cells(pty, path, n + 1)
        # A cell still running when nbtui dies is not in the file; the finished ones are.
        alice.execute("import time; time.sleep(30)")
        pty.read_until(b"busy", timeout=DEADLINE)
        os.kill(pty.process.pid, signal.SIGKILL)
        pty.process.wait(timeout=DEADLINE)
    finally:
        pty.close(timeout=DEADLINE)
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    cells = [c for c in notebook.cells if c.cell_type == "code"]
    assert [c.source for c in cells] == codes
    assert all(c.metadata.nbtui.username == "alice" for c in cells)
    assert [c.outputs[0].text for c in cells] == [f"cell {n} \u202e\n" for n in range(3)]
    assert not [p for p in tmp_path.iterdir() if p.name != "record.ipynb"]


@pytest.mark.timeout(120)
def test_bare_record_says_where(
    kernel: KernelManager, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path / "data"))
    pty = start_on_pty("--existing", kernel.connection_file, "--record")
    try:
        end = pty.read_until(b"nbtui: recording the session to ", timeout=DEADLINE)
        line_end = pty.read_until(b".ipynb", start=end, timeout=DEADLINE)
        said = Path(bytes(pty.received[end:line_end]).decode())
        pty.read_until(b"idle", timeout=DEADLINE)
        deadline = time.monotonic() + DEADLINE
        while not said.exists():
            assert time.monotonic() < deadline, "the bare --record file never appeared"
            pty._read(0.1)
        assert said.parent == tmp_path / "data" / "nbtui-records"
    finally:
        pty.close(timeout=DEADLINE)
    nbformat.validate(nbformat.read(said, as_version=4))
