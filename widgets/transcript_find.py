"""The transcript's search, as the view does it: open, find, step from match to match,
close; the view stays on the current match while output streams in
(`transcript_search.py` finds and marks the matches)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.message import Message
from textual.scroll_view import ScrollView

from nbtui.app.kernel.model import Cell, Entry
from nbtui.widgets.transcript_parts import Part

if TYPE_CHECKING:
    from nbtui.app.kernel.search import Hit, Query
    from nbtui.widgets.transcript_search import SearchState

__all__ = ["SearchKeys"]


class SearchKeys(ScrollView):
    """The transcript view's base that searches it (ctrl+f or /, n, N, Escape)."""

    # Namespaced as the view's own, as they were when the view defined them.
    class SearchCounted(Message, namespace="transcript_view"):
        """The search's matches changed: `status` says `3 of 17`, none, or a bad regex."""

        def __init__(self, status: str) -> None:
            super().__init__()
            self.status = status

    class SearchLeft(Message, namespace="transcript_view"):
        """Escape in the transcript with a search open: close it, staying where it is."""

    # The view's, declared for the type checker (TranscriptView.__init__ sets them).
    _search: SearchState | None
    _search_status: str
    _entries: list[Entry]
    _parts: dict[int, list[Part]]
    _offsets: list[int]
    _index_of: dict[int, int]
    _height: int
    _layout_width: int
    follow: bool
    line_limit: int
    selected: Cell | None

    @property
    def _pinned(self) -> bool:
        """A match is shown: the view stays on it, whatever streams in."""
        return self._search is not None and self._search.current is not None

    @property
    def searching(self) -> bool:
        """Whether a search is open."""
        return self._search is not None

    def open_search(self) -> None:
        """Start searching from here: Escape (`close_search(restore=True)`) comes back."""
        if self._search is None:
            from nbtui.widgets.transcript_search import SearchState  # noqa: PLC0415 - startup

            self._search = SearchState((self.scroll_y, self.follow))

    def search_for(self, query: Query) -> None:
        """Find `query` and show the match nearest above the bottom of where the search
        opened (the newest output before what was on screen)."""
        state = self._search
        if state is None:
            return
        state.index.set_query(query)
        state.current = None
        self._search_again()
        if state.hits:
            origin_y, following = state.origin
            bottom = self._height if following else origin_y + self.scrollable_content_region.height
            # Matches are in row order: the last that starts above the bottom.
            low, high = 0, len(state.hits)
            while low < high:
                middle = (low + high) // 2
                if self._row_of(state.hits[middle]) < bottom:
                    low = middle + 1
                else:
                    high = middle
            state.current = max(0, low - 1)
            self._show_current()
        else:
            self._back_to_origin()
        self._post_search_status()
        self.refresh()

    def step_search(self, forward: bool) -> None:
        """Go to the next (or previous) match, round the ends."""
        state = self._search
        if state is None or not state.hits:
            return
        if state.current is None:
            state.current = 0 if forward else len(state.hits) - 1
        else:
            state.current = (state.current + (1 if forward else -1)) % len(state.hits)
        self._show_current()
        self._post_search_status()
        self.refresh()

    def close_search(self, restore: bool) -> None:
        """Close the search; with `restore`, back to where the reader was when it opened."""
        state = self._search
        if state is None:
            return
        self._search = None
        self._search_status = ""
        if restore:
            self._search = state  # _back_to_origin reads the origin from it
            state.current = None
            self._back_to_origin()
            self._search = None
        self.refresh()

    def action_step_search(self, forward: bool) -> None:
        """Next (n) or previous (N) match, while a search is open."""
        self.step_search(forward)

    def _back_to_origin(self) -> None:
        state = self._search
        if state is None:
            return
        origin_y, following = state.origin
        self.follow = following
        if following:
            self.scroll_end(animate=False, immediate=True, x_axis=False)
        else:
            self.scroll_to(y=origin_y, animate=False, immediate=True)

    def _search_again(self) -> None:
        """Search the parts as laid out now (new output, a new width, a new query)."""
        state = self._search
        if state is None:
            return
        sources = state.sources(
            self._entries, lambda entry: self._parts.get(id(entry), []), self._layout_width
        )
        state.update(sources)
        self._post_search_status()

    def _post_search_status(self) -> None:
        state = self._search
        status = state.status() if state is not None else ""
        if status != self._search_status:
            self._search_status = status
            self.post_message(self.SearchCounted(status))

    def _row_of(self, hit: Hit) -> int:
        """The first row of the transcript a match is on."""
        state = self._search
        assert state is not None
        entry, part_index = state.place_of(hit)
        width = self._layout_width
        row = self._offsets[self._index_of[id(entry)]]
        parts = self._parts.get(id(entry), [])
        row += sum(part.height(width) for part in parts[:part_index])
        return state.rows_of(hit, row, width, self.line_limit)[0][0]

    def _show_current(self) -> None:
        """Scroll the current match into view, a third of the way down when it was off
        screen; the view then stays there while output streams in."""
        state = self._search
        if state is None or state.current is None:
            return
        row = self._row_of(state.hits[state.current])
        height = self.scrollable_content_region.height or self.size.height
        self.follow = False
        top = round(self.scroll_y)
        if not top <= row < top + height:
            self.scroll_to(y=max(0, row - height // 3), animate=False, immediate=True, force=True)

    def action_leave(self) -> None:
        """Escape: close an open search where it is; else let go of the selected cell."""
        if self._search is not None:
            self.post_message(self.SearchLeft())
        elif self.selected is not None:
            self.selected = None
            self.refresh()
