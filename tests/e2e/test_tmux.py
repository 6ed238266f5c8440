"""The installed nbtui in a real terminal (tmux), attached to a real kernel, as a user meets it.

The terminal is tests/e2e/terminal.py's: a private tmux server, a pane that outlives nbtui
so that its exit status can be read, every wait for something on screen with a deadline.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest
from jupyter_client import KernelManager

from tests.e2e.terminal import DEADLINE, Terminal

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed"),
]


@pytest.fixture
def terminal(request: pytest.FixtureRequest) -> Iterator[Terminal]:
    width, height = request.param
    with Terminal(width, height) as term:
        yield term


@pytest.mark.timeout(240)
@pytest.mark.parametrize("terminal", [(80, 24), (200, 50)], indirect=True, ids=["80x24", "200x50"])
def test_attach_run_history_complete_quit(terminal: Terminal, kernel: KernelManager) -> None:
    terminal.start_nbtui("--existing", kernel.connection_file)

    # The status line, at the top, says the kernel is idle once attached.
    terminal.wait_for(r"\A.*nbtui.*idle")
    terminal.wait_for(r"In \[1\]:", where="editor")

    terminal.type("print(6*7)")
    terminal.keys("Enter")
    terminal.wait_for(r"^\s*42(\s|$)")  # at 200 columns the panes follow on the line
    terminal.wait_for(r"In \[2\]:\s*$", where="editor")

    terminal.type("1/0")
    terminal.keys("Enter")
    terminal.wait_for(r"ZeroDivisionError")
    terminal.wait_for(r"In \[3\]:\s*$", where="editor")

    # Up on the (only) first line brings the previous input back; Down returns to the
    # empty draft.
    terminal.keys("Up")
    terminal.wait_for(r"In \[3\]:\s*1/0\s*$", where="editor")
    terminal.keys("Down")
    terminal.wait_for(r"In \[3\]:\s*$", where="editor")

    # Tab asks the kernel: `imp` has one completion, inserted in place.
    terminal.type("imp")
    terminal.wait_for(r"In \[3\]:\s*imp\s*$", where="editor")
    terminal.keys("Tab")
    terminal.wait_for(r"In \[3\]:\s*import\b", where="editor")

    terminal.keys("C-q")
    terminal.wait_for(r"^NBTUI-EXIT=0$")

    # Quitting left the kernel running, and it answers another client; the cell run
    # from nbtui ran in it.
    assert kernel.is_alive()
    client = kernel.blocking_client()
    client.start_channels()
    try:
        client.wait_for_ready(timeout=DEADLINE)
        reply = client.execute_interactive(
            "x = 1", user_expressions={"first": "In[1]"}, timeout=DEADLINE
        )
    finally:
        client.stop_channels()
    assert reply["content"]["status"] == "ok"
    first = reply["content"]["user_expressions"]["first"]
    assert first["status"] == "ok"
    assert first["data"]["text/plain"] == repr("print(6*7)")
