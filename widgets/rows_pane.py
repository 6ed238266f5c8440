"""A pane drawn as rows of text, each written to the terminal only when what it says moved.

Textual writes every line of a refreshed widget, changed or not: a pane that refreshed
for each probe wrote all of its rows every 30 s while the kernel sat idle. Here a pane
builds its rows, and only the rows whose text differs from the row on screen are
refreshed, each as a one-line region; a sparkline that only grew by more of its last
level (a history still filling, a flat line) does not count as a difference
(`nbtui.widgets.spark.unstretched`).
"""

from __future__ import annotations

from rich.text import Text
from textual.geometry import Region
from textual.widget import Widget

from nbtui.widgets.spark import unstretched

__all__ = ["RowsPane"]

_Key = tuple[str, tuple[str, ...]]


def _key(row: Text) -> _Key:
    """What makes two rows look different: their text (sparklines unstretched) and styles."""
    return unstretched(row.plain), (str(row.style), *(str(span.style) for span in row.spans))


class RowsPane(Widget):
    """A widget whose `render` is the rows `build_rows` makes, kept as they are on screen.

    `render` returns the rows last shown, so whatever Textual repaints (a scroll, the
    overlay closing) shows the same as the terminal; they are made anew when the width
    or the styles change, and by `show_rows` when the figures do.
    """

    def __init__(
        self, *, name: str | None = None, id: str | None = None, classes: str | None = None
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._rows: list[Text] | None = None
        self._rows_width = -1

    def build_rows(self) -> list[Text]:
        """The rows for the pane's current figures, at its current width."""
        raise NotImplementedError

    def show_rows(self) -> None:
        """Bring the screen up to the current figures, refreshing only the rows that moved."""
        width = self.size.width
        rows = self.build_rows() if self.is_mounted else None
        shown = self._rows
        if rows is None or shown is None or width != self._rows_width or width <= 0:
            self._rows = rows
            self._rows_width = width
            self.refresh(layout=True)
            return
        pairs = enumerate(zip(shown, rows, strict=False))
        changed = [index for index, (old, new) in pairs if _key(old) != _key(new)]
        if len(rows) == len(shown) and not changed:
            return
        if len(rows) != len(shown) or any(row.cell_len > width for row in (*rows, *shown)):
            # A row more or less, or one that wraps: the rows no longer map to lines.
            self._rows = rows
            self.refresh(layout=True)
            return
        for index in changed:
            shown[index] = rows[index]
            self.refresh(Region(0, index, width, 1))

    def notify_style_update(self) -> None:
        """The styles moved (a state class, the theme): the rows are made again when drawn."""
        super().notify_style_update()
        self._rows = None

    def render(self) -> Text:
        """The rows on screen (made again first when the width or the styles changed)."""
        width = self.size.width
        if self._rows is None or width != self._rows_width:
            self._rows = self.build_rows()
            self._rows_width = width
        return Text("\n").join(self._rows)
