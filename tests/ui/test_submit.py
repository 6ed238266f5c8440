"""Sending cells, interrupting them and answering input(), against a real kernel.

The kernel a test attaches to was started by someone else (the `kernel` fixture), as a
colleague's would be: whatever is typed in nbtui must never take it down for the others.
"""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any

import pytest
from jupyter_client import BlockingKernelClient, KernelManager
from textual.widgets import Label

from nbtui.app.kernel.client import KernelClient
from nbtui.app.kernel.connection import load_connection_file
from nbtui.app.kernel.model import Cell, Notice
from nbtui.app.nbtui_app import NbtuiApp, create_app
from tests.conftest import SLEEPER
from tests.ui.conftest import peer, run_and_wait, until, until_shown


def _answers(other: BlockingKernelClient) -> bool:
    """The peer's own cell runs and replies: the kernel is there for everyone."""
    reply = other.execute_interactive("print('still here')", timeout=20)
    return bool(reply["content"]["status"] == "ok")


def _notices(app: NbtuiApp) -> list[str]:
    return [entry.text for entry in app.model.entries if isinstance(entry, Notice)]


def _own_cells(app: NbtuiApp) -> list[Cell]:
    return [cell for cell in app.model.cells.values() if cell.is_self]


def _record_sends(client: KernelClient) -> list[str]:
    """Every message type the client sends from now on, on any channel."""
    sent: list[str] = []
    original = client.transport.send

    def send(channel: str, msg: dict[str, Any]) -> None:
        sent.append(str(msg["header"]["msg_type"]))
        original(channel, msg)

    client.transport.send = send  # type: ignore[method-assign]
    return sent


def _interrupt_from(other: BlockingKernelClient) -> None:
    other.control_channel.send(other.session.msg("interrupt_request", {}))


# -- exit in a cell (defect 3) ---------------------------------------------------------------


@pytest.mark.parametrize(
    "code",
    [
        "exit()  # bye",
        "quit()",
        "exit",
        "exit(0)",
        "quit(keep_kernel=True)",
        "exit 1",
        "exit();",
    ],
)
async def test_exit_alone_leaves_nbtui_and_the_kernel_runs_on(
    kernel: KernelManager, code: str
) -> None:
    client = KernelClient(load_connection_file(Path(kernel.connection_file)), username="me")
    await client.attach()
    sent = _record_sends(client)
    try:
        app = create_app(client)
        async with app.run_test(size=(100, 30)) as pilot:
            await until(pilot, lambda: app.kernel_state == "idle")
            app.editor.load_text(code)
            await pilot.press("ctrl+r")
            await until(pilot, lambda: not app.is_running)
        assert "execute_request" not in sent
        with peer(kernel) as other:
            assert _answers(other)
        assert kernel.is_alive()
    finally:
        await client.close()


@pytest.mark.parametrize(
    "code",
    [
        "x = 1; exit()",
        "x = 1\nquit()",
        "%time exit()",
        "get_ipython().ask_exit()",
        "for i in range(1):\n    exit()",
    ],
)
async def test_a_cell_that_calls_exit_is_not_sent(
    kernel: KernelManager, client: KernelClient, code: str
) -> None:
    sent = _record_sends(client)
    app = create_app(client)
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: app.kernel_state == "idle")
        app.editor.load_text(code)
        await pilot.press("ctrl+r")
        await until_shown(pilot, app, "not sent")
        assert any("exit" in text and "ctrl+q" in text for text in _notices(app))
        # Kept for editing: taking the exit() out and running the rest is one edit away.
        assert app.editor.text == code
        assert not _own_cells(app)
        assert app.is_running
        assert "execute_request" not in sent
        with peer(kernel) as other:
            assert _answers(other)
        app.editor.load_text("")
        await run_and_wait(pilot, app, "print(40 + 2)")
        assert "42" in app.transcript.plain_text().splitlines()
    assert kernel.is_alive()


@pytest.mark.parametrize(
    ("code", "raised"),
    [("import sys; sys.exit()", "SystemExit"), ("sys.exit()", "NameError")],
)
async def test_sys_exit_runs_and_the_kernel_survives(
    kernel: KernelManager, client: KernelClient, code: str, raised: str
) -> None:
    """IPython catches SystemExit: the cell is sent, as typed, and fails harmlessly."""
    app = create_app(client)
    async with app.run_test(size=(100, 30)) as pilot:
        await run_and_wait(pilot, app, code)
        assert raised in app.transcript.plain_text()
        assert app.is_running
        with peer(kernel) as other:
            assert _answers(other)
        await run_and_wait(pilot, app, "print(6 * 7)")
        assert "42" in app.transcript.plain_text().splitlines()
    assert kernel.is_alive()


async def test_an_exit_nbtui_could_not_see_coming_is_reported(
    kernel: KernelManager, client: KernelClient
) -> None:
    """Hidden from any reading of the code: only the kernel's ask_exit payload tells."""
    app = create_app(client)
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: app.kernel_state == "idle")
        app.editor.load_text("eval('ex' + 'it()')")
        await pilot.press("ctrl+r")
        await until(pilot, lambda: any("shut itself down" in text for text in _notices(app)))
        await until(pilot, lambda: app.kernel_state == "dead")
        # The report stays on screen: nbtui does not leave under the reader's eyes.
        assert app.is_running


def test_what_counts_as_calling_exit() -> None:
    from nbtui.app.kernel.cells import calls_exit as _calls_exit  # noqa: PLC0415

    for code in ("print('exit()')", "sys.exit()", "os._exit", "exits = 1", "x.quit()"):
        assert not _calls_exit(code), code
    for code in ("exit", "quit()", "a = 1; exit()", "%time exit()", "%%time\nquit()"):
        assert _calls_exit(code), code
    # Not Python: a shell's own exit is no concern of IPython's.
    assert not _calls_exit("%%bash\nexit 0")


# -- observing (defect 4) ----------------------------------------------------------------------


async def test_observer_ctrl_c_sends_no_interrupt(
    kernel: KernelManager, client: KernelClient
) -> None:
    app = create_app(client, observe=True)
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: app.kernel_state == "idle")
        with peer(kernel, "trainer") as other:
            sent = _record_sends(client)
            other.execute(SLEEPER)
            await until(pilot, lambda: "sleeping" in app.transcript.plain_text().split())
            await pilot.press("ctrl+c")
            await until(pilot, lambda: any("read-only" in n.message for n in app._notifications))
            assert "interrupt_request" not in sent
            assert app.model.busy
            _interrupt_from(other)
            await until(pilot, lambda: not app.model.busy)
        assert not {"execute_request", "input_reply", "interrupt_request"} & set(sent)


async def test_observer_says_read_only_on_the_screen(
    kernel: KernelManager, client: KernelClient
) -> None:
    app = create_app(client, observe=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await until_shown(pilot, app, "observing · read-only")
        with peer(kernel) as other:
            other.execute_interactive("print('a colleague ran this')", timeout=20)
        # Long after the start and after others' cells, not only in a toast.
        text = await until_shown(pilot, app, "a colleague ran this")
        assert "observing · read-only" in text
        assert "In [" not in app.query_one("#prompt", Label).content
        # The footer offers nothing an observer cannot do (found by hand: ^c Interrupt
        # and ^r Run were there).
        shown = {
            active.binding.action
            for active in app.screen.active_bindings.values()
            if active.binding.show
        }
        assert "toggle_panes" in shown
        assert not {"interrupt", "run(True)"} & shown, shown


class _OwnKernelSpy:
    """Stands in for a kernel nbtui started: records what would change it."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    async def interrupt(self) -> None:
        self.calls.append("interrupt")

    async def restart(self) -> None:
        self.calls.append("restart")


async def test_observer_restarts_and_interrupts_not_even_its_own_kernel(
    kernel: KernelManager, client: KernelClient
) -> None:
    own = _OwnKernelSpy()
    app = create_app(client, observe=True, own_kernel=own)  # type: ignore[arg-type]
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.kernel_state == "idle")
        with peer(kernel) as other:
            other.execute(SLEEPER)
            await until(pilot, lambda: "sleeping" in app.transcript.plain_text().split())
            await pilot.press("ctrl+c", "f9")
            await until(pilot, lambda: len(app._notifications) >= 2)
            assert len(app.screen_stack) == 1, "no restart confirmation"
            assert own.calls == []
            _interrupt_from(other)
            await until(pilot, lambda: not app.model.busy)


# -- input() (defect 11) -----------------------------------------------------------------------


async def _ask(pilot: Any, app: NbtuiApp) -> None:
    await pilot.press(*"name = input('name? ')", "enter")
    await until(pilot, lambda: app.query_one("#stdin-row").has_class("-active"))


async def test_ctrl_c_at_an_input_prompt_closes_it(client: KernelClient) -> None:
    app = create_app(client)
    async with app.run_test(size=(100, 30)) as pilot:
        await _ask(pilot, app)
        await pilot.press("ctrl+c")
        await until(pilot, lambda: not app.query_one("#stdin-row").has_class("-active"))
        await until(pilot, lambda: app.editor.has_focus)
        await pilot.press(*"21*2", "enter")
        await until(pilot, lambda: any(c.code == "21*2" for c in app.model.cells.values()))
        await until(pilot, lambda: "42" in app.transcript.plain_text().split())
        assert "KeyboardInterrupt" in app.transcript.plain_text()


async def test_input_prompt_comes_back_when_the_interrupt_does_not_take(
    client: KernelClient,
) -> None:
    """A kernel that ignores interrupts still waits in input(): it gets its prompt back."""

    async def ignored(timeout: float = 2.0) -> None:
        return None

    client.interrupt = ignored  # type: ignore[assignment]
    app = create_app(client)
    # Long enough that a loaded machine cannot pass it between the key and the check
    # below: the prompt must be seen closed first, then back.
    app.INTERRUPT_GRACE = 5.0
    async with app.run_test(size=(100, 30)) as pilot:
        await _ask(pilot, app)
        await pilot.press("ctrl+c")
        assert not app.query_one("#stdin-row").has_class("-active")
        await until(pilot, lambda: app.query_one("#stdin-row").has_class("-active"))
        assert any("did not respond" in text for text in _notices(app))
        await until(pilot, lambda: app.query_one("#stdin-input").has_focus)
        await pilot.press(*"bob", "enter")
        await until(pilot, lambda: not app.model.busy)
        await run_and_wait(pilot, app, "print(name)")
        assert "bob" in app.transcript.plain_text().splitlines()


async def test_input_prompt_closes_when_another_client_interrupts(
    kernel: KernelManager, client: KernelClient
) -> None:
    app = create_app(client)
    async with app.run_test(size=(100, 30)) as pilot:
        await _ask(pilot, app)
        with peer(kernel) as other:
            _interrupt_from(other)
            await until(pilot, lambda: not app.query_one("#stdin-row").has_class("-active"))
        await until(pilot, lambda: app.editor.has_focus)
        await run_and_wait(pilot, app, "print(7 * 6)")
        assert "42" in app.transcript.plain_text().splitlines()


async def test_input_prompt_closes_when_the_kernel_dies(
    kernel: KernelManager, client: KernelClient
) -> None:
    app = create_app(client)
    async with app.run_test(size=(100, 30)) as pilot:
        await _ask(pilot, app)
        kernel.signal_kernel(signal.SIGKILL)
        await until(pilot, lambda: app.kernel_state == "dead")
        await until(pilot, lambda: not app.query_one("#stdin-row").has_class("-active"))
        await until(pilot, lambda: app.editor.has_focus)


# -- a dead kernel (defect 16) -----------------------------------------------------------------


async def test_a_cell_typed_into_a_dead_kernel_is_not_left_pending(
    kernel: KernelManager, client: KernelClient
) -> None:
    app = create_app(client)
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: app.kernel_state == "idle")
        kernel.signal_kernel(signal.SIGKILL)
        await until(pilot, lambda: app.kernel_state == "dead")
        await pilot.press(*"1+1", "enter")
        await until_shown(pilot, app, "not sent")
        notice = next(text for text in _notices(app) if "not sent" in text)
        assert "dead" in notice and "--existing" in notice
        assert not any(cell.state in ("queued", "running") for cell in app.model.cells.values())
        assert app.editor.text == "1+1"


async def test_a_cell_pending_when_the_kernel_dies_ends(
    kernel: KernelManager, client: KernelClient
) -> None:
    """Sent, but the kernel never took it up: it must not wait forever."""
    app = create_app(client)
    async with app.run_test(size=(100, 30)) as pilot:
        with peer(kernel) as other:
            other.execute("import time; time.sleep(30)")
            await until(pilot, lambda: app.model.busy)
            await run_and_wait_sent(pilot, app, "1+1")
            queued = next(cell for cell in _own_cells(app) if cell.code == "1+1")
            assert queued.state == "queued"
            kernel.signal_kernel(signal.SIGKILL)
            await until(pilot, lambda: app.kernel_state == "dead")
            await until(pilot, lambda: queued.state not in ("queued", "running"))


async def run_and_wait_sent(pilot: Any, app: NbtuiApp, code: str) -> None:
    """Type a cell and press Enter; wait only until it is sent."""
    before = len(_own_cells(app))
    await pilot.press(*code, "enter")
    await until(pilot, lambda: len(_own_cells(app)) > before)


async def test_os_exit_is_reported_as_a_death(kernel: KernelManager, client: KernelClient) -> None:
    """Nothing stops os._exit(): the user's explicit choice, reported, not prevented."""
    app = create_app(client)
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: app.kernel_state == "idle")
        await pilot.press(*"import os; os._exit(0)", "enter")
        await until(pilot, lambda: app.kernel_state == "dead")
        cell = _own_cells(app)[0]
        await until(pilot, lambda: cell.state not in ("queued", "running"))
        # Which one depends on whether the cell's busy left the kernel before os._exit
        # ended it (ipykernel's iopub thread races it): both tell the user the truth.
        # Its execute_input, which carries the count, can be lost after the busy.
        await until(
            pilot,
            lambda: any(
                text in app.transcript.plain_text()
                for text in (
                    "the kernel died while your cell In [1] ran",
                    "the kernel died while your cell ran",
                    "the kernel died before answering your cell",
                )
            ),
            timeout=30,
        )
