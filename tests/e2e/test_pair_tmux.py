"""Two people in two terminals on one kernel, as issue 3's acceptance has it: what one
runs appears in the other's transcript, named; either can interrupt the other's cell;
input() and getpass work for the one who ran the cell."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest
from jupyter_client import KernelManager

from tests.conftest import SLEEPER
from tests.e2e.terminal import Terminal

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed"),
]


@pytest.fixture
def two_terminals() -> Iterator[tuple[Terminal, Terminal]]:
    alice, bob = Terminal(120, 30), Terminal(120, 30)
    try:
        yield alice, bob
    finally:
        alice.kill()
        bob.kill()


def _start(terminal: Terminal, kernel: KernelManager, username: str) -> None:
    terminal.start_nbtui("--existing", kernel.connection_file, "--username", username)
    terminal.wait_for(r"\A.*nbtui.*idle")


@pytest.mark.timeout(240)
def test_two_people_one_kernel(
    two_terminals: tuple[Terminal, Terminal], kernel: KernelManager
) -> None:
    alice, bob = two_terminals
    _start(alice, kernel, "alice")
    _start(bob, kernel, "bob")

    # What alice runs shows in bob's transcript, named.
    alice.type("print('hello from alice')")
    alice.keys("Enter")
    alice.wait_for(r"^\s*hello from alice\s*$")
    bob.wait_for(r"In \[1\] alice@[0-9a-f]{4}\s+print\('hello from alice'\)")
    bob.wait_for(r"^\s*hello from alice\s*$")

    # Bob interrupts alice's runaway cell.
    alice.type(SLEEPER)
    alice.keys("Enter")
    bob.wait_for(r"busy.*alice")
    bob.wait_for(r"^\s*sleeping\s*$")
    bob.keys("C-c")
    alice.wait_for(r"KeyboardInterrupt")
    bob.wait_for(r"KeyboardInterrupt")
    alice.wait_for(r"\A.*idle")

    # input() and getpass answer only in the terminal of whoever ran the cell.
    bob.type("name = input('name? ')")
    bob.keys("Enter")
    bob.wait_for(r"^\s*name\?\s*$")  # the stdin prompt, not the code
    bob.type("bobby")
    bob.keys("Enter")
    bob.wait_for(r"\A.*idle")
    bob.type("import getpass; secret = getpass.getpass('secret? ')")
    bob.keys("Enter")
    bob.wait_for(r"^\s*secret\?\s*$")
    bob.type("hunter2")
    bob.keys("Enter")
    bob.wait_for(r"\A.*idle")
    assert "hunter2" not in bob.screen()
    alice.type("print(name, len(secret))")
    alice.keys("Enter")
    alice.wait_for(r"^\s*bobby 7\s*$")
    bob.wait_for(r"^\s*bobby 7\s*$")
    assert "hunter2" not in alice.screen()

    for terminal in (alice, bob):
        terminal.keys("C-q")
        terminal.wait_for(r"NBTUI-EXIT=0")
    assert kernel.is_alive()
