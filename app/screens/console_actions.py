"""The console's keys that change only what is shown: the screen's views, not the kernel."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from textual import events, on
from textual.actions import SkipAction
from textual.screen import Screen
from textual.widget import Widget

from nbtui.app.kernel.model import StreamOutput
from nbtui.widgets.connection_pane import ConnectionPane
from nbtui.widgets.side_panes import SidePanes
from nbtui.widgets.variables_pane import VariablesPane

if TYPE_CHECKING:
    from textual.await_complete import AwaitComplete

    from nbtui.app.kernel.session import KernelSession
    from nbtui.app.screens.exporting import SessionRecorder
    from nbtui.app.screens.frames import FramePump
    from nbtui.app.screens.watch import KernelWatch
    from nbtui.widgets.editor import CellEditor
    from nbtui.widgets.transcript import TranscriptView

__all__ = ["ConsoleActions"]


class ConsoleActions(Screen[None]):
    """The console screen's base: its keys that change only what is shown (F2, F3, F4,
    F5, F6, F7, F8, F10 and the page keys) and where the panes stand.
    `ConsoleScreen` composes the widgets they act on."""

    OTHERS_MODES = (
        (True, True, "showing other clients' inputs and outputs"),
        (True, False, "showing other clients' inputs only"),
        (False, False, "hiding other clients' work"),
    )
    WIDE = 140
    """From this many columns the panes stand beside the transcript; below, an overlay."""
    RECORD_INTERVAL = 1.0
    """Seconds between checks for finished cells to record (the writer coalesces too)."""
    record_path: Path | None = None
    """`--record`: the notebook kept up to date as cells finish."""
    recorder: SessionRecorder | None = None
    # The console's, declared for the type checker.
    session: KernelSession
    _frames: FramePump
    _others_mode: int
    _panes_wanted: bool | None

    @property
    def transcript(self) -> TranscriptView:
        """The transcript view."""
        raise NotImplementedError

    @property
    def editor(self) -> CellEditor:
        """The cell editor."""
        raise NotImplementedError

    def mount_hidden(self) -> AwaitComplete:
        """Mount the widgets hidden at startup; awaiting the result waits for them."""
        raise NotImplementedError

    @property
    def hidden_mounted(self) -> bool:
        """Whether `mount_hidden`'s widgets are mounted."""
        raise NotImplementedError

    @property
    def kernel_watch(self) -> KernelWatch:
        """The variables pane's poller, the queue's marks and the notifications."""
        raise NotImplementedError

    def _busy_text(self) -> str | None:
        raise NotImplementedError

    def action_cycle_others(self) -> None:
        """Show other clients' work, their inputs only, or nothing of it (F4)."""
        self._others_mode = (self._others_mode + 1) % len(self.OTHERS_MODES)
        self._apply_others_mode()
        self.notify(self.OTHERS_MODES[self._others_mode][2], timeout=2)

    def _apply_others_mode(self) -> None:
        inputs, outputs, _ = self.OTHERS_MODES[self._others_mode]
        self.transcript.set_peer_visibility(inputs, outputs)

    def action_open_output(self) -> None:
        """Open the output held back in the pager (F10)."""
        output = self.transcript.output_to_open()
        if output is None:
            self.notify("no output was held back", timeout=2)
            return
        if isinstance(output, StreamOutput):
            title, text = output.name, output.text
        else:
            title = f"Out[{output.execution_count}]" if output.execution_count else "output"
            text = output.source
        from nbtui.app.screens.pager import PagerScreen  # noqa: PLC0415 - startup: on F10 only

        self.app.push_screen(PagerScreen(title, text))

    def action_copy_join(self) -> None:
        """Copy the command others run to join (F8)."""
        self.query_one(ConnectionPane).action_copy_join()

    @on(ConnectionPane.JoinCopied)
    def _join_copied(self, event: ConnectionPane.JoinCopied) -> None:
        self.notify(f"copied: {event.command}", timeout=3)

    def action_toggle_tracebacks(self) -> None:
        """Show tracebacks whole or folded (F7)."""
        self.transcript.toggle_tracebacks()

    def action_toggle_catchup(self) -> None:
        """Show or hide the inputs from before we joined (F5)."""
        if self.session.model.toggle_catchup():
            self._frames.schedule()
        else:
            self.notify("nothing ran here before you joined", timeout=2)

    def action_page_up(self) -> None:
        """Scroll the transcript (or the overlaid panes) up a page."""
        self._paged().scroll_page_up(animate=False)

    def action_page_down(self) -> None:
        """Scroll the transcript (or the overlaid panes) down a page."""
        self._paged().scroll_page_down(animate=False)

    def _paged(self) -> Widget:
        """What PageUp and PageDown scroll: the side panes while they have the focus (the
        narrow overlay), else the transcript, wherever the focus is."""
        side = self.query_one(SidePanes)
        return side if side.has_focus_within else self.transcript

    def action_toggle_focus(self) -> None:
        """Move between the editor and the transcript (F6); not under a dialog."""
        if self.app.screen is not self:
            raise SkipAction
        # At once, not with `focus()`'s deferred call: keys typed with F6 wait behind this
        # action (a priority binding) and must find the new focus.
        self.set_focus(self.transcript if self.editor.has_focus else self.editor)

    # -- panes ------------------------------------------------------------------------------

    def on_resize(self, event: events.Resize) -> None:
        # Lay out the event's size: what `self.size` holds may not be the new one yet.
        """Lay the panes out for the new width."""
        self._layout_panes(event.size.width)

    def _layout_panes(self, width: int | None = None) -> None:
        wide = (self.size.width if width is None else width) >= self.WIDE
        shown = wide if self._panes_wanted is None else self._panes_wanted
        side = self.query_one(SidePanes)
        side.place(shown, overlay=shown and not wide, fallback=self.editor)
        side.show_health(self.session, self._busy_text())
        if self.kernel_watch.shown:
            self.kernel_watch.place(True, wide, self.editor)

    def action_close_variables(self) -> None:
        """Escape in the variables pane: close it when it covers the transcript, else
        give the keys back to the editor."""
        if self.size.width >= self.WIDE:
            self.editor.focus()
        else:
            self.kernel_watch.place(False, False, self.editor)

    async def action_toggle_variables(self) -> None:
        """Show or hide the variables pane (F3): read only while it shows."""
        await self.mount_hidden()
        self.kernel_watch.toggle(self.size.width >= self.WIDE, self.editor)

    @on(VariablesPane.Selected)
    def _variable_selected(self, event: VariablesPane.Selected) -> None:
        self.kernel_watch.show_value(event.row)

    def action_toggle_panes(self) -> None:
        """Show or hide the side panes (F2)."""
        self._panes_wanted = not self.query_one(SidePanes).shown
        self._layout_panes()

    # -- export and record -----------------------------------------------------------------

    def action_export(self) -> None:
        """Export the session to a notebook, or to Markdown for a .md path (ctrl+s)."""
        self._ask_export(".ipynb", "notebook")

    def action_export_markdown(self) -> None:
        """Export the session to Markdown, to paste into an issue or a chat."""
        self._ask_export(".md", "Markdown")

    def _ask_export(self, suffix: str, what: str) -> None:
        if self.app.screen is not self:
            return  # a prompt or the pager is open: one thing at a time

        async def chosen(typed: str | None) -> None:
            if typed:
                await self._export(typed, suffix)

        # Startup: the export modules load at the first export.
        from nbtui.app.screens.export_prompt import ExportPrompt  # noqa: PLC0415
        from nbtui.app.screens.exporting import default_export_path  # noqa: PLC0415

        self.app.push_screen(ExportPrompt(default_export_path(suffix), what), chosen)

    async def _export(self, typed: str, suffix: str) -> None:
        from nbtui.app.screens.exporting import export_session  # noqa: PLC0415 - startup

        try:
            path = await export_session(self.session, typed, suffix)
        except Exception as error:  # noqa: BLE001 - said, never a crash (OSError, invalid)
            reason = getattr(error, "strerror", None) or str(error).splitlines()[0]
            self.notify(f"could not export: {reason}", severity="error", timeout=8)
            return
        self.notify(f"exported to {path}", timeout=5)

    def on_console_screen_attached(self) -> None:
        """Attached: start recording, when asked to (`--record`)."""
        if self.record_path is None or self.recorder is not None:
            return
        from nbtui.app.screens.exporting import SessionRecorder  # noqa: PLC0415 - startup

        recorder = SessionRecorder(self.session, self.record_path)
        try:
            recorder.start()
        except OSError as error:
            self.session.model.add_notice(
                f"cannot record to {self.record_path}: {error.strerror or error}", "error"
            )
            self._frames.schedule()
            return
        self.recorder = recorder
        self.query_one(ConnectionPane).record_path = str(recorder.path)
        self.session.model.add_notice(f"recording the session to {recorder.path}")
        self._frames.schedule()
        self.set_interval(self.RECORD_INTERVAL, self._record)

    def _record(self) -> None:
        if self.recorder is not None:
            self.recorder.tick()

    def on_unmount(self) -> None:
        """Leaving: the record gets its last version."""
        if self.recorder is not None:
            self.recorder.close()
            self.recorder = None
