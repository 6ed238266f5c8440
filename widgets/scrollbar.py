"""The transcript's vertical scrollbar, drawn again only when it would look different.

While output streams in, every frame moves the end of the transcript, and Textual's
scrollbar is drawn anew through Rich on each screen update: 3-5 ms of a 10-13 ms update at
200x50, a third of each. Its thumb is drawn in eighths of a cell, and in a long transcript
it seldom moves by one: the rows drawn last time are kept and given again until it does.
"""

from __future__ import annotations

from math import ceil
from typing import Any

from textual.geometry import Region
from textual.scrollbar import ScrollBar, ScrollBarRender
from textual.strip import Strip

__all__ = ["KeptScrollBar"]


class KeptScrollBar(ScrollBar):
    """A vertical `ScrollBar` that keeps its drawn rows while nothing it shows changes."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._kept_key: tuple[object, ...] | None = None
        self._kept: list[Strip] = []
        self.drawn = 0
        """How many times the bar was drawn rather than given from what was kept."""

    def render_lines(self, crop: Region) -> list[Strip]:
        """The bar's rows in `crop`: those drawn last time if they would be the same."""
        key = self._looks(crop)
        if key is not None and key == self._kept_key:
            return self._kept
        lines = super().render_lines(crop)
        self.drawn += 1
        self._kept_key, self._kept = key, lines
        return lines

    def _looks(self, crop: Region) -> tuple[object, ...] | None:
        """Everything the drawn rows depend on: the thumb as `ScrollBarRender.render_bar`
        places it (in eighths of a cell), the colours, the size, the filters; None for
        a bar this class does not know how to compare (it is always drawn)."""
        bar = self.render()
        if not isinstance(bar, ScrollBarRender) or not bar.vertical:
            return None
        size = self.size.height
        virtual, window, position = bar.virtual_size, bar.window_size, bar.position
        thumb: tuple[int, int] | None = None
        if window and size and virtual and size != virtual:
            # As render_bar works it out (textual 8.2.8).
            eighths = len(ScrollBarRender.VERTICAL_BARS)
            thumb_size = max(1, window / (virtual / size))
            start = int((size - thumb_size) * (position / (virtual - window)) * eighths)
            thumb = (start, start + ceil(thumb_size * eighths))
        return (
            crop,
            self.size,
            thumb,
            bar.thickness,
            bar.style,
            self.grabbed,
            tuple(map(id, self.get_line_filters())),
            id(self.app.ansi_theme),
        )
