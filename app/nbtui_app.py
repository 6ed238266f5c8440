"""The nbtui application: the console screen around one kernel session, and the app
factory the CLI and the tests share."""

from __future__ import annotations

import gc
from collections.abc import Awaitable, Callable
from importlib.resources import files
from typing import TYPE_CHECKING

from textual.app import App
from textual.binding import Binding

from nbtui.app.kernel.session import KernelSession
from nbtui.app.screens.console import ConsoleScreen
from nbtui.widgets.palette import peer_variables

if TYPE_CHECKING:
    from pathlib import Path

    from nbtui.app.kernel.client import KernelClient
    from nbtui.app.kernel.model import Transcript
    from nbtui.app.kernel.target import OwnedKernel
    from nbtui.widgets.editor import CellEditor
    from nbtui.widgets.status import StatusBar
    from nbtui.widgets.transcript import TranscriptView

__all__ = ["CONSOLE_ACTIONS", "NbtuiApp", "create_app"]


class NbtuiApp(App[None]):
    """A console on one Jupyter kernel, shared with whoever else is attached.

    Args:
        session: The kernel session the console shows.
        console_screen: The console screen; by default one on `session` with its defaults.
    """

    CSS_PATH = str(files("nbtui.styles") / "nbtui.tcss")
    TITLE = "nbtui"
    ENABLE_COMMAND_PALETTE = True

    # Global, as they always were (F2 works over the pager too): the console does the work.
    BINDINGS = [
        Binding("ctrl+q", "quit", "Quit", priority=True),
        Binding("ctrl+c", "interrupt", "Interrupt", priority=True),
        Binding("pageup", "page_up", "Scroll", show=False, priority=True),
        Binding("pagedown", "page_down", "", show=False, priority=True),
        Binding("f2", "toggle_panes", "Panes", tooltip="Show or hide the side panes"),
        Binding(
            "f3",
            "toggle_variables",
            "Variables",
            tooltip="The kernel's variables, live while a cell runs",
            id="toggle_variables",
        ),
        Binding("f4", "cycle_others", "Others", tooltip="Show or hide other clients' work"),
        # Not in the footer since F3 came: the catch-up line itself says "F5 to show".
        Binding(
            "f5",
            "toggle_catchup",
            "Earlier",
            show=False,
            tooltip="Inputs from before you joined",
        ),
        # Not in the footer: at 80x24 it has room for six keys and the palette, no more.
        Binding(
            "f6",
            "toggle_focus",
            "Focus",
            show=False,
            tooltip="Move between editor and transcript",
        ),
        Binding("f7", "toggle_tracebacks", "Tracebacks", show=False),
        Binding(
            "f8",
            "copy_join",
            "Copy join",
            show=False,
            tooltip="Copy the command others run to join (OSC 52: works over SSH)",
        ),
        Binding("f9", "restart", "Restart", show=False),
        Binding("f10", "open_output", "Full output", show=False),
        Binding(
            "ctrl+s",
            "export",
            "Export",
            show=False,
            id="export",
            tooltip="Save the session as a notebook (.ipynb) or Markdown (.md)",
        ),
        Binding(
            "alt+s",
            "export_markdown",
            "Export to Markdown",
            show=False,
            id="export_markdown",
            tooltip="Save the session as Markdown, to paste into an issue or a chat",
        ),
    ]

    def __init__(self, session: KernelSession, console_screen: ConsoleScreen | None = None) -> None:
        super().__init__()
        if self.driver_class.__name__ == "LinuxDriver":
            # Idle CPU: Textual's stock input thread wakes ten times a second (quiet_driver.py).
            from nbtui.app.quiet_driver import QuietLinuxDriver  # noqa: PLC0415

            self.driver_class = QuietLinuxDriver
        self.session = session
        self.console_screen = console_screen or ConsoleScreen(session)
        self.freeze_gc = False
        """Once attached, move everything alive out of the collector's reach (`gc.freeze`):
        right for the one app of a process, not for a test process running hundreds."""
        self.error: str | None = None
        """Set when the app exits because the kernel could not be reached."""

    def get_theme_variable_defaults(self) -> dict[str, str]:
        """The peer palette, `$peer-0` ..., made for the current theme's background."""
        return peer_variables(self.current_theme)

    def get_default_screen(self) -> ConsoleScreen:
        """The console is the app's first screen."""
        return self.console_screen

    # What the CLI and the tests look at: the session's and the console's own.

    @property
    def client(self) -> KernelClient:
        """The kernel's client."""
        return self.session.client

    @property
    def model(self) -> Transcript:
        """The transcript model."""
        return self.session.model

    @property
    def kernel_state(self) -> str:
        """idle, busy, restarted, or the kernel's trouble."""
        return self.session.state

    @property
    def transcript(self) -> TranscriptView:
        """The console's transcript view."""
        return self.console_screen.transcript

    @property
    def editor(self) -> CellEditor:
        """The console's cell editor."""
        return self.console_screen.editor

    @property
    def status(self) -> StatusBar:
        """The console's status line."""
        return self.console_screen.status

    def run_cell(self, code: str) -> str:
        """Send a cell to the kernel and show it at once; returns its msg_id."""
        return self.console_screen.run_cell(code)

    def on_console_screen_attached(self) -> None:
        """Attached: with `freeze_gc`, keep what startup made out of the collector's reach."""
        if self.freeze_gc:
            self.call_after_refresh(self._freeze_startup_objects)

    def on_console_screen_attach_failed(self, event: ConsoleScreen.AttachFailed) -> None:
        """The kernel could not be reached: leave with the reason (`error`) and status 2."""
        self.error = event.error
        self.exit(return_code=2)

    @staticmethod
    def _freeze_startup_objects() -> None:
        """Keep everything alive since startup (modules, widgets, styles) out of the
        garbage collector's full passes: without this, a full pass in the middle of a
        flood walked all of them and held a frame up by about 25 ms."""
        gc.collect()
        gc.freeze()

    async def on_unmount(self) -> None:
        """Stop watching the kernel (the CLI closes the client)."""
        await self.session.close()

    async def action_quit(self) -> None:
        """Leave nbtui."""
        # Quitting closes our sockets only; an attached kernel is never shut down here.
        self.session.closing = True
        self.exit()


class ObservingApp(NbtuiApp):
    """The app for `--observe`: an observer interrupts nothing, so the footer does not
    offer ctrl+c (the key stays, to say "read-only")."""

    BINDINGS = [Binding("ctrl+c", "interrupt", "Interrupt", show=False, priority=True)]


CONSOLE_ACTIONS = tuple(
    binding.action
    for binding in NbtuiApp.BINDINGS
    if isinstance(binding, Binding) and binding.action != "quit"
)
"""The app's key actions that are the console screen's to do."""


def _console_action(name: str) -> Callable[[NbtuiApp], Awaitable[None]]:
    async def action(app: NbtuiApp) -> None:
        """Do the console screen's action of the same name."""
        await app.run_action(name, app.console_screen)

    return action


for _name in CONSOLE_ACTIONS:
    setattr(NbtuiApp, f"action_{_name}", _console_action(_name))


def create_app(
    client: KernelClient,
    *,
    own_kernel: OwnedKernel | None = None,
    scrollback: int = 50_000,
    observe: bool = False,
    show_others: tuple[bool, bool] = (True, True),
    usage_interval: float = 5.0,
    memory_threshold: float = 0.8,
    output_limit: int = 2000,
    line_limit: int = 10_000,
    variables_interval: float = 2.0,
    notify_after: float = 10.0,
    session_class: type[KernelSession] = KernelSession,
    record: Path | None = None,
) -> NbtuiApp:
    """The app on `client`'s kernel, as the CLI runs it and the tests drive it.

    Args:
        client: The kernel's client, attached or not (the console attaches it).
        own_kernel: The kernel nbtui started, which it may interrupt and restart.
        scrollback: Lines the transcript keeps.
        observe: Read-only: no cell and no input answer is ever sent.
        show_others: Other clients' (inputs, outputs) shown at first.
        usage_interval: Seconds between usage probes while a cell runs.
        memory_threshold: Share of its memory limit at which the kernel is warned about.
        output_limit: Lines of one output shown before the rest is held back.
        line_limit: Characters of one line shown before it is cut.
        variables_interval: Seconds between variable readings while a cell runs (F3's
            pane open); 0: only when a cell ends.
        notify_after: Seconds a cell must run to be announced when it ends; 0: never.
        session_class: The kernel session's class (tests fix its figures).
        record: A notebook to keep up to date as cells finish (`--record`).
    """
    session = session_class(
        client,
        own_kernel=own_kernel,
        scrollback=scrollback,
        usage_interval=usage_interval,
        memory_threshold=memory_threshold,
    )
    console = ConsoleScreen(
        session,
        observe=observe,
        show_others=show_others,
        output_limit=output_limit,
        line_limit=line_limit,
        variables_interval=variables_interval,
        notify_after=notify_after,
    )
    console.record_path = record
    return (ObservingApp if observe else NbtuiApp)(session, console)
