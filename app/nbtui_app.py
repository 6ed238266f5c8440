"""The nbtui application: the console screen around one kernel session, and the app
factory the CLI and the tests share."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from importlib.resources import files
from typing import TYPE_CHECKING, Any

from textual.actions import SkipAction
from textual.app import App

from nbtui.app.bindings import APP_BINDINGS, CONSOLE_ACTIONS, OBSERVER_BINDINGS
from nbtui.app.kernel.session import KernelSession
from nbtui.app.screens.console import ConsoleScreen
from nbtui.widgets.graphics import set_sink
from nbtui.widgets.palette import theme_variables
from nbtui.widgets.sixel import draw_over

if TYPE_CHECKING:
    from pathlib import Path

    from textual.command import Provider

    from nbtui.app.kernel.client import KernelClient
    from nbtui.app.kernel.model import Transcript
    from nbtui.app.kernel.target import OwnedKernel
    from nbtui.widgets.editor import CellEditor
    from nbtui.widgets.status import StatusBar
    from nbtui.widgets.transcript import TranscriptView

__all__ = ["NbtuiApp", "create_app"]


def _nbtui_commands() -> type[Provider]:
    """nbtui's own palette commands, loaded when the palette first opens."""
    from nbtui.app.commands import NbtuiCommands  # noqa: PLC0415

    return NbtuiCommands


class NbtuiApp(App[None]):
    """A console on one Jupyter kernel, shared with whoever else is attached.

    Args:
        session: The kernel session the console shows.
        console_screen: The console screen; by default one on `session` with its defaults.
    """

    CSS_PATH = str(files("nbtui.styles") / "nbtui.tcss")
    TITLE = "nbtui"
    ENABLE_COMMAND_PALETTE = True
    COMMANDS = App.COMMANDS | {_nbtui_commands}

    BINDINGS = APP_BINDINGS

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
        self.editing_mode = "default"
        """The editor's keys: `default`, `vi` or `emacs` (set before running)."""

    def get_theme_variable_defaults(self) -> dict[str, str]:
        """The peer palette, `$peer-0` ..., and the state colours, `$nbtui-success` ...,
        made for the current theme's background (a theme switch makes them again)."""
        return theme_variables(self.current_theme)

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

    def on_cell_editor_mode_changed(self, event: CellEditor.ModeChanged) -> None:
        """Show the editor's mode (vi normal or insert) on the status line; an observer's
        status line says read-only instead."""
        if not self.console_screen.observe:
            self.console_screen.status.mode = event.label

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
        """Tune the process for its one app (`settle_after_startup`)."""
        from nbtui.app.process import settle_after_startup  # noqa: PLC0415

        settle_after_startup()

    def on_mount(self) -> None:
        """Kitty graphics go to the terminal through the driver, in order with frames."""
        set_sink(self._write_graphics)

    def _write_graphics(self, sequence: str) -> None:
        if self._driver is not None:
            self._driver.write(sequence)

    def _display(self, screen: Any, renderable: Any) -> None:
        super()._display(screen, renderable)  # then sixel pictures over it (widgets/sixel.py)
        draw_over(self, renderable)

    async def on_unmount(self) -> None:
        """Stop watching the kernel (the CLI closes the client)."""
        set_sink(None)
        await self.session.close()

    async def action_quit(self) -> None:
        """Leave nbtui."""
        # Quitting closes our sockets only; an attached kernel is never shut down here.
        self.session.closing = True
        self.exit()


class ObservingApp(NbtuiApp):
    """The app for `--observe`: an observer interrupts nothing, so the footer does not
    offer ctrl+c (the key stays, to say "read-only")."""

    BINDINGS = OBSERVER_BINDINGS


def _console_action(name: str) -> Callable[[NbtuiApp], Awaitable[None]]:
    async def action(app: NbtuiApp) -> None:
        """Do the console screen's action of the same name; skip when it skips."""
        if not await app.run_action(name, app.console_screen):
            raise SkipAction

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
    theme: str | None = None,
    keymap: dict[str, str] | None = None,
    editing_mode: str = "default",
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
        theme: A Textual theme's name (the config file's `theme`); None for the default.
        keymap: Binding id to keys (the config file's `[keys]`), replacing the defaults.
        editing_mode: The editor's keys: `default`, `vi` or `emacs`.
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
    app = (ObservingApp if observe else NbtuiApp)(session, console)
    if theme is not None:
        app.theme = theme
    if keymap:
        app.set_keymap(keymap)
    app.editing_mode = editing_mode
    return app
