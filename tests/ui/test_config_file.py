"""The config file as a user meets it: its settings in the running app, the command line
over it, and a bad file stopping `nbtui` with one line before any kernel."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from nbtui.app.launch import app_options
from nbtui.app.main import load_settings
from nbtui.app.nbtui_app import create_app
from nbtui.widgets.side_panes import SidePanes
from tests.fakes import scripted_client
from tests.ui.conftest import until

CONFIG = """
scrollback = 1234
theme = "textual-light"
editing-mode = "emacs"

[keys]
toggle-panes = "f3"
"""


def _config(tmp_path: Path, text: str) -> Path:
    home = tmp_path / "xdg"
    (home / "nbtui").mkdir(parents=True)
    path = home / "nbtui" / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


async def test_config_file_sets_scrollback_theme_and_a_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _config(tmp_path, CONFIG)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(path.parent.parent))
    _, args = load_settings([])  # the default file, as a plain `nbtui` reads it
    client, _ = scripted_client()
    app = create_app(client, **app_options(args))
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: app.kernel_state == "idle")
        assert app.model.max_lines == 1234
        assert app.theme == "textual-light"
        assert app.current_theme.dark is False
        assert app.editor.editing_mode == "emacs"
        panes = app.console_screen.query_one(SidePanes)
        shown = panes.shown
        await pilot.press("f2")  # the default key no longer toggles the panes
        await pilot.pause()
        assert panes.shown == shown
        await pilot.press("f3")
        await until(pilot, lambda: panes.shown != shown)
        # The footer and the palette show the key in effect.
        assert "f3" in {key for key in app.screen.active_bindings}

    # The command line wins over the file.
    _, args = load_settings(["--scrollback", "500", "--editing-mode", "vi"])
    assert (args.scrollback, args.editing_mode, args.theme) == (500, "vi", "textual-light")


def _nbtui(*argv: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    command = shutil.which("nbtui")
    assert command is not None, "the nbtui command is not installed"
    return subprocess.run(
        [command, *argv], env=env, capture_output=True, text=True, timeout=60, check=False
    )


def test_bad_config_file_is_one_line_and_exit_2(tmp_path: Path) -> None:
    """A plain `nbtui` (which would start a kernel) with a mistake in the file: one line
    naming the file and the key, status 2, and no kernel started."""
    path = _config(tmp_path, "scrollback = 1000\nusage-interval = '5s'\n")
    env = {**os.environ, "XDG_CONFIG_HOME": str(path.parent.parent)}
    runtime = Path(os.environ["JUPYTER_RUNTIME_DIR"])
    before = set(runtime.iterdir())
    done = _nbtui(env=env)
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr == (
        f'nbtui: {path}: usage-interval: expected a number, got a string ("5s")\n'
    )
    assert set(runtime.iterdir()) == before  # no kernel was started

    path.write_text("[keys]\ntoggle-panse = 'f3'\n", encoding="utf-8")
    done = _nbtui(env=env)
    assert done.returncode == 2
    assert done.stderr == (
        f"nbtui: {path}: unknown action 'keys.toggle-panse' (did you mean 'keys.toggle-panes'?)\n"
    )


def test_print_config_shows_each_source(tmp_path: Path) -> None:
    path = _config(tmp_path, 'scrollback = 1000\ntheme = "nord"\n')
    env = {**os.environ, "XDG_CONFIG_HOME": str(path.parent.parent)}
    done = _nbtui("--print-config", "--usage-interval", "2", env=env)
    assert done.returncode == 0, done.stderr
    rows = {line.split()[0]: line.split() for line in done.stdout.splitlines()[2:]}
    assert done.stdout.splitlines()[0] == f"# config file: {path}"
    assert rows["scrollback"] == ["scrollback", "1000", str(path)]
    assert rows["theme"] == ["theme", '"nord"', str(path)]
    assert rows["usage-interval"] == ["usage-interval", "2.0", "command", "line"]
    assert rows["output-limit"] == ["output-limit", "2000", "default"]
    assert rows["keys.toggle-panes"] == ["keys.toggle-panes", '"f2"', "default"]

    # --config names another file; the default one is not read then.
    other = tmp_path / "other.toml"
    other.write_text("scrollback = 777\n", encoding="utf-8")
    done = _nbtui("--config", str(other), "--print-config", env=env)
    rows = {line.split()[0]: line.split() for line in done.stdout.splitlines()[2:]}
    assert rows["scrollback"] == ["scrollback", "777", str(other)]
    assert rows["theme"] == ["theme", '"textual-dark"', "default"]
