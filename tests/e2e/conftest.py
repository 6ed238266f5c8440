"""Fixtures of the terminal tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.terminal import Terminal


@pytest.fixture
def terminals() -> Iterator[list[Terminal]]:
    """Terminals a test opens (append to the list); all killed afterwards."""
    opened: list[Terminal] = []
    try:
        yield opened
    finally:
        for terminal in opened:
            terminal.kill()
