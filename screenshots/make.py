"""Make the README's screenshots: the real app on a real kernel, at fixed sizes.

Usage: python screenshots/make.py [NAME...]   (writes screenshots/NAME.svg, default all)
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from jupyter_client import KernelManager
from textual.pilot import Pilot

from nbtui.app.kernel.client import KernelClient
from nbtui.app.kernel.connection import load_connection_file
from nbtui.app.nbtui_app import create_app

HERE = Path(__file__).parent
CELLS = (
    "import math\nrows = [(n, math.factorial(n)) for n in range(1, 6)]\nrows",
    "print(6*7)",
    "1/0",
)
GALLERY = (
    "from IPython.display import JSON, Image, Markdown, display\n"
    "display(Markdown('## Run 17\\n- **accuracy** 0.93\\n- *loss* 0.21 (was 0.35)'))",
    "display(JSON({'model': 'resnet50', 'epochs': 12, 'pretrained': True}))",
    "import io\nfrom PIL import Image as Picture, ImageOps\n"
    "picture = ImageOps.colorize(Picture.radial_gradient('L').resize((64, 24)), 'orange', 'navy')\n"
    "buffer = io.BytesIO(); picture.save(buffer, 'png'); display(Image(buffer.getvalue()))",
    "import time\nfor step in range(0, 101, 5):\n"
    "    print(f'\\rtraining {step:3d}% ' + '#' * (step // 5), end='', flush=True)\n"
    "    time.sleep(0.01)\nprint()",
    "def load(path): return parse(path)\ndef parse(path): return check(path)\n"
    "def check(path): raise ValueError(f'bad header in {path}')\nload('runs.parquet')",
)

SEARCH = (
    "for epoch in range(1, 61):\n"
    "    print(f'epoch {epoch:2d}/60  loss {1/epoch:.4f}  accuracy {1 - 1/(epoch + 1):.3f}')",
    "model.fit(data)",
)


async def search_loss(pilot: Pilot[None]) -> None:
    """ctrl+f, a query, and two steps back: the bar says `3 of 5`, the matches marked."""
    await pilot.press("ctrl+f", *"loss 0.04", "shift+enter", "shift+enter")
    await pilot.pause(0.2)


@dataclass(frozen=True)
class Peer:
    """Another person on the same kernel: a raw jupyter_client with its own name."""

    username: str
    session: str
    code: str


PEER = Peer(
    "analyst",
    "91c0a7e2-0000-4000-8000-000000000000",
    "import time\nfor epoch in range(1, 4):\n    print(f'epoch {epoch}/3  loss {1/epoch:.3f}')",
)
GALLERY_PEER = Peer(
    # Pair debugging: alice, in her own client, looks at the function that failed.
    "alice",
    "3f2a6c01-0000-4000-8000-000000000000",
    "import inspect\nprint(inspect.getsource(check), end='')",
)


Then = Callable[[Pilot[None]], Awaitable[None]] | None
"""What to do on the screen before the shot (open the search), if anything."""


async def until(pilot: Pilot[None], predicate: Callable[[], bool], timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("the app did not reach the expected state")
        await pilot.pause(0.02)


async def shoot(
    km: KernelManager,
    size: tuple[int, int],
    name: str,
    cells: tuple[str, ...] = CELLS,
    peer: Peer | None = PEER,
    *,
    then: Callable[[Pilot[None]], Awaitable[None]] | None = None,
) -> None:
    client = KernelClient(load_connection_file(Path(km.connection_file)), username="you")
    await client.attach()
    app = create_app(client)
    try:
        async with app.run_test(size=size) as pilot:
            for code in cells:
                before = len(app.model.cells)
                app.run_cell(code)
                await until(pilot, lambda b=before: len(app.model.cells) > b)
                await until(pilot, lambda: all(c.finished for c in app.model.cells.values()))
            if peer is not None:
                other = km.blocking_client()
                other.session.username = peer.username
                other.session.session = peer.session
                other.start_channels()
                try:
                    msg_id = other.execute(peer.code)
                    await until(
                        pilot,
                        lambda: (
                            msg_id in app.model.cells
                            and app.model.cells[msg_id].finished is not None
                        ),
                    )
                finally:
                    other.stop_channels()
            app.editor.load_text("df.describe()")
            await pilot.pause(0.2)
            if then is not None:
                await then(pilot)
            app.save_screenshot(filename=f"{name}.svg", path=str(HERE))
    finally:
        await client.close()


TRAINER = Peer(
    # A colleague's training loop, watched live in the variables pane (F3) while our
    # own cell waits its turn behind it.
    "alice",
    "3f2a6c01-0000-4000-8000-000000000000",
    "import time\nhistory = []\nfor epoch in range(1, 100_000):\n"
    "    loss = round(2.0 / (epoch + 1), 4)\n    history.append(loss)\n    time.sleep(0.05)",
)
SETUP = "import numpy as np\nlr = 3e-4\nbatch = 64\nweights = np.zeros((512, 10))"


async def shoot_variables(km: KernelManager, size: tuple[int, int], name: str) -> None:
    """The variables pane during a colleague's run, our next cell queued behind it."""
    client = KernelClient(load_connection_file(Path(km.connection_file)), username="you")
    await client.attach(hb_timeout=30, reply_timeout=30)  # a fresh kernel on a busy machine
    app = create_app(client, variables_interval=0.5)
    other = km.blocking_client()
    other.session.username = TRAINER.username
    other.session.session = TRAINER.session
    other.start_channels()
    try:
        async with app.run_test(size=size) as pilot:
            app.run_cell(SETUP)
            await until(pilot, lambda: bool(app.model.cells))
            await until(pilot, lambda: all(c.finished for c in app.model.cells.values()))
            other.execute(TRAINER.code)
            await until(pilot, lambda: app.model.busy)
            await pilot.press("f2")  # the side panes away: room for the variables
            await pilot.press("f3")
            pane = app.console_screen.kernel_watch.pane

            def epoch_past(value: int) -> bool:
                rows = {row.name: row for row in pane.rows}
                return "epoch" in rows and int(rows["epoch"].value) > value

            await until(pilot, lambda: epoch_past(40), timeout=60)
            app.run_cell("print(f'best loss {min(history)}')")
            await until(pilot, lambda: "queued behind" in app.transcript.plain_text())
            await pilot.pause(0.6)
            app.save_screenshot(filename=f"{name}.svg", path=str(HERE))
            await client.interrupt()
            await until(pilot, lambda: not app.model.busy, timeout=30)
    finally:
        other.stop_channels()
        await client.close()


def main(names: list[str]) -> int:
    with tempfile.TemporaryDirectory() as runtime:
        os.environ["JUPYTER_RUNTIME_DIR"] = runtime
        os.environ["IPYTHONDIR"] = str(Path(runtime) / "ipython")
        shots: tuple[tuple[tuple[int, int], str, tuple[str, ...], Peer | None, Then], ...] = (
            ((80, 24), "main-80x24", CELLS, PEER, None),
            ((200, 50), "main-200x50", CELLS, PEER, None),
            ((110, 60), "gallery", GALLERY, GALLERY_PEER, None),
            ((100, 30), "search", SEARCH, None, search_loss),
            ((160, 36), "variables-160x36", (), None, None),
        )
        for size, name, cells, peer, then in shots:
            if names and name not in names:
                continue
            km = KernelManager(kernel_name="python3")
            km.connection_file = str(Path(runtime) / "kernel-4342f625.json")
            km.start_kernel(stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                if name.startswith("variables"):
                    asyncio.run(shoot_variables(km, size, name))
                else:
                    asyncio.run(shoot(km, size, name, cells, peer, then=then))
            finally:
                km.shutdown_kernel(now=True)
            print(f"wrote screenshots/{name}.svg")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
