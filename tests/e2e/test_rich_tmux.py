"""Issue 5's acceptance in a real terminal: the installed nbtui in tmux at 200x50 renders
markdown, JSON and an image, keeps a progress bar on one line, and replaces a display
when it is updated. What the screen shows is read with `tmux capture-pane`."""

from __future__ import annotations

import re
import shutil

import pytest
from jupyter_client import KernelManager

from tests.e2e.terminal import Terminal

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed"),
]

IMAGE = """\
import io
from PIL import Image as P
from IPython.display import Image, display
buffer = io.BytesIO()
picture = P.new('RGB', (64, 32), 'red')
picture.paste((0, 0, 255), (0, 16, 64, 32))
picture.save(buffer, 'PNG')
display(Image(data=buffer.getvalue()))
print('after the picture')
"""


def run(terminal: Terminal, code: str) -> None:
    """Type a cell (one line of source: exec keeps the editor out of indentation) and
    run it with ctrl+r, which always runs."""
    terminal.type(f"exec({code!r})")
    terminal.keys("C-r")


def until_shown(terminal: Terminal, pattern: str) -> str:
    """Wait until `pattern` shows left of the side panes; that column's text."""
    return terminal.wait_for(pattern, where="transcript").string


@pytest.mark.timeout(240)
def test_rich_output_in_a_real_terminal(kernel: KernelManager) -> None:
    with Terminal(200, 50) as terminal:
        # Half blocks whatever terminal runs the tests (kitty's KITTY_WINDOW_ID reaches tmux).
        terminal.start_nbtui("--images", "halfblock", "--existing", kernel.connection_file)
        terminal.wait_for(r"\A.*nbtui.*idle")

        run(
            terminal,
            "from IPython.display import Markdown, display\n"
            "display(Markdown('# Quarterly *report*\\n\\n- **first** point'))",
        )
        # Rendered: the heading's words without its marks, the item with a bullet.
        until_shown(terminal, r"^\s+Quarterly report\s*$")
        until_shown(terminal, r"^\s+•\s+first point\s*$")

        run(
            terminal,
            "from IPython.display import JSON, display\n"
            "display(JSON({'alpha': [1, 2], 'beta': {'gamma': None}}))",
        )
        text = until_shown(terminal, r'"gamma": null')
        assert re.search(r'"alpha": \[', text)

        run(terminal, IMAGE)
        until_shown(terminal, r"^\s*after the picture\s*$")
        # Half blocks: the red top and blue bottom meet in one row of ▀/▄ cells. The
        # picture is laid out in a thread, so it may be drawn after the text below it.
        until_shown(terminal, r"[▀▄]{20,}")

        run(
            terminal,
            "import time\nfor i in range(101):\n"
            "    print(f'\\rprogress {i:3d}%', end='', flush=True); time.sleep(0.003)\n"
            "print()",
        )
        text = until_shown(terminal, r"^\s*progress 100%\s*$")
        assert len(re.findall(r"^\s*progress\s+\d+%", text, re.MULTILINE)) == 1

        run(
            terminal,
            "from IPython.display import display\n"
            "handle = display('value: old', display_id=True)\n"
            "print('display shown')",
        )
        until_shown(terminal, r"^\s+'value: old'\s*$")
        run(terminal, "handle.update('value: new')")
        text = until_shown(terminal, r"^\s+'value: new'\s*$")
        # Replaced where it stood, not added below the cell that updated it.
        assert not re.search(r"^\s+'value: old'\s*$", text, re.MULTILINE)
        new = re.search(r"^\s+'value: new'\s*$", text, re.MULTILINE)
        shown = re.search(r"^\s*display shown\s*$", text, re.MULTILINE)
        assert new is not None and shown is not None and new.start() < shown.start()

        terminal.keys("C-q")
        terminal.wait_for(r"^NBTUI-EXIT=0$")
