"""The console's search and cell keys: the search bar and the transcript's search kept
in step, and a transcript cell's code put in the editor."""

from __future__ import annotations

from collections.abc import Iterable

from textual import on
from textual.actions import SkipAction
from textual.binding import Binding
from textual.widget import Widget

from nbtui.app.screens.console_actions import ConsoleActions
from nbtui.widgets.search_bar import SearchBar
from nbtui.widgets.transcript import TranscriptView

__all__ = ["ConsoleSearch"]


def _searches(bindings: Iterable[Binding]) -> bool:
    return any(binding.action == "search" for binding in bindings)


class ConsoleSearch(ConsoleActions):
    """The console screen's base that searches the transcript (ctrl+f, `/`) and takes a
    cell's code from it (`e`). `ConsoleScreen` composes the widgets they act on."""

    # The console's, declared for the type checker.
    observe: bool
    _search_return: Widget | None = None
    """What had the focus when the search opened: Escape gives it back."""

    async def action_search(self) -> None:
        """Find in the transcript (ctrl+f, `/` in the transcript); again from the bar:
        back to the query. Skipped under a dialog, and in an editor whose editing mode
        has the key (emacs: ctrl+f is a character right)."""
        app = self.app
        if app.screen is not self:
            raise SkipAction
        if self.focused is self.editor:
            bindings = app._bindings.copy()
            if app._keymap:
                bindings.apply_keymap(app._keymap)
            keys = bindings.key_to_bindings.items()
            if any(self.editor.claims(key) for key, found in keys if _searches(found)):
                raise SkipAction
        if not self.hidden_mounted:
            # Just after startup: the bar's mounting needs the app's messages, which this
            # action holds up when it runs as a priority binding. Open it after them.
            app.call_later(self._search_once_mounted)
            return
        self._open_search()

    async def _search_once_mounted(self) -> None:
        await self.mount_hidden()
        self._open_search()

    def _open_search(self) -> None:
        bar = self.query_one(SearchBar)
        transcript = self.transcript
        if not transcript.searching:
            focused = self.focused
            self._search_return = focused if focused is not None else self.editor
            transcript.open_search()
            if bar.search_query.text:
                transcript.search_for(bar.search_query)
        bar.open()

    def close_search(self, restore: bool) -> None:
        """Close the search bar: back to where the search opened (`restore`, Escape in
        the bar), or staying at the match (Escape in the transcript)."""
        if not self.hidden_mounted:
            self.transcript.close_search(restore)
            return
        bar = self.query_one(SearchBar)
        had_focus = bar.has_focus_within
        bar.display = False
        self.transcript.close_search(restore)
        back = self._search_return
        if not restore:
            self.transcript.focus()
        elif had_focus:
            (back if back is not None and back.is_attached else self.editor).focus()

    @on(SearchBar.Changed)
    def _search_changed(self, event: SearchBar.Changed) -> None:
        self.transcript.search_for(event.query)

    @on(SearchBar.Stepped)
    def _search_stepped(self, event: SearchBar.Stepped) -> None:
        self.transcript.step_search(event.forward)

    @on(SearchBar.Closed)
    def _search_closed(self, event: SearchBar.Closed) -> None:
        self.close_search(restore=event.restore)

    @on(SearchBar.Stayed)
    def _search_stayed(self) -> None:
        self.transcript.focus()

    @on(TranscriptView.SearchLeft)
    def _search_left(self) -> None:
        self.close_search(restore=False)

    @on(TranscriptView.SearchCounted)
    def _search_counted(self, event: TranscriptView.SearchCounted) -> None:
        self.query_one(SearchBar).show_status(event.status)

    @on(TranscriptView.EditRequested)
    def _edit_requested(self, event: TranscriptView.EditRequested) -> None:
        if self.observe:
            self.notify("observing: read-only, nothing can be run from here", timeout=2)
            return
        editor = self.editor
        # An edit, not a load: ctrl+z brings back what the editor held.
        editor.replace(event.code, editor.document.start, editor.document.end)
        editor.move_cursor(editor.document.end)
        editor.focus()
