"""Choosing a running kernel: the `nbtui --list` table, live, with Enter to attach.

The probing is `nbtui.app.kernel.discovery`'s; this only shows it. The poll reschedules
itself after each table update, so a slow probe slows the poll instead of piling up.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import replace
from importlib.resources import files
from pathlib import Path

from rich.text import Text
from textual import work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import DataTable, Footer, Static

from nbtui.app.kernel import discovery
from nbtui.app.kernel.discovery import KernelEntry
from nbtui.app.present_tables import HEADERS, row
from nbtui.widgets.palette import theme_variables

__all__ = ["KernelPicker", "KernelPickerApp"]

_STATE_CLASSES = {
    "alive": "picker--alive",
    "stale": "picker--stale",
    "invalid": "picker--stale",
    "no reply": "picker--no-reply",
    "no answer": "picker--no-reply",
    "stopped": "picker--stopped",
}


class KernelPicker(Screen[Path | None]):
    """A live table of the kernels behind the connection files; dismisses with the chosen path.

    Args:
        dirs: Where to look for `kernel-*.json` files, searched again on each refresh.
        only: When given, exactly these files instead (several matches of a partial name).
        interval: Seconds between the end of one probe and the start of the next.
    """

    DEFAULT_CSS = """
    KernelPicker {
        layout: vertical;
    }
    KernelPicker #picker-title {
        height: 1;
        padding: 0 1;
        text-style: bold;
    }
    KernelPicker DataTable {
        height: 1fr;
    }
    KernelPicker #picker-status {
        height: 1;
        padding: 0 1;
        color: $text-muted;
    }
    """

    BINDINGS = [
        Binding("escape", "cancel", "Cancel"),
        Binding("q", "cancel", "Quit", show=False),
        Binding("r", "refresh", "Refresh"),
    ]

    COMPONENT_CLASSES = {
        "picker--alive",
        "picker--stale",
        "picker--no-reply",
        "picker--stopped",
        "picker--busy",
    }

    def __init__(
        self, dirs: Sequence[Path], only: Sequence[Path] | None = None, interval: float = 2.0
    ) -> None:
        super().__init__()
        self.dirs = list(dirs)
        self.only = list(only) if only is not None else None
        self.interval = interval
        self.entries: dict[str, KernelEntry] = {}
        """The latest probe of each file, by the table's row key (the path)."""
        self.probes = 0
        """How many probes have finished: tests wait on it."""
        self._order: list[str] = []
        self._next: Timer | None = None
        self._activity_due = True
        """Ask shell whether each kernel is busy on the next probe. Only the first probe
        and a refresh (r) do: every other client sees that request as a busy/idle blip,
        and a picker left open must not make one every two seconds."""
        self._activity: dict[str, str | None] = {}

    def compose(self) -> ComposeResult:
        """The title, the kernels' table, a status line and the footer."""
        where = (
            "the given connection files"
            if self.only is not None
            else "connection files in " + ", ".join(map(str, self.dirs))
        )
        yield Static(f"Pick a kernel: {where}", id="picker-title")
        table: DataTable[str | Text] = DataTable(cursor_type="row", zebra_stripes=True)
        yield table
        yield Static("probing…", id="picker-status")
        yield Footer()

    def on_mount(self) -> None:
        """Start probing."""
        table = self.query_one(DataTable)
        for label in HEADERS:
            table.add_column(label, key=label)
        table.focus()
        self.probe()

    def _paths(self) -> list[Path]:
        if self.only is not None:
            return [path for path in self.only if path.exists()]
        return discovery.connection_files(self.dirs)

    def probe(self) -> None:
        """Probe now; the probe schedules the next one when it is done."""
        if self._next is not None:
            self._next.stop()
            self._next = None
        self._probe()

    @work(exclusive=True, group="probe")
    async def _probe(self) -> None:
        activity, self._activity_due = self._activity_due, False
        entries = await discovery.probe_all(self._paths(), activity=activity)
        if activity:
            self._activity = {str(entry.path): entry.execution_state for entry in entries}
        else:
            entries = [
                replace(entry, execution_state=self._activity.get(str(entry.path)))
                if entry.alive
                else entry
                for entry in entries
            ]
        self._show(entries)
        self.probes += 1
        self._next = self.set_timer(self.interval, self.probe)

    def _cells(self, entry: KernelEntry, now: float) -> list[str | Text]:
        cells: list[str | Text] = list(row(entry, now))
        state_class = _STATE_CLASSES.get(entry.state)
        if state_class is not None:
            cells[2] = Text(
                str(cells[2]), style=self.get_component_rich_style(state_class, partial=True)
            )
        if entry.execution_state == "busy":
            cells[3] = Text(
                "busy", style=self.get_component_rich_style("picker--busy", partial=True)
            )
        return cells

    def _show(self, entries: Sequence[KernelEntry]) -> None:
        table: DataTable[str | Text] = self.query_one(DataTable)
        now = time.time()
        order = [str(entry.path) for entry in entries]
        self.entries = {str(entry.path): entry for entry in entries}
        if order != self._order:
            # Files came or went: rebuild, keeping the cursor on the same kernel.
            selected = self._selected_key()
            table.clear()
            for key, entry in zip(order, entries, strict=True):
                table.add_row(*self._cells(entry, now), key=key)
            first = not self._order
            self._order = order
            if selected in order and not first:
                table.move_cursor(row=order.index(selected))
            else:
                # Start on the newest kernel that can be attached to.
                attachable = [index for index, entry in enumerate(entries) if entry.alive]
                table.move_cursor(row=attachable[0] if attachable else 0)
        else:
            for key, entry in zip(order, entries, strict=True):
                for label, cell in zip(HEADERS, self._cells(entry, now), strict=True):
                    if table.get_cell(key, label) != cell:
                        table.update_cell(key, label, cell)
        alive = sum(1 for entry in entries if entry.alive)
        stale = sum(1 for entry in entries if entry.stale)
        status = self.query_one("#picker-status", Static)
        if not entries:
            status.update("no kernel connection files yet: waiting for one to appear")
        else:
            status.update(
                f"{alive} alive, {stale} stale · Enter attaches · r refreshes · Esc cancels"
            )

    def _selected_key(self) -> str | None:
        table: DataTable[str | Text] = self.query_one(DataTable)
        if not self._order or table.cursor_row < 0 or table.cursor_row >= len(self._order):
            return None
        return self._order[table.cursor_row]

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        """A row chosen: attach to its kernel."""
        event.stop()
        key = event.row_key.value
        entry = self.entries.get(key) if key is not None else None
        if entry is None:
            return
        if not entry.alive:
            self.notify(
                f"{entry.path.name} is {entry.state}: no kernel to attach to", severity="warning"
            )
            return
        self.dismiss(entry.path)

    def action_cancel(self) -> None:
        """Leave without a choice."""
        self.dismiss(None)

    def action_refresh(self) -> None:
        """Probe again now."""
        self._activity_due = True
        self.probe()


class KernelPickerApp(App[Path | None]):
    """The picker on its own, for `nbtui --pick`: its return value is the chosen file."""

    TITLE = "nbtui: pick a kernel"
    CSS_PATH = str(files("nbtui.styles") / "nbtui.tcss")

    def __init__(
        self, dirs: Sequence[Path], only: Sequence[Path] | None = None, interval: float = 2.0
    ) -> None:
        super().__init__()
        self._picker = KernelPicker(dirs, only, interval)

    def get_theme_variable_defaults(self) -> dict[str, str]:
        """The peer palette's variables: nbtui.tcss, which this app shares, uses them."""
        return theme_variables(self.current_theme)

    @property
    def picker(self) -> KernelPicker:
        """The picker screen."""
        return self._picker

    def on_mount(self) -> None:
        """Start probing."""
        self.push_screen(self._picker, callback=self.exit)
