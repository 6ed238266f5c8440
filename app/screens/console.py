"""The console: the transcript, the editor and the panes, fed from one kernel session."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from rich.text import Text
from textual import events, on
from textual.actions import SkipAction
from textual.app import ComposeResult
from textual.await_complete import AwaitComplete
from textual.containers import Horizontal
from textual.css.query import NoMatches
from textual.message import Message
from textual.widgets import Input, Label, TextArea

from nbtui.app.kernel.cells import only_exit
from nbtui.app.kernel.errors import NbtuiError
from nbtui.app.present import SteadyFigures
from nbtui.app.screens.completion import Completion
from nbtui.app.screens.console_input import ConsoleInput
from nbtui.app.screens.frames import FramePump
from nbtui.app.screens.status_line import HeartbeatFigure, busy_text, summary
from nbtui.app.screens.watch import KernelWatch
from nbtui.widgets.completions import CompletionMenu
from nbtui.widgets.editor import CellEditor
from nbtui.widgets.footer import SteadyFooter
from nbtui.widgets.peers_pane import PeersPane
from nbtui.widgets.search_bar import SearchBar
from nbtui.widgets.side_panes import SidePanes
from nbtui.widgets.status import StatusBar
from nbtui.widgets.stdin_prompt import StdinPrompt
from nbtui.widgets.transcript import TranscriptView
from nbtui.widgets.variables_pane import VariablesPane

if TYPE_CHECKING:
    from collections.abc import Callable

    from textual.timer import Timer

    from nbtui.app.kernel.session import KernelSession

__all__ = ["ConsoleScreen"]


class ConsoleScreen(ConsoleInput):
    """A console on one Jupyter kernel, shared with whoever else is attached.

    Args:
        session: The kernel session it shows and sends cells through.
        observe: Read-only: never sends execute or stdin messages.
        show_others: Other clients' (inputs, outputs) shown at first.
        output_limit: Lines of one output shown before the rest is held back.
        line_limit: Characters of one line shown before it is cut.
        variables_interval: Seconds between variable readings while a cell runs, with
            the variables pane open; 0: only when a cell ends.
        notify_after: Seconds a cell must run to be announced when it ends (a terminal
            notification and a toast); 0: no notifications.
    """

    SILENT_HINT = 10.0
    """Seconds without output before suggesting another client's cell waits for input."""

    class Attached(Message):
        """The session is attached and the console shows it."""

    class AttachFailed(Message):
        """The kernel could not be reached: the app leaves with `error`."""

        def __init__(self, error: str) -> None:
            super().__init__()
            self.error = error

    def __init__(
        self,
        session: KernelSession,
        *,
        observe: bool = False,
        show_others: tuple[bool, bool] = (True, True),
        output_limit: int = 2000,
        line_limit: int = 10_000,
        variables_interval: float = 2.0,
        notify_after: float = 10.0,
    ) -> None:
        super().__init__()
        self._heartbeat = HeartbeatFigure()
        self._steady = SteadyFigures()
        self.variables_interval = variables_interval
        self.notify_after = notify_after
        self._watch: KernelWatch | None = None
        self.session = session
        self.observe = observe
        """Read-only: never sends execute or stdin messages (watching, teaching)."""
        self.output_limit = output_limit
        self.line_limit = line_limit
        self._others_mode = next(
            (index for index, mode in enumerate(self.OTHERS_MODES) if mode[:2] == show_others),
            0,
        )
        self._panes_wanted: bool | None = None
        """None: panes follow the terminal's width; else the user's F2 choice."""
        self._frames = FramePump(self, self._draw_frame)
        self._completion = Completion(self, session)
        self._busy_timer: Timer | None = None
        self._pane_idle = True
        self._prompt = ""
        self._hidden: AwaitComplete | None = None
        self._status_later = False

    def compose(self) -> ComposeResult:
        """The status line, the transcript beside its panes, the prompts and the footer."""
        yield StatusBar(id="status")
        with Horizontal(id="main"):
            yield TranscriptView(id="transcript")
            # The variables pane goes here, the input prompt and the search bar under
            # the completions: see `mount_hidden`.
            yield SidePanes(id="side")
        yield CompletionMenu(id="completions")
        with Horizontal(id="input-row"):
            yield Label("In [ ]:", id="prompt")
            yield CellEditor(id="editor")
        yield SteadyFooter()

    def mount_hidden(self) -> AwaitComplete:
        """Mount the widgets hidden at startup (the variables pane, the input prompt,
        the search bar), once; awaiting the result waits until they are mounted.

        They are mounted just after the first frame: Textual's styling of a widget is most
        of what its mounting costs, and the first frame shows none of them. Whatever
        shows one awaits this first."""
        if self._hidden is None:
            main = self.query_one("#main", Horizontal)
            if not main.is_attached or self.app.return_code is not None:
                # The app is leaving (a cell that exits at once): nothing to show them in.
                return AwaitComplete()
            pane = VariablesPane(interval=self.variables_interval, id="variables")
            rows = (StdinPrompt(id="stdin-row"), SearchBar(id="search-bar"))
            self._hidden = AwaitComplete(
                main.mount(pane, before="#side"),
                self.mount(*rows, before="#input-row"),
            )
        return self._hidden

    def _mount_hidden_soon(self) -> None:
        # Not awaited here: the refresh callbacks carry on meanwhile.
        self.mount_hidden()

    @property
    def hidden_mounted(self) -> bool:
        """Whether `mount_hidden`'s widgets are mounted (their parts composed)."""
        return self._hidden is not None and self._hidden.is_done

    @property
    def transcript(self) -> TranscriptView:
        """The transcript view."""
        return self.query_one(TranscriptView)

    @property
    def editor(self) -> CellEditor:
        """The cell editor."""
        return self.query_one(CellEditor)

    @property
    def status(self) -> StatusBar:
        """The status line."""
        return self.query_one(StatusBar)

    @property
    def kernel_watch(self) -> KernelWatch:
        """The variables pane's poller, the queue's marks and the notifications."""
        if self._watch is None:
            self._watch = KernelWatch(
                self,
                self.session,
                variables_interval=self.variables_interval,
                notify_after=self.notify_after,
            )
        return self._watch

    # -- start and stop ------------------------------------------------------------------

    async def on_mount(self) -> None:
        """Attach the session, then show it and start watching the kernel."""
        self.transcript.output_limit = self.output_limit
        self.transcript.line_limit = self.line_limit
        self.editor.focus()
        self._layout_panes()
        try:
            await self.session.attach()
        except NbtuiError as error:
            self.post_message(self.AttachFailed(str(error)))
            return
        session = self.session
        session.attached()
        if self._others_mode:
            self._apply_others_mode()
        if self.observe:
            self.editor.read_only = True
            self.status.mode = "observing · read-only"
        session.on_change = self._frames.schedule
        session.client.on_message = self._frames.schedule
        session.client.on_cell_end = self._frames.cell_ended
        self._draw_frame()
        # Startup: the editor's lexer and the hidden widgets are made once the first frame
        # is out.
        self.call_after_refresh(self.editor.prepare_lexer)
        self.call_after_refresh(self._mount_hidden_soon)
        self.post_message(self.Attached())
        self.run_worker(self._load_history(), group="history")
        session.watch()

    async def _load_history(self) -> None:
        entries = await self.session.load_history()
        session_cells = self.editor.cell_history
        self.editor.set_history(entries)
        self._update_prompt()
        for code in session_cells:
            self.editor.remember(code)

    # -- frames ----------------------------------------------------------------------------

    def _draw_frame(self) -> None:
        self._unless_leaving(self._apply_changes)

    def _tick(self) -> None:
        self._unless_leaving(self._update_status)
        self._unless_leaving(lambda: self.kernel_watch.tick(self.transcript))

    def _unless_leaving(self, update: Callable[[], object]) -> None:
        try:
            update()
        except NoMatches:
            # A frame or tick that fires while the app is closing finds no widgets left.
            if self.app.is_running and self.is_attached and not self.session.closing:
                raise

    def _apply_changes(self) -> None:
        self._frames.drawing()
        session = self.session
        changes = session.drain()
        if changes.close_input:
            self._close_input()
        for request in changes.input_requests:
            self._ask_input(request)
        if changes.ask_again is not None and self._input_request() is None:
            self._ask_input(changes.ask_again)
        model = session.model
        if changes.kernel_info:
            self._show_kernel()
        if len(self.transcript.peer_colours) != len(model.peers):
            self.transcript.peer_colours = {key: peer.colour for key, peer in model.peers.items()}
        side = self.query_one(SidePanes)
        side.show_peers(session)
        drawn = bool(changes.removed or changes.changed)
        if drawn:
            self.transcript.update_entries(model.entries, changes.removed, changes.changed)
        self.kernel_watch.frame(changes, self.transcript)
        if changes.liveness or changes.usage:
            self._update_summary()
        busy = self._busy_text()
        # The pane's busy word comes from the model, not the monitor: an idle that came
        # without liveness news must still clear it.
        flipped = (busy is None) != self._pane_idle
        if changes.liveness_news or changes.usage or flipped:
            self._pane_idle = busy is None
            side.show_health(session, busy, changes.liveness_news or flipped, changes.usage)
        if drawn and not self._status_later and session.state == self.status.state:
            # The status line is the screen's top row and the transcript's rows are under
            # it: redrawn in one pass, Textual's compositor draws the box around both, the
            # side panes with them, every frame of a burst. In a pass of its own, a row.
            # A new state word is shown with the frame that brings it.
            self._status_later = True
            self.transcript.after_drawn(self._status_after_frame)
        else:
            # Or not drawn since the last frame (another screen on top): not later than now.
            self._status_later = False
            self._update_status()
        self._update_prompt()
        self._frames.wake_for(self.session.deadlines)

    def _status_after_frame(self) -> None:
        if self._status_later:
            self._status_later = False
            self._unless_leaving(self._update_status)

    def _show_kernel(self) -> None:
        session = self.session
        self.transcript.language = session.language
        self.editor.highlight_language = session.language
        self.session.base_count = len(self.editor.cell_history)
        self.status.kernel = session.title
        self.status.source = session.source
        self.query_one(SidePanes).show_kernel(session)

    def _update_prompt(self) -> None:
        prompt = "observing:" if self.observe else f"In [{self.session.next_count()}]:"
        if prompt != self._prompt:
            # Every frame calls this; an unchanged prompt must cost nothing.
            self._prompt = prompt
            self.query_one("#prompt", Label).update(Text(prompt))

    def _update_status(self) -> None:
        session = self.session
        trouble = session.trouble
        # The detail first: whoever watches the state word sees the detail that goes with it.
        self.status.detail = self._busy_text() or "" if trouble is None else trouble
        self.status.state = session.state
        if session.state != "busy":
            if self._busy_timer is not None:
                self._busy_timer.stop()
                self._busy_timer = None
        elif self._busy_timer is None:
            # Ticks only while something runs: an idle nbtui draws nothing.
            self._busy_timer = self.set_interval(1.0, self._tick)

    def _busy_text(self) -> str | None:
        return busy_text(self.session.model, time.monotonic(), self.SILENT_HINT)

    def _update_summary(self) -> None:
        """The narrow terminal's one line of pane facts, in the status bar."""
        self.status.summary = summary(self.session, self._heartbeat, self._steady)

    @on(PeersPane.Changed)
    def _peers_changed(self) -> None:
        self._unless_leaving(self._update_summary)

    # -- running cells -------------------------------------------------------------------

    @on(CellEditor.RunRequested)
    def _run_requested(self, event: CellEditor.RunRequested) -> None:
        self._completion.hide()
        if self.observe:
            self.editor.decided()
            if only_exit(event.code, self.session.language):
                self.app.exit()
            else:
                self.notify("observing: read-only, cells are not sent", timeout=2)
            return
        self.run_worker(self._submit(event.code, event.force), group="submit")

    async def _submit(self, code: str, force: bool) -> None:
        # Whatever happens, the editor gets the keys typed since Enter back.
        try:
            verdict = await self.session.judge(code, force)
            if verdict == "exit":
                self.app.exit()
            elif verdict == "more":
                self.editor.insert_newline()
            elif verdict == "refused":
                self.transcript.follow = True
                self._frames.schedule()
            elif verdict == "run":
                self.run_cell(code)
        finally:
            self.editor.decided()

    def run_cell(self, code: str) -> str:
        """Send a cell to the kernel and show it at once."""
        msg_id = self.session.execute(code)
        # Running a cell asks to see it: back to the end, even from far back in scrollback,
        # and from a search's match (which would hold the view).
        if self.transcript.searching:
            self.query_one(SearchBar).display = False
            self.transcript.close_search(restore=False)
        self.transcript.follow = True
        self.editor.remember(code)
        self.editor.load_text("")
        self._frames.schedule()
        self.run_worker(self._cell_replied(msg_id), group="replies")
        return msg_id

    async def _cell_replied(self, msg_id: str) -> None:
        """One of our cells ended: close its input prompt if one is open; leave if the
        kernel asked us to (`exit(keep_kernel=True)`)."""
        leave = await self.session.await_reply(msg_id)
        self._unless_leaving(lambda: self._close_input(msg_id))
        if leave:
            self.app.exit()

    # -- completion ----------------------------------------------------------------------

    @on(CellEditor.CompletionRequested)
    def _completion_requested(self, event: CellEditor.CompletionRequested) -> None:
        self.run_worker(
            self._completion.complete(event.code, event.cursor_offset),
            group="complete",
            exclusive=True,
        )

    @on(CellEditor.MenuKey)
    def _menu_key(self, event: CellEditor.MenuKey) -> None:
        self._completion.menu_key(event.key)

    # -- actions ---------------------------------------------------------------------------

    async def action_interrupt(self) -> None:
        """Interrupt what runs (ctrl+c), and close the input() prompt it may wait at."""
        if self.observe:
            self.notify("observing: read-only, ctrl+c interrupts nothing", timeout=2)
            return
        if not await self.session.interrupt(self._input_request()):
            self.notify("nothing is running", timeout=1.5)
            return
        self._close_input()
        self.notify("interrupt sent", timeout=2)
        self._frames.wake_for(self.session.deadlines)

    @on(TextArea.Changed)
    @on(Input.Changed)
    def _typed(self) -> None:
        # Whoever types is looking at the screen: no notification this second.
        self.kernel_watch.typed()

    @on(events.Unmount)
    async def _stop_watching(self) -> None:
        # A handler of its own: ConsoleActions.on_unmount closes the record.
        await self.kernel_watch.stop()

    async def action_restart(self) -> None:
        """Restart the kernel, if nbtui started it (F9); not under a dialog (its own)."""
        if self.app.screen is not self:
            raise SkipAction
        if self.observe:
            self.notify("observing: read-only, F9 restarts nothing", timeout=2)
            return
        if self.session.own_kernel is None:
            self.notify(
                "this kernel was not started by nbtui: restarting it would wipe everyone's "
                "state, so only its owner can",
                severity="warning",
                timeout=5,
            )
            return
        from nbtui.app.screens.confirm import ConfirmScreen  # noqa: PLC0415 - startup

        self.app.push_screen(
            ConfirmScreen("Restart the kernel? All its state is lost."), self._restart_confirmed
        )

    async def _restart_confirmed(self, confirmed: bool | None) -> None:
        if confirmed:
            await self.session.restart()
