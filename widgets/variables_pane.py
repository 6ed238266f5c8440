"""The variables pane: the kernel's namespace as a table, live while a cell runs.

Fed `VariablesSnapshot`s by the app (from `VariablesPoller.on_update`); it never talks to
the kernel itself. Choosing a row posts `VariablesPane.Selected` with the full row: the
app asks `VariablesProbe.rich(name)` for the bundle and shows it in the pager.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.css.query import NoMatches
from textual.message import Message
from textual.widgets import DataTable, Input, Static

if TYPE_CHECKING:
    from nbtui.app.kernel.variables import VariableRow, VariablesSnapshot


__all__ = ["VariablesPane", "pane_title"]

_VALUE_WIDTH = 30
"""Characters of a value shown in the table; the whole value comes with `Selected`."""

_COLUMNS = ("name", "type", "value", "size")


def pane_title(snapshot: VariablesSnapshot | None, interval: float) -> str:
    """ "variables · live, 2 s" while readings come during a run, else "variables"."""
    if snapshot is not None and snapshot.live and snapshot.state == "ok" and interval > 0:
        return f"variables · live, {interval:g} s"
    return "variables"


def _crop(text: str, width: int = _VALUE_WIDTH) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _cells(row: VariableRow) -> tuple[Text, Text, Text, Text]:
    # Text, not str: DataTable reads a str as markup, and "[red]" is a fine Python value.
    return (
        Text(row.name),
        Text(row.type),
        Text(_crop(row.value)),
        Text("" if row.size is None else str(row.size), justify="right"),
    )


class VariablesPane(Vertical):
    """A title, a filter input and a table of name, type, value and size.

    Args:
        interval: The poller's pace while a cell runs, for the title.
        show_hidden: Show modules, functions, classes and `_` names too.
    """

    DEFAULT_CSS = """
    VariablesPane { height: 1fr; }
    VariablesPane > #variables-filter { height: 1; border: none; padding: 0 1; }
    VariablesPane > DataTable { height: 1fr; }
    VariablesPane > #variables-message { display: none; }
    VariablesPane.-unsupported > #variables-message { display: block; }
    VariablesPane.-unsupported > DataTable { display: none; }
    VariablesPane.-unsupported > #variables-filter { display: none; }
    """

    BINDINGS = [Binding("escape", "screen.close_variables", "Close", show=False)]

    class Selected(Message):
        """A row was chosen (enter or click): show it in full."""

        def __init__(self, row: VariableRow) -> None:
            super().__init__()
            self.row = row
            """The whole row, its value uncropped."""

    def __init__(
        self,
        *,
        interval: float = 2.0,
        show_hidden: bool = False,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.interval = interval
        self.show_hidden = show_hidden
        self.snapshot: VariablesSnapshot | None = None
        """The latest snapshot shown."""
        self.rows: list[VariableRow] = []
        """The rows on screen, in order, after the filter."""
        self._last_rows: tuple[VariableRow, ...] = ()

    def compose(self) -> ComposeResult:
        """The title, the filter, the table and the one-line message."""
        yield Static("variables", id="variables-title", classes="pane-title")
        yield Input(
            placeholder="filter by name or type", id="variables-filter", select_on_focus=False
        )
        table: DataTable[Text] = DataTable(
            id="variables-table", cursor_type="row", zebra_stripes=False
        )
        yield table
        yield Static("", id="variables-message", classes="variables--message")

    def on_mount(self) -> None:
        """Add the table's columns and show what is known."""
        try:
            table = self.table
        except NoMatches:
            # Mounted just after the first frame: a ctrl+q at that moment removes the
            # children first, and the app is leaving (seen in the tmux tests).
            return
        for column in _COLUMNS:
            table.add_column(column, key=column)
        self._show()

    @property
    def table(self) -> DataTable[Text]:
        """The table of variables."""
        return self.query_one("#variables-table", DataTable)

    @property
    def filter_text(self) -> str:
        """What the filter input holds."""
        return self.query_one("#variables-filter", Input).value

    @property
    def message(self) -> str:
        """The one line shown instead of the table ("" when the table shows)."""
        return str(self.query_one("#variables-message", Static).content)

    @property
    def title(self) -> str:
        """The pane's title as shown."""
        return str(self.query_one("#variables-title", Static).content)

    def update(self, snapshot: VariablesSnapshot, interval: float | None = None) -> None:
        """Show a reading; `interval` updates the pace named in the title."""
        if interval is not None:
            self.interval = interval
        self.snapshot = snapshot
        if snapshot.state == "ok":
            self._last_rows = snapshot.rows
        if self.is_mounted:
            self._show()

    def set_show_hidden(self, show: bool) -> None:
        """Show or hide modules, functions, classes and `_` names."""
        self.show_hidden = show
        if self.is_mounted:
            self._show()

    @on(Input.Changed, "#variables-filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        event.stop()
        self._show()

    def on_key(self, event: events.Key) -> None:
        """Typing in the table filters it (the filter takes the keys); Down or Enter in
        the filter goes back to the table."""
        field = self.query_one("#variables-filter", Input)
        if self.table.has_focus and event.is_printable and event.character:
            event.stop()
            field.focus()
            field.insert_text_at_cursor(event.character)
        elif field.has_focus and event.key in ("down", "enter") and self.table.row_count:
            event.stop()
            self.table.focus()

    @on(DataTable.RowSelected, "#variables-table")
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        index = event.cursor_row
        if 0 <= index < len(self.rows):
            self.post_message(self.Selected(self.rows[index]))

    def _show(self) -> None:
        snapshot = self.snapshot
        try:
            title = self.query_one("#variables-title", Static)
            message = self.query_one("#variables-message", Static)
        except NoMatches:
            # A reading that comes while the app leaves (its children are removed
            # first): nothing to show it in. Seen once making the screenshots.
            return
        title.update(pane_title(snapshot, self.interval))
        if snapshot is not None and snapshot.state == "unsupported":
            message.update(Text(snapshot.message))
            self.add_class("-unsupported")
            return
        if snapshot is not None and snapshot.state == "no answer" and not self._last_rows:
            # Nothing to show yet: the reason stands in for the table until an answer.
            message.update(Text(snapshot.message))
            self.add_class("-unsupported")
            return
        message.update("")
        self.remove_class("-unsupported")
        self.set_class(snapshot is not None and snapshot.state == "no answer", "-stale")
        self._fill(self._filtered())

    def _filtered(self) -> list[VariableRow]:
        if not self._last_rows:
            return []  # startup: the filter's module loads with the first reading
        from nbtui.app.kernel.variables import filter_rows  # noqa: PLC0415

        return filter_rows(self._last_rows, self.filter_text, show_hidden=self.show_hidden)

    def _fill(self, rows: list[VariableRow]) -> None:
        table = self.table
        if [row.name for row in rows] == [row.name for row in self.rows]:
            # Same variables in the same order (a loop's counter moving): change the cells
            # that changed, and the cursor and scroll stay where the user left them.
            for old, new in zip(self.rows, rows, strict=True):
                if old != new:
                    for column, cell in zip(_COLUMNS, _cells(new), strict=True):
                        table.update_cell(new.name, column, cell)
            self.rows = rows
            return
        chosen = self.rows[table.cursor_row].name if 0 <= table.cursor_row < len(self.rows) else ""
        with self.app.batch_update():
            table.clear()
            for row in rows:
                table.add_row(*_cells(row), key=row.name)
        self.rows = rows
        names = [row.name for row in rows]
        if chosen in names:
            table.move_cursor(row=names.index(chosen))

    def hidden_count(self) -> int:
        """How many variables the default hiding leaves out of the latest reading."""
        from nbtui.app.kernel.variables import is_hidden  # noqa: PLC0415 - startup

        return sum(1 for row in self._last_rows if is_hidden(row))
