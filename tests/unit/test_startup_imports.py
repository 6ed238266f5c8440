"""Startup loads only what the first frame needs (issue 19): search, export, recording,
the variables pane's poller, servers, ssh, pictures, markdown and the config file's parser
load when they are first used.

Checked without timing: a fresh interpreter imports the command (and, in the second test,
runs the app headless on a scripted kernel to its first ready frame), then lists the
modules it holds. A module that shows up here again undoes the deferral: move its import
into the function that uses it (`noqa: PLC0415 - startup`), or under TYPE_CHECKING."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from tests.unit.test_docstrings import ROOT

DEFERRED = (
    # Search, export, recording, pagers and prompts: loaded at their first use.
    "nbtui.app.kernel.search",
    "nbtui.widgets.transcript_search",
    "nbtui.app.kernel.export",
    "nbtui.app.kernel.export_markdown",
    "nbtui.app.kernel.record",
    "nbtui.app.screens.exporting",
    "nbtui.app.screens.export_prompt",
    "nbtui.app.screens.pager",
    "nbtui.app.screens.confirm",
    "nbtui.app.screens.variable_value",
    "nbtui.app.kernel.variables",
    "nbtui.app.commands",
    "nbformat",
    # Servers, hubs, gateways and ssh: only with --server, --hub, --gateway or --ssh.
    "nbtui.app.kernel.server",
    "nbtui.app.kernel.hub",
    "nbtui.app.kernel.remote",
    "nbtui.app.kernel.tunnel",
    # Starting a kernel, and --list's tables: not for --existing.
    "nbtui.app.kernel.launcher",
    "nbtui.app.present_tables",
    "nbtui.app.kernel.transports.websocket",
    "tornado.httpclient",
    "jupyterhub",
    "jupyter_server",
    "pexpect",
    # Rich output: at the first markdown, HTML or picture.
    "rich.markdown",
    "markdown_it",
    "nbtui.widgets.html_text",
    "PIL",
    "textual_image",
    # The config file's parser: only when there is a file.
    "tomllib",
    "tomli",
)
"""Modules that must not be loaded by the time the first frame is out."""

BEFORE_TEXTUAL = (*DEFERRED, "textual", "pynvml")
"""What `import nbtui.app.main` must not load: Textual waits until the arguments are
good, NVML until the first GPU probe."""


def _loaded(script: str, config_home: Path) -> set[str]:
    """The modules a fresh interpreter holds after `script` (which prints them), with no
    config file."""
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "XDG_CONFIG_HOME": str(config_home)},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return set(json.loads(done.stdout.splitlines()[-1]))


def test_the_command_imports_little(tmp_path: Path) -> None:
    """The command, its arguments read (no config file), holds none of the deferred
    modules, and not Textual."""
    loaded = _loaded(
        """
        import json, sys
        from nbtui.app.main import load_settings
        load_settings(["--existing", "4342f6"])
        print(json.dumps(sorted(sys.modules)))
        """,
        tmp_path,
    )
    assert sorted(loaded & set(BEFORE_TEXTUAL)) == []


def test_the_first_frame_loads_no_deferred_module(tmp_path: Path) -> None:
    """The app, attached to a scripted kernel and showing `idle` in a headless run, has
    loaded none of the deferred modules."""
    loaded = _loaded(
        """
        import asyncio, json, sys, time
        import nbtui.app.main
        from nbtui.app.nbtui_app import create_app
        from tests.fakes import scripted_client

        async def main():
            client, _ = scripted_client()
            app = create_app(client)
            async with app.run_test(size=(200, 50)) as pilot:
                deadline = time.monotonic() + 60
                while app.kernel_state != "idle" or "idle" not in app.export_screenshot():
                    assert time.monotonic() < deadline, "never ready"
                    await pilot.pause(0.02)
                await pilot.pause()
                print(json.dumps(sorted(sys.modules)))

        asyncio.run(main())
        """,
        tmp_path,
    )
    assert "nbtui.app.screens.console" in loaded  # the check ran on the real screen
    assert sorted(loaded & set(DEFERRED)) == []
