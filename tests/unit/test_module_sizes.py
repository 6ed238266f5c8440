"""No module grows into one object again (issue 14): the App stays thin, and every module
of the app and its widgets stays small enough to read in one sitting.

Lines are counted as the file holds them (docstrings and comments too): a module that
nears the limit splits by what it does, as the transcript and the console screen did
into bases of their own."""

from __future__ import annotations

from pathlib import Path

from tests.unit.test_docstrings import ROOT, python_files

APP_LIMIT = 250
"""`app/nbtui_app.py` stays under this many lines: the driver, CSS, `create_app`."""
MODULE_LIMIT = 450
"""No module under `app/` or `widgets/` is longer than this."""


def _lines(path: Path) -> int:
    return len(path.read_text(encoding="utf-8").splitlines())


def test_the_app_is_thin() -> None:
    """The App module keeps to the driver, the CSS and the factory."""
    assert _lines(ROOT / "app" / "nbtui_app.py") < APP_LIMIT


def test_no_module_is_over_the_limit() -> None:
    """Every module of the app and its widgets, however deep, is at most the limit."""
    too_long = {
        str(path.relative_to(ROOT)): lines
        for path in python_files(ROOT / "app", ROOT / "widgets")
        if (lines := _lines(path)) > MODULE_LIMIT
    }
    assert not too_long, f"over {MODULE_LIMIT} lines, split them: {too_long}"
